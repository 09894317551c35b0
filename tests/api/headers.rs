//! Security headers on every page, error pages included.

use crate::helpers::{TestApp, TestDatabase};
use crate::on_both_backends;

on_both_backends!(every_page_carries_the_security_headers, unknown_paths_get_a_404_page);

const CSP: &str = "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn assert_security_headers(path: &str, response: &crate::helpers::Response) {
    assert_eq!(response.header("content-security-policy"), Some(CSP), "{path}");
    assert_eq!(response.header("x-frame-options"), Some("DENY"), "{path}");
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"), "{path}");
    assert_eq!(response.header("referrer-policy"), Some("no-referrer"), "{path}");
}

async fn every_page_carries_the_security_headers(mut app: TestApp) {
    for path in ["/login", "/account", "/admin", "/healthz", "/does-not-exist"] {
        let response = app.get(path).await;
        assert_security_headers(path, &response);
    }
    app.login_as_admin().await;
    for path in ["/", "/account", "/admin", "/orgs/1", "/orgs/424242", "/nope"] {
        let response = app.get(path).await;
        assert_security_headers(path, &response);
        assert_eq!(response.header("cache-control"), Some("no-store"), "{path}");
        assert!(response.header("strict-transport-security").is_none(), "no HSTS over plain http");
    }
    let css = app.get("/static/style.css").await;
    css.assert_status(200);
    assert_security_headers("/static/style.css", &css);
    assert!(css.header("cache-control").unwrap().starts_with("public"));
    assert_eq!(app.get("/favicon.ico").await.header("content-type"), Some("image/svg+xml"));
}

async fn unknown_paths_get_a_404_page(mut app: TestApp) {
    let response = app.get("/no/such/page").await;
    response.assert_status(404);
    assert!(response.body.contains("Page not found"));
    app.get("/static/nothing.css").await.assert_status(404);
}

#[actix_web::test]
async fn https_base_url_adds_hsts_and_secure_cookies() {
    let mut app = TestApp::start(TestDatabase::sqlite(), &["--base-url", "https://portal.example.com"]);
    let response = app.get("/login").await;
    assert_eq!(response.header("strict-transport-security"), Some("max-age=31536000; includeSubDomains"));
    let cookie = response.header("set-cookie").unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(cookie.contains(attribute), "{attribute} missing from {cookie}");
    }
}

#[actix_web::test]
async fn unexpected_failures_show_a_plain_500_page_without_the_cause() {
    use diesel::connection::SimpleConnection;
    let mut app = TestApp::sqlite().await;
    app.password_only(crate::helpers::ADMIN_EMAIL);
    app.get("/login").await;
    // Break the database under the running app: signing in writes an audit event.
    app.conn().batch_execute("DROP TABLE audit_events").unwrap();
    let response = app
        .post("/login", &[("email", crate::helpers::ADMIN_EMAIL), ("password", crate::helpers::ADMIN_PASSWORD)])
        .await;
    response.assert_status(500);
    assert!(response.body.contains("Something went wrong"));
    for secret in ["audit_events", "no such table", "diesel", "database"] {
        assert!(!response.body.contains(secret), "the page leaks {secret:?}");
    }
    assert_eq!(response.header("x-frame-options"), Some("DENY"));
    app.get("/account").await.assert_redirect("/login?next=%2Faccount");
}
