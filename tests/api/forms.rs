//! Form handling shared by every POST: CSRF refusal, body limits, missing and junk fields.

use crate::helpers::{TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::on_both_backends;

const NEW_PASSWORD: &str = "copper-lantern-58-meadow";

on_both_backends!(
    post_without_csrf_token_is_refused_and_changes_nothing,
    post_with_a_foreign_csrf_token_is_refused,
    sign_in_without_token_is_refused,
    sign_out_without_token_keeps_the_session,
    form_over_64_kib_is_refused_with_413,
    missing_fields_count_as_empty,
    junk_form_bodies_never_cause_a_500,
);

async fn post_without_csrf_token_is_refused_and_changes_nothing(mut app: TestApp) {
    app.login_as_admin().await;
    let before = app.password_hash(ADMIN_EMAIL);
    let body = serde_urlencoded::to_string([
        ("current_password", ADMIN_PASSWORD),
        ("password", NEW_PASSWORD),
        ("password_confirm", NEW_PASSWORD),
    ])
    .unwrap();
    let refused = app.post_raw("/account/password", body.clone()).await;
    refused.assert_status(403);
    assert!(refused.body.contains("Form expired"));
    let wrong = app.post_raw("/account/password", format!("csrf_token=forged&{body}")).await;
    wrong.assert_status(403);
    assert_eq!(app.password_hash(ADMIN_EMAIL), before);
    app.get("/account").await.assert_status(200);
}

async fn post_with_a_foreign_csrf_token_is_refused(mut app: TestApp) {
    // The attacker's own valid token does not work in the victim's session.
    let mut attacker = app.client();
    attacker.get("/login").await;
    app.login_as_admin().await;
    let before = app.password_hash(ADMIN_EMAIL);
    let page = attacker.get("/login").await.body;
    let marker = r#"name="csrf_token" value=""#;
    let start = page.find(marker).unwrap() + marker.len();
    let attacker_token = &page[start..start + page[start..].find('"').unwrap()];
    let body = serde_urlencoded::to_string([
        ("csrf_token", attacker_token),
        ("current_password", ADMIN_PASSWORD),
        ("password", NEW_PASSWORD),
        ("password_confirm", NEW_PASSWORD),
    ])
    .unwrap();
    app.post_raw("/account/password", body).await.assert_status(403);
    assert_eq!(app.password_hash(ADMIN_EMAIL), before);
}

async fn sign_in_without_token_is_refused(mut app: TestApp) {
    let body = serde_urlencoded::to_string([("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)]).unwrap();
    app.post_raw("/login", body).await.assert_status(403);
    app.get("/account").await.assert_redirect("/login?next=%2Faccount");
}

async fn sign_out_without_token_keeps_the_session(mut app: TestApp) {
    app.login_as_admin().await;
    app.post_raw("/logout", String::new()).await.assert_status(403);
    app.get("/account").await.assert_status(200);
}

async fn form_over_64_kib_is_refused_with_413(mut app: TestApp) {
    app.login_as_admin().await;
    app.get("/account").await;
    let before = app.password_hash(ADMIN_EMAIL);
    let huge = "x".repeat(65 * 1024);
    let response = app
        .post(
            "/account/password",
            &[("current_password", ADMIN_PASSWORD), ("password", &huge), ("password_confirm", &huge)],
        )
        .await;
    response.assert_status(413);
    assert!(response.body.contains("64 KiB"));
    assert_eq!(app.password_hash(ADMIN_EMAIL), before);
    // Just under the limit is read and judged on its content.
    let big = "y".repeat(30 * 1024);
    let response = app
        .post(
            "/account/password",
            &[("current_password", ADMIN_PASSWORD), ("password", &big), ("password_confirm", &big)],
        )
        .await;
    response.assert_status(422);
    assert!(response.body.contains("at most 128"));
}

async fn missing_fields_count_as_empty(mut app: TestApp) {
    app.get("/login").await;
    let response = app.post("/login", &[]).await;
    response.assert_status(422);
    app.login_as_admin().await;
    app.get("/account").await;
    let response = app.post("/account/password", &[]).await;
    response.assert_status(422);
    assert!(response.body.contains("Enter your current password."));
}

async fn junk_form_bodies_never_cause_a_500(mut app: TestApp) {
    app.login_as_admin().await;
    let page = app.get("/account").await.body;
    let marker = r#"name="csrf_token" value=""#;
    let start = page.find(marker).unwrap() + marker.len();
    let token = page[start..start + page[start..].find('"').unwrap()].to_owned();
    for junk in [
        format!("csrf_token={token}&password=a&password=b"),
        format!("csrf_token={token}&%FF%FE=%FF"),
        format!("csrf_token={token}&current_password=%00%01&password=\u{202e}&password_confirm="),
        format!("csrf_token={token}&&&==&"),
    ] {
        let response = app.post_raw("/account/password", junk.clone()).await;
        assert!(matches!(response.status.as_u16(), 403 | 422), "{junk:?} gave {} {}", response.status, response.body);
    }
}
