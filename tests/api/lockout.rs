//! Lockout and rate limits on sign-in (the cases of Keycloak's brute-force tests): ten failures
//! in a row lock the (account, client address) pair for 15 minutes; attempts while locked
//! neither count nor extend it; case variants are one account; unknown emails leave nothing;
//! one answer for wrong, unknown and locked; 429 past the per-address burst; 503 past the
//! password-hashing line.

use std::sync::Arc;

use chrono::Duration;
use diesel::prelude::*;
use orgportal::auth::password::Passwords;
use orgportal::db::schema::{audit_events, sign_in_failures};

use crate::helpers::{Response, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::on_both_backends;

const WRONG: &str = "not-the-password-at-all";
const WRONG_ANSWER: &str = "The email address or password is not right.";

on_both_backends!(
    ten_failures_lock_the_pair_for_fifteen_minutes,
    attempts_while_locked_neither_count_nor_extend_the_lock,
    case_variants_of_the_email_count_as_one_account,
    a_success_ends_the_run_of_failures,
    unknown_emails_leave_nothing_that_could_block_the_address,
    wrong_unknown_and_locked_get_the_same_answer,
    another_client_address_is_not_locked_out,
    a_burst_past_thirty_attempts_gets_429_with_retry_after,
    a_full_password_line_answers_503_with_retry_after,
);

fn count_events(app: &TestApp, action: &str) -> i64 {
    audit_events::table.filter(audit_events::action.eq(action)).count().get_result(&mut *app.conn()).unwrap()
}

fn stored_failures(app: &TestApp) -> Vec<(i64, String, i64)> {
    sign_in_failures::table
        .select((sign_in_failures::account_id, sign_in_failures::client_addr, sign_in_failures::failures))
        .load(&mut *app.conn())
        .unwrap()
}

async fn fail(app: &mut TestApp, email: &str, times: usize) {
    for _ in 0..times {
        let response = app.login(email, WRONG).await;
        response.assert_status(422);
        assert!(response.body.contains(WRONG_ANSWER));
    }
}

/// The page without what legitimately differs between two answers (CSRF token, typed email).
fn answer_shape(response: &Response, typed_email: &str) -> String {
    let marker = r#"name="csrf_token" value=""#;
    let start = response.body.find(marker).unwrap() + marker.len();
    let end = start + response.body[start..].find('"').unwrap();
    let without_token = format!("{}{}", &response.body[..start], &response.body[end..]);
    without_token.replace(typed_email, "EMAIL")
}

async fn ten_failures_lock_the_pair_for_fifteen_minutes(mut app: TestApp) {
    fail(&mut app, ADMIN_EMAIL, 10).await;
    assert_eq!(count_events(&app, "account.sign_in_failed"), 10);
    assert_eq!(count_events(&app, "account.locked"), 1);

    // Locked: even the right password gets the same refusal.
    let refused = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    refused.assert_status(422);
    assert!(refused.body.contains(WRONG_ANSWER));
    app.get("/account").await.assert_redirect("/login?next=%2Faccount");

    app.clock.advance(Duration::minutes(14));
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_status(422);
    app.clock.advance(Duration::minutes(1));
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_redirect("/");
    assert!(stored_failures(&app).is_empty(), "a sign-in clears the pair's counter");
}

async fn attempts_while_locked_neither_count_nor_extend_the_lock(mut app: TestApp) {
    fail(&mut app, ADMIN_EMAIL, 10).await;
    app.clock.advance(Duration::minutes(10));
    fail(&mut app, ADMIN_EMAIL, 5).await;
    let stored = stored_failures(&app);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].2, 10, "attempts while locked are not counted");
    assert_eq!(count_events(&app, "account.locked"), 1);
    // Fifteen minutes after the tenth failure, not after the last attempt.
    app.clock.advance(Duration::minutes(5));
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_redirect("/");
}

async fn case_variants_of_the_email_count_as_one_account(mut app: TestApp) {
    let variants = ["admin@default.com", "ADMIN@DEFAULT.COM", "Admin@Default.com", " admin@default.COM "];
    for variant in variants.iter().cycle().take(10) {
        app.login(variant, WRONG).await.assert_status(422);
    }
    assert_eq!(stored_failures(&app).len(), 1, "one counter for every spelling");
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_status(422);
    assert_eq!(count_events(&app, "account.locked"), 1);
}

async fn a_success_ends_the_run_of_failures(mut app: TestApp) {
    fail(&mut app, ADMIN_EMAIL, 9).await;
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_redirect("/");
    let mut other = app.client();
    fail(&mut other, ADMIN_EMAIL, 9).await;
    other.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_redirect("/");
    assert_eq!(count_events(&app, "account.locked"), 0);
}

async fn unknown_emails_leave_nothing_that_could_block_the_address(mut app: TestApp) {
    const LATER: &str = "later.person@example.com";
    const LATER_PASSWORD: &str = "marble-orchard-64-violin";
    fail(&mut app, LATER, 25).await;
    assert!(stored_failures(&app).is_empty(), "no counter for an address without an account");
    assert_eq!(count_events(&app, "account.sign_in_failed"), 25, "the attempts are audited all the same");
    assert_eq!(count_events(&app, "account.locked"), 0);
    // Whoever gets the address later signs in at once.
    app.insert_account(LATER, LATER_PASSWORD, false);
    app.login(LATER, LATER_PASSWORD).await.assert_redirect("/");
}

async fn wrong_unknown_and_locked_get_the_same_answer(mut app: TestApp) {
    const OTHER: &str = "someone.else@example.com";
    app.insert_account(OTHER, "birch-canyon-37-ledger", false);
    let mut unknown = app.client();
    let unknown_answer = unknown.login("nobody.here@example.com", WRONG).await;
    let mut wrong = app.client();
    let wrong_answer = wrong.login(OTHER, WRONG).await;
    fail(&mut app, ADMIN_EMAIL, 10).await;
    let locked_answer = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for response in [&unknown_answer, &wrong_answer, &locked_answer] {
        response.assert_status(422);
    }
    let shapes = [
        answer_shape(&unknown_answer, "nobody.here@example.com"),
        answer_shape(&wrong_answer, OTHER),
        answer_shape(&locked_answer, ADMIN_EMAIL),
    ];
    assert_eq!(shapes[0], shapes[1], "unknown and wrong differ");
    assert_eq!(shapes[1], shapes[2], "wrong and locked differ");
}

async fn another_client_address_is_not_locked_out(mut app: TestApp) {
    // The test client connects from 127.0.0.1; trusting it lets a request name its client.
    let mut config = (*app.state.config).clone();
    config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    app.state.config = Arc::new(config);
    fail(&mut app, ADMIN_EMAIL, 10).await;
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_status(422);

    let mut elsewhere = app.client();
    elsewhere
        .login_with_headers(ADMIN_EMAIL, ADMIN_PASSWORD, &[("x-forwarded-for", "198.51.100.23")])
        .await
        .assert_redirect("/");
}

async fn a_burst_past_thirty_attempts_gets_429_with_retry_after(mut app: TestApp) {
    app.get("/login").await;
    let started = std::time::Instant::now();
    let mut allowed = 0;
    let mut limited = None;
    for _ in 0..40 {
        // An empty password is refused before any hashing, so the burst is quick.
        let response = app.post("/login", &[("email", ADMIN_EMAIL), ("password", "")]).await;
        if response.status.as_u16() == 429 {
            limited = Some(response);
            break;
        }
        response.assert_status(422);
        assert!(response.body.contains("Enter your password."));
        allowed += 1;
    }
    let limited = limited.expect("the burst was never limited");
    let retry_after: u64 = limited.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!(retry_after >= 1);
    assert!(limited.body.contains("Too many attempts came from your address."));
    // Thirty at once, plus one for each second that passed while sending them.
    let refilled = started.elapsed().as_secs() as usize + 1;
    assert!((30..=30 + refilled).contains(&allowed), "{allowed} attempts allowed");
    assert!(stored_failures(&app).is_empty(), "refused attempts count toward nothing");
}

async fn a_full_password_line_answers_503_with_retry_after(mut app: TestApp) {
    // One hash at a time and nobody waiting: a second concurrent sign-in is turned away.
    app.state.passwords = Passwords::with_capacity(1, 0).unwrap();
    app.password_only(ADMIN_EMAIL);
    let mut browsers = Vec::new();
    for _ in 0..6 {
        let mut browser = app.client();
        browser.get("/login").await.assert_status(200);
        browsers.push(browser);
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(browsers.len()));
    let attempts = browsers.iter_mut().map(|browser| {
        let barrier = barrier.clone();
        async move {
            barrier.wait().await;
            browser.post("/login", &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)]).await
        }
    });
    let responses = futures_util::future::join_all(attempts).await;
    let busy: Vec<&Response> = responses.iter().filter(|r| r.status.as_u16() == 503).collect();
    let signed_in = responses.iter().filter(|r| r.status.as_u16() == 303).count();
    assert!(!busy.is_empty(), "statuses: {:?}", responses.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(signed_in >= 1, "the first in line is served");
    assert_eq!(busy.len() + signed_in, responses.len(), "only 303 or 503");
    for response in busy {
        assert!(response.header("retry-after").is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s >= 1)));
        assert!(response.body.contains("Wait"));
    }
}
