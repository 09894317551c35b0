//! Sessions: password change ending other sessions, timeouts, CSRF rotation.

use chrono::Duration;
use diesel::prelude::*;
use orgportal::db::schema::{audit_events, sessions};

use crate::helpers::{row_ids, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::on_both_backends;

const NEW_PASSWORD: &str = "copper-lantern-58-meadow";

on_both_backends!(
    changing_password_ends_every_other_session,
    password_change_errors_are_shown_beside_each_field,
    idle_session_expires_after_30_minutes,
    busy_session_expires_after_12_hours,
    csrf_token_rotates_at_sign_in_and_sign_out,
    a_cookie_copied_before_sign_out_opens_nothing_after,
    a_session_signed_out_from_another_device_opens_nothing,
    sign_out_everywhere_else_keeps_only_this_session,
    another_accounts_session_cannot_be_ended,
    the_account_page_lists_its_sessions,
    expired_sessions_are_purged,
    an_administrator_ends_another_administrators_sessions,
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
    assert_eq!(session_count(&app), 1, "a refused change ends no session");
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
    app.password_only(ADMIN_EMAIL);
    let anonymous = token_of(&app.get("/login").await.body);
    app.post("/login", &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)]).await.assert_redirect("/");
    let signed_in = token_of(&app.get("/account").await.body);
    assert_ne!(anonymous, signed_in);
    app.post("/logout", &[]).await.assert_redirect("/login");
    let after = token_of(&app.get("/login").await.body);
    assert_ne!(after, signed_in);
    assert_ne!(after, anonymous);
}

fn session_count(app: &TestApp) -> i64 {
    sessions::table.count().get_result(&mut *app.conn()).unwrap()
}

/// The session ids `/account` lists, and which one is "this one".
async fn listed_sessions(app: &mut TestApp) -> (Vec<i64>, i64) {
    let page = app.get("/account").await;
    page.assert_status(200);
    let ids = row_ids(&page.body, "session");
    let this_one = ids
        .iter()
        .copied()
        .find(|id| {
            let row = &page.body[page.body.find(&format!(r#"data-session-id="{id}""#)).unwrap()..];
            row[..row.find("</tr>").unwrap()].contains("This one")
        })
        .expect("one session is marked as this one");
    (ids, this_one)
}

async fn a_cookie_copied_before_sign_out_opens_nothing_after(mut app: TestApp) {
    app.login_as_admin().await;
    let mut copied = app.copy_of_cookies();
    copied.get("/admin").await.assert_status(200);
    app.get("/account").await;
    app.post("/logout", &[]).await.assert_redirect("/login");
    assert_eq!(session_count(&app), 0, "sign-out deletes the row");
    for path in ["/admin", "/account", "/admin/organizations", "/"] {
        let response = copied.get(path).await;
        assert_eq!(response.status.as_u16(), 303, "{path} opened with a signed-out cookie");
        assert!(response.location().starts_with("/login"), "{path}");
    }
    // Nor can the copy post a form.
    let mut copied = app.copy_of_cookies();
    copied.post("/admin/properties", &[("days_to_action_removal", "3")]).await;
    let kept: String = orgportal::db::schema::platform_properties::table
        .filter(orgportal::db::schema::platform_properties::name.eq("days_to_action_removal"))
        .select(orgportal::db::schema::platform_properties::value)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(kept, "7");
}

async fn a_session_signed_out_from_another_device_opens_nothing(mut app: TestApp) {
    let mut laptop = app.client();
    laptop.login_as_admin().await;
    app.login_as_admin().await;
    let (ids, this_one) = listed_sessions(&mut app).await;
    assert_eq!(ids.len(), 2);
    let laptops = *ids.iter().find(|id| **id != this_one).unwrap();
    let stolen_copy = laptop.copy_of_cookies();

    app.post(&format!("/account/sessions/{laptops}/end"), &[]).await.assert_redirect("/account");
    let page = app.get("/account").await;
    page.assert_status(200);
    assert!(page.body.contains("That session is signed out."));
    assert_eq!(row_ids(&page.body, "session"), [this_one]);
    laptop.get("/admin").await.assert_redirect("/login?next=%2Fadmin");
    let mut stolen_copy = stolen_copy;
    stolen_copy.get("/admin").await.assert_redirect("/login?next=%2Fadmin");
    assert_eq!(
        audit_events::table
            .filter(audit_events::action.eq("account.session_ended"))
            .count()
            .get_result::<i64>(&mut *app.conn())
            .unwrap(),
        1
    );

    // Ending this one is signing out.
    app.get("/account").await;
    app.post(&format!("/account/sessions/{this_one}/end"), &[]).await.assert_redirect("/login");
    app.get("/account").await.assert_redirect("/login?next=%2Faccount");
    assert_eq!(session_count(&app), 0);
}

async fn sign_out_everywhere_else_keeps_only_this_session(mut app: TestApp) {
    let mut others: Vec<TestApp> = Vec::new();
    for _ in 0..3 {
        let mut other = app.client();
        other.login_as_admin().await;
        others.push(other);
    }
    app.login_as_admin().await;
    let (ids, this_one) = listed_sessions(&mut app).await;
    assert_eq!(ids.len(), 4);
    app.post("/account/sessions/end-others", &[]).await.assert_redirect("/account");
    let page = app.get("/account").await;
    assert!(page.body.contains("Your 3 other sessions are signed out."));
    assert_eq!(row_ids(&page.body, "session"), [this_one]);
    for other in &mut others {
        other.get("/account").await.assert_redirect("/login?next=%2Faccount");
    }
}

async fn another_accounts_session_cannot_be_ended(mut app: TestApp) {
    const OTHER: &str = "plain.user@example.com";
    const OTHER_PASSWORD: &str = "birch-canyon-37-ledger";
    app.insert_account(OTHER, OTHER_PASSWORD, false);
    let mut other = app.client();
    other.login(OTHER, OTHER_PASSWORD).await.assert_redirect("/");
    let (_, others_session) = listed_sessions(&mut other).await;

    app.login_as_admin().await;
    app.get("/account").await;
    for path in [
        format!("/account/sessions/{others_session}/end"),
        "/account/sessions/99999999999999999999/end".to_owned(),
        "/account/sessions/abc/end".to_owned(),
    ] {
        let response = app.post(&path, &[]).await;
        response.assert_status(404);
    }
    other.get("/account").await.assert_status(200);
    assert_eq!(session_count(&app), 2);
}

async fn the_account_page_lists_its_sessions(mut app: TestApp) {
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    app.login_with_headers(ADMIN_EMAIL, ADMIN_PASSWORD, &[("user-agent", firefox)]).await.assert_redirect("/");
    let account = app.get("/account").await;
    assert!(account.body.contains("Firefox on Linux"));
    assert!(account.body.contains("127.0.0.1"));
    assert!(account.body.contains("This one"));
    let stored: (String, String) =
        sessions::table.select((sessions::token_hash, sessions::user_agent)).first(&mut *app.conn()).unwrap();
    assert_eq!(stored.0.len(), 64, "only a SHA-256 of the token is stored");
    assert_eq!(stored.1, firefox);
}

async fn expired_sessions_are_purged(mut app: TestApp) {
    let mut early = app.client();
    early.login_as_admin().await;
    app.clock.advance(Duration::minutes(31));
    app.login_as_admin().await;
    assert_eq!(session_count(&app), 1, "the idle session's row went at the next sign-in");
    early.get("/account").await.assert_redirect("/login?next=%2Faccount");
}

async fn an_administrator_ends_another_administrators_sessions(mut app: TestApp) {
    const B: &str = "second.admin@example.com";
    const B_PASSWORD: &str = "lichen-summit-82-parade";
    let b_id = app.insert_account(B, B_PASSWORD, true);
    let mut b_phone = app.client();
    b_phone.login(B, B_PASSWORD).await.assert_redirect("/");
    let mut b_laptop = app.client();
    b_laptop.login(B, B_PASSWORD).await.assert_redirect("/");

    app.login_as_admin().await;
    let page = app.get("/admin/administrators").await;
    assert!(page.body.contains(&format!("/admin/administrators/{b_id}/end-sessions")));
    app.post(&format!("/admin/administrators/{b_id}/end-sessions"), &[]).await.assert_redirect("/admin/administrators");
    let page = app.get("/admin/administrators").await;
    assert!(page.body.contains("is signed out of 2 sessions."), "{}", page.body);
    b_phone.get("/admin").await.assert_redirect("/login?next=%2Fadmin");
    b_laptop.get("/admin").await.assert_redirect("/login?next=%2Fadmin");
    app.get("/admin").await.assert_status(200);

    // Not one's own (the account page does that), and only administrators.
    let own_id = crate::helpers::account_id(&mut app.conn(), ADMIN_EMAIL);
    app.post(&format!("/admin/administrators/{own_id}/end-sessions"), &[]).await.assert_status(409);
    let plain = app.insert_account("plain.user@example.com", "birch-canyon-37-ledger", false);
    app.get("/admin/administrators").await;
    app.post(&format!("/admin/administrators/{plain}/end-sessions"), &[]).await.assert_status(409);
    // A plain user cannot use it at all.
    let mut user = app.client();
    user.login("plain.user@example.com", "birch-canyon-37-ledger").await;
    user.get("/account").await;
    user.post(&format!("/admin/administrators/{own_id}/end-sessions"), &[]).await.assert_status(403);
    app.get("/admin").await.assert_status(200);
    let ended: i64 = audit_events::table
        .filter(audit_events::action.eq("platform_admin.sessions_ended"))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(ended, 1);
}
