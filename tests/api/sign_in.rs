//! Signing in and out.

use diesel::prelude::*;
use orgportal::db::schema::audit_events;

use crate::helpers::{TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    right_password_signs_in,
    wrong_password_is_refused_and_keeps_the_email,
    unknown_email_gets_the_same_answer,
    sign_out_ends_the_session,
    next_is_followed_only_for_local_paths,
    email_is_matched_case_insensitively,
    client_address_comes_from_trusted_proxies_only,
);

async fn right_password_signs_in(mut app: TestApp) {
    let response = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    response.assert_redirect("/");
    let home = app.get("/").await;
    home.assert_status(200);
    assert!(home.body.contains(ADMIN_EMAIL));
    assert!(home.body.contains(r#"href="/admin""#));
    let sign_ins: i64 = audit_events::table
        .filter(audit_events::action.eq("account.sign_in"))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(sign_ins, 1);
}

async fn wrong_password_is_refused_and_keeps_the_email(mut app: TestApp) {
    let response = app.login(ADMIN_EMAIL, "not-the-password-at-all").await;
    response.assert_status(422);
    assert!(response.body.contains("The email address or password is not right."));
    assert!(response.body.contains(&format!(r#"value="{ADMIN_EMAIL}""#)));
    assert!(!response.body.contains("not-the-password-at-all"), "a password is never echoed");
    app.get("/account").await.assert_redirect("/login?next=%2Faccount");
}

async fn unknown_email_gets_the_same_answer(mut app: TestApp) {
    let unknown = app.login("nobody@example.com", ADMIN_PASSWORD).await;
    unknown.assert_status(422);
    let mut other = app.client();
    let known = other.login(ADMIN_EMAIL, "not-the-password-at-all").await;
    // Same status and same message: the page does not reveal which accounts exist.
    assert_eq!(unknown.status, known.status);
    assert!(unknown.body.contains("The email address or password is not right."));
}

async fn sign_out_ends_the_session(mut app: TestApp) {
    app.login_as_admin().await;
    app.get("/account").await.assert_status(200);
    let out = app.post("/logout", &[]).await;
    out.assert_redirect("/login");
    let login = app.get("/login").await;
    assert!(login.body.contains("You are signed out."));
    app.get("/account").await.assert_redirect("/login?next=%2Faccount");
}

async fn next_is_followed_only_for_local_paths(mut app: TestApp) {
    app.password_only(ADMIN_EMAIL);
    for (next, expected) in [
        ("/admin", "/admin"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("http:/evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
    ] {
        let mut browser = app.client();
        browser.get("/login").await;
        let response =
            browser.post("/login", &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD), ("next", next)]).await;
        response.assert_redirect(expected);
    }
    // The sign-in page itself never carries a foreign target into its form.
    let page = app.get("/login?next=https%3A%2F%2Fevil.example%2F").await;
    assert!(page.body.contains(r#"name="next" value="/""#));
    let page = app.get("/login?next=%2Fadmin").await;
    assert!(page.body.contains(r#"name="next" value="/admin""#));
}

async fn email_is_matched_case_insensitively(mut app: TestApp) {
    app.login("  Admin@Default.COM ", ADMIN_PASSWORD).await.assert_redirect("/");
}

async fn client_address_comes_from_trusted_proxies_only(mut app: TestApp) {
    // The test client connects from 127.0.0.1, which this app does not trust.
    app.login_with_headers(ADMIN_EMAIL, ADMIN_PASSWORD, &[("x-forwarded-for", "203.0.113.77")])
        .await
        .assert_redirect("/");
    let recorded: String = audit_events::table
        .filter(audit_events::action.eq("account.sign_in"))
        .select(audit_events::client_addr)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(recorded, "127.0.0.1", "X-Forwarded-For from an untrusted peer is ignored");
}

#[actix_web::test]
async fn trusted_proxy_forwards_the_client_address() {
    let mut app = TestApp::start(crate::helpers::TestDatabase::sqlite(), &["--trusted-proxies", "127.0.0.0/8"]);
    app.login_with_headers(ADMIN_EMAIL, ADMIN_PASSWORD, &[("x-forwarded-for", "198.51.100.23, 127.0.0.5")])
        .await
        .assert_redirect("/");
    let recorded: String = audit_events::table
        .filter(audit_events::action.eq("account.sign_in"))
        .select(audit_events::client_addr)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(recorded, "198.51.100.23");
}
