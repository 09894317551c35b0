//! Sessions: password change ending other sessions, timeouts, CSRF rotation.

use chrono::Duration;
use diesel::prelude::*;
use orgportal::db::schema::{accounts, audit_events};

use crate::helpers::{TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::on_both_backends;

const NEW_PASSWORD: &str = "copper-lantern-58-meadow";

on_both_backends!(
    changing_password_ends_every_other_session,
    password_change_errors_are_shown_beside_each_field,
    idle_session_expires_after_30_minutes,
    busy_session_expires_after_12_hours,
    csrf_token_rotates_at_sign_in_and_sign_out,
);

async fn changing_password_ends_every_other_session(mut app: TestApp) {
    let mut other_browser = app.client();
    app.login_as_admin().await;
    other_browser.login_as_admin().await;
    other_browser.get("/account").await.assert_status(200);

    app.get("/account").await;
    let response = app
        .post(
            "/account/password",
            &[("current_password", ADMIN_PASSWORD), ("password", NEW_PASSWORD), ("password_confirm", NEW_PASSWORD)],
        )
        .await;
    response.assert_redirect("/account");
    // This session carries on; the other one is over.
    let page = app.get("/account").await;
    page.assert_status(200);
    assert!(page.body.contains("Your password is changed."));
    other_browser.get("/account").await.assert_redirect("/login?next=%2Faccount");

    let mut fresh = app.client();
    fresh.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_status(422);
    fresh.login(ADMIN_EMAIL, NEW_PASSWORD).await.assert_redirect("/");

    let changes: i64 = audit_events::table
        .filter(audit_events::action.eq("account.password_changed"))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(changes, 1);
}

async fn password_change_errors_are_shown_beside_each_field(mut app: TestApp) {
    app.login_as_admin().await;
    app.get("/account").await;
    let before = app.password_hash(ADMIN_EMAIL);
    let response = app
        .post(
            "/account/password",
            &[("current_password", "wrong-current-password"), ("password", "short"), ("password_confirm", "different")],
        )
        .await;
    response.assert_status(422);
    for id in ["current_password-error", "password-error", "password_confirm-error"] {
        assert!(response.body.contains(&format!(r#"id="{id}""#)), "{id} missing");
    }
    assert!(response.body.contains("This is not your current password."));
    assert!(response.body.contains("Use at least 12 characters."));
    assert_eq!(app.password_hash(ADMIN_EMAIL), before, "nothing changed");

    let common = app
        .post(
            "/account/password",
            &[
                ("current_password", ADMIN_PASSWORD),
                ("password", "Password2026!"),
                ("password_confirm", "Password2026!"),
            ],
        )
        .await;
    common.assert_status(422);
    assert!(common.body.contains("too common"));
    let epoch: i64 = accounts::table
        .filter(accounts::email.eq(ADMIN_EMAIL))
        .select(accounts::session_epoch)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(epoch, 0, "a refused change ends no session");
}

async fn idle_session_expires_after_30_minutes(mut app: TestApp) {
    app.login_as_admin().await;
    app.clock.advance(Duration::minutes(29));
    app.get("/account").await.assert_status(200);
    // Activity restarted the idle clock.
    app.clock.advance(Duration::minutes(29));
    app.get("/account").await.assert_status(200);
    app.clock.advance(Duration::minutes(31));
    app.get("/account").await.assert_redirect("/login?next=%2Faccount");
    let login = app.get("/login?next=%2Faccount").await;
    assert!(login.body.contains("30 minutes without activity"));
}

async fn busy_session_expires_after_12_hours(mut app: TestApp) {
    app.login_as_admin().await;
    for _ in 0..(12 * 60 / 25) {
        app.clock.advance(Duration::minutes(25));
        let response = app.get("/account").await;
        if response.status.as_u16() == 303 {
            response.assert_redirect("/login?next=%2Faccount");
            let login = app.get("/login").await;
            assert!(login.body.contains("12-hour limit"));
            return;
        }
    }
    app.clock.advance(Duration::minutes(25));
    app.get("/account").await.assert_redirect("/login?next=%2Faccount");
}

fn token_of(body: &str) -> String {
    let marker = r#"name="csrf_token" value=""#;
    let start = body.find(marker).expect("page has a CSRF token") + marker.len();
    body[start..start + body[start..].find('"').unwrap()].to_owned()
}

async fn csrf_token_rotates_at_sign_in_and_sign_out(mut app: TestApp) {
    let anonymous = token_of(&app.get("/login").await.body);
    app.post("/login", &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)]).await.assert_redirect("/");
    let signed_in = token_of(&app.get("/account").await.body);
    assert_ne!(anonymous, signed_in);
    app.post("/logout", &[]).await.assert_redirect("/login");
    let after = token_of(&app.get("/login").await.body);
    assert_ne!(after, signed_in);
    assert_ne!(after, anonymous);
}
