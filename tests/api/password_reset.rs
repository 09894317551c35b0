//! Password reset (issue 13, point 5): "Forgot your password?" on `/login`; one answer for
//! known and unknown addresses and an email only for the known one; a link that works once,
//! for an hour, superseded by a newer one; every session of the account ends; a refused
//! password keeps the link usable; the per-client 429; two submissions at once set the
//! password exactly once.

use std::sync::Arc;

use chrono::Duration;
use diesel::prelude::*;
use orgportal::db::schema::{accounts, audit_events, outbox, password_resets, sessions, sign_in_failures};
use tokio::sync::Barrier;

use crate::helpers::{account_id, Response, TestApp};
use crate::on_both_backends;
use crate::{log_capture, mailbox};

const EMAIL: &str = "river.stone@example.com";
const OLD_PASSWORD: &str = "amber-thistle-71-lighthouse";
const NEW_PASSWORD: &str = "copper-lantern-58-meadow";
const UNKNOWN: &str = "nobody.here@example.com";

on_both_backends!(
    the_sign_in_page_links_to_password_reset,
    known_and_unknown_addresses_get_the_same_answer_and_only_the_known_one_an_email,
    an_account_that_has_not_registered_gets_no_link,
    a_link_works_once,
    the_link_is_neither_at_rest_nor_in_the_log,
    a_link_expires_after_an_hour,
    a_new_request_supersedes_the_earlier_link,
    a_second_request_within_five_minutes_sends_no_email,
    using_the_link_ends_every_session_of_the_account,
    a_refused_password_keeps_the_link_usable,
    a_reset_clears_the_lockout,
    unknown_links_and_bad_addresses_show_no_form,
    requests_past_the_per_client_burst_get_429,
    two_submissions_at_once_set_the_password_exactly_once,
);

fn resets(app: &TestApp) -> i64 {
    password_resets::table.count().get_result(&mut *app.conn()).unwrap()
}

fn queued(app: &TestApp) -> i64 {
    outbox::table.count().get_result(&mut *app.conn()).unwrap()
}

fn lockout_rows(app: &TestApp) -> i64 {
    sign_in_failures::table.count().get_result(&mut *app.conn()).unwrap()
}

fn events(app: &TestApp, action: &str) -> i64 {
    audit_events::table.filter(audit_events::action.eq(action)).count().get_result(&mut *app.conn()).unwrap()
}

/// The tokens of the password reset links delivered to `recipient`, oldest first.
fn reset_tokens_to(app: &TestApp, recipient: &str) -> Vec<String> {
    mailbox::deliver_all(app);
    mailbox::messages(app)
        .into_iter()
        .filter(|(_, to, _)| to == recipient)
        .filter_map(|(_, _, text)| {
            let start = text.find("/password-reset/")? + "/password-reset/".len();
            let token: String =
                text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
            (!token.is_empty()).then_some(token)
        })
        .collect()
}

/// Ask for a link from a fresh browser; the answer page is checked to be the common one.
async fn ask(app: &TestApp, email: &str) -> Response {
    let mut browser = app.client();
    browser.get("/password-reset").await.assert_status(200);
    let response = browser.post("/password-reset", &[("email", email)]).await;
    response.assert_status(200);
    assert!(response.body.contains("a link to choose a new password is on its way"), "{}", response.body);
    response
}

/// Ask for a link for `EMAIL` and return its token.
async fn link_for(app: &TestApp) -> String {
    ask(app, EMAIL).await;
    reset_tokens_to(app, EMAIL).pop().expect("a reset email")
}

async fn choose(browser: &mut TestApp, token: &str, password: &str, confirm: &str) -> Response {
    let path = format!("/password-reset/{token}");
    browser.get(&path).await.assert_status(200);
    browser.post(&path, &[("password", password), ("password_confirm", confirm)]).await
}

fn setup(app: &TestApp) -> i64 {
    app.insert_account(EMAIL, OLD_PASSWORD, false)
}

/// The page without its CSRF token and with the typed address replaced.
fn shape(body: &str, typed: &str) -> String {
    let mut out = body.replace(typed, "EMAIL");
    let marker = r#"name="csrf_token" value=""#;
    let mut from = 0;
    while let Some(at) = out[from..].find(marker) {
        let start = from + at + marker.len();
        let end = start + out[start..].find('"').unwrap();
        out.replace_range(start..end, "");
        from = start;
    }
    out
}

async fn the_sign_in_page_links_to_password_reset(mut app: TestApp) {
    let page = app.get("/login").await;
    assert!(page.body.contains(r#"<a href="/password-reset">Forgot your password?</a>"#));
    let page = app.get("/password-reset").await;
    page.assert_status(200);
    assert!(page.body.contains(r#"name="email""#));
}

async fn known_and_unknown_addresses_get_the_same_answer_and_only_the_known_one_an_email(app: TestApp) {
    let id = setup(&app);
    let known = ask(&app, EMAIL).await;
    let unknown = ask(&app, UNKNOWN).await;
    assert_eq!(shape(&known.body, EMAIL), shape(&unknown.body, UNKNOWN));
    assert_eq!(known.status, unknown.status);
    // Case and spaces do not matter: the same account.
    let mut browser = app.client();
    browser.get("/password-reset").await;
    browser.post("/password-reset", &[("email", " River.Stone@EXAMPLE.com ")]).await.assert_status(200);

    let queued: Vec<(String, String)> =
        outbox::table.select((outbox::recipient, outbox::kind)).load(&mut *app.conn()).unwrap();
    assert_eq!(queued, vec![(EMAIL.to_owned(), "password_reset".to_owned())], "one email, to the known address");
    let rows: Vec<i64> = password_resets::table.select(password_resets::account_id).load(&mut *app.conn()).unwrap();
    assert_eq!(rows, vec![id]);
    assert_eq!(events(&app, "account.password_reset_requested"), 3, "every request is in the audit trail");

    mailbox::deliver_all(&app);
    let messages = mailbox::messages(&app);
    assert_eq!(messages.len(), 1);
    let (_, to, text) = &messages[0];
    assert_eq!(to, EMAIL);
    let base = &app.state.config.base_url;
    assert!(text.contains(&format!("{base}/password-reset/")), "the link comes from the base URL: {text}");
    assert!(text.contains("You receive this email because a password reset was asked for at this address."));
    assert!(text.contains("you can ignore it"));
    assert!(text.contains("<a "), "an HTML part too");
    // Only the hash of the token is stored.
    let token = reset_tokens_to(&app, EMAIL).pop().unwrap();
    let stored: String = password_resets::table.select(password_resets::token_hash).first(&mut *app.conn()).unwrap();
    assert_ne!(stored, token);
    assert_eq!(stored, orgportal::auth::session::token_hash(&token));
}

async fn an_account_that_has_not_registered_gets_no_link(app: TestApp) {
    let id = setup(&app);
    diesel::update(accounts::table.find(id)).set(accounts::status.eq("invited")).execute(&mut *app.conn()).unwrap();
    let invited = ask(&app, EMAIL).await;
    let unknown = ask(&app, UNKNOWN).await;
    assert_eq!(shape(&invited.body, EMAIL), shape(&unknown.body, UNKNOWN));
    assert_eq!(queued(&app), 0, "an invited account registers through its invitation instead");
    assert_eq!(resets(&app), 0);
}

async fn a_link_works_once(mut app: TestApp) {
    setup(&app);
    let token = link_for(&app).await;
    let form = app.get(&format!("/password-reset/{token}")).await;
    form.assert_status(200);
    assert!(form.body.contains(EMAIL) && form.body.contains(r#"name="password_confirm""#));
    // Opening it again does not use it up.
    app.get(&format!("/password-reset/{token}")).await.assert_status(200);

    choose(&mut app, &token, NEW_PASSWORD, NEW_PASSWORD).await.assert_redirect("/login");
    let login = app.get("/login").await;
    assert!(login.body.contains("Your password is set; sign in."), "{}", login.body);
    assert_eq!(events(&app, "account.password_reset"), 1);
    assert_eq!(resets(&app), 0);

    let used = app.get(&format!("/password-reset/{token}")).await;
    used.assert_status(404);
    assert!(used.body.contains("already been used"));
    assert!(used.body.contains(r#"href="/password-reset""#));
    assert!(!used.body.contains(r#"name="password""#), "no form");
    let hash = app.password_hash(EMAIL);
    let again = app
        .post(&format!("/password-reset/{token}"), &[("password", OLD_PASSWORD), ("password_confirm", OLD_PASSWORD)])
        .await;
    again.assert_status(404);
    assert_eq!(app.password_hash(EMAIL), hash, "a used link changes nothing");
    assert_eq!(events(&app, "account.password_reset"), 1);

    app.client().login(EMAIL, OLD_PASSWORD).await.assert_status(422);
    app.client().login(EMAIL, NEW_PASSWORD).await.assert_redirect("/");
}

async fn the_link_is_neither_at_rest_nor_in_the_log(mut app: TestApp) {
    log_capture::capture();
    setup(&app);
    ask(&app, EMAIL).await;
    // Queued, not yet sent: the bodies are sealed.
    let (text, html): (String, String) =
        outbox::table.select((outbox::body_text, outbox::body_html)).first(&mut *app.conn()).unwrap();
    assert!(!text.contains("/password-reset/") && !html.contains("/password-reset/"), "sealed at rest");
    let token = reset_tokens_to(&app, EMAIL).pop().unwrap();
    app.get(&format!("/password-reset/{token}")).await.assert_status(200);
    app.post(&format!("/password-reset/{token}"), &[("password", NEW_PASSWORD), ("password_confirm", NEW_PASSWORD)])
        .await
        .assert_redirect("/login");
    let audit: Vec<String> = audit_events::table.select(audit_events::details).load(&mut *app.conn()).unwrap();
    assert!(!audit.iter().any(|d| d.contains(&token)));
    let log = log_capture::lines();
    assert!(!log.iter().any(|line| line.contains(&token)), "a reset token is in the log");
    assert!(log.iter().any(|line| line.contains(r#""POST /password-reset/… HTTP/1.1" 303"#)), "the visit is logged");
}

async fn a_link_expires_after_an_hour(mut app: TestApp) {
    setup(&app);
    let token = link_for(&app).await;
    let path = format!("/password-reset/{token}");
    app.clock.advance(Duration::minutes(59));
    app.get(&path).await.assert_status(200);
    app.clock.advance(Duration::minutes(2));
    let expired = app.get(&path).await;
    expired.assert_status(410);
    assert!(expired.body.contains("has expired"));
    assert!(expired.body.contains(r#"href="/password-reset""#));
    assert!(!expired.body.contains(r#"name="password""#), "no form");
    let hash = app.password_hash(EMAIL);
    let refused = app.post(&path, &[("password", NEW_PASSWORD), ("password_confirm", NEW_PASSWORD)]).await;
    refused.assert_status(410);
    assert_eq!(app.password_hash(EMAIL), hash);
    assert_eq!(events(&app, "account.password_reset"), 0);
}

async fn a_new_request_supersedes_the_earlier_link(mut app: TestApp) {
    setup(&app);
    let first = link_for(&app).await;
    app.clock.advance(Duration::minutes(6));
    let second = link_for(&app).await;
    assert_ne!(first, second);
    assert_eq!(reset_tokens_to(&app, EMAIL).len(), 2);
    assert_eq!(resets(&app), 1, "one live link per account");

    let old = app.get(&format!("/password-reset/{first}")).await;
    old.assert_status(404);
    assert!(old.body.contains("a newer link replaced it"));
    choose(&mut app, &second, NEW_PASSWORD, NEW_PASSWORD).await.assert_redirect("/login");
}

async fn a_second_request_within_five_minutes_sends_no_email(mut app: TestApp) {
    setup(&app);
    let first = link_for(&app).await;
    app.clock.advance(Duration::minutes(4));
    let again = ask(&app, EMAIL).await;
    assert!(again.body.contains("is on its way"), "the same answer, silently");
    assert_eq!(queued(&app), 1, "no second email");
    // The first link still works.
    choose(&mut app, &first, NEW_PASSWORD, NEW_PASSWORD).await.assert_redirect("/login");
}

async fn using_the_link_ends_every_session_of_the_account(app: TestApp) {
    let id = setup(&app);
    let mut laptop = app.client();
    let mut phone = app.client();
    laptop.login(EMAIL, OLD_PASSWORD).await.assert_redirect("/");
    phone.login(EMAIL, OLD_PASSWORD).await.assert_redirect("/");
    phone.get("/account").await.assert_status(200);
    let token = link_for(&app).await;

    // The laptop, still signed in, uses the link: it is signed out too.
    choose(&mut laptop, &token, NEW_PASSWORD, NEW_PASSWORD).await.assert_redirect("/login");
    phone.get("/account").await.assert_redirect("/login?next=%2Faccount");
    laptop.get("/account").await.assert_redirect("/login?next=%2Faccount");
    let left: i64 = sessions::table.filter(sessions::account_id.eq(id)).count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(left, 0);
    let details: String = audit_events::table
        .filter(audit_events::action.eq("account.password_reset"))
        .select(audit_events::details)
        .first(&mut *app.conn())
        .unwrap();
    assert!(details.contains(r#""sessions ended":2"#), "{details}");
}

async fn a_refused_password_keeps_the_link_usable(mut app: TestApp) {
    setup(&app);
    let token = link_for(&app).await;
    let hash = app.password_hash(EMAIL);
    let weak = "password1234";
    let refused = choose(&mut app, &token, weak, "something-else-entirely").await;
    refused.assert_status(422);
    for id in ["password-error", "password_confirm-error"] {
        assert!(refused.body.contains(&format!(r#"id="{id}""#)), "{id} missing");
    }
    assert!(refused.body.contains("The two passwords differ."));
    assert!(!refused.body.contains(weak) && !refused.body.contains("something-else-entirely"), "never echoed");
    let own_email = choose(&mut app, &token, EMAIL, EMAIL).await;
    own_email.assert_status(422);
    assert!(own_email.body.contains("cannot be your email address"));
    assert_eq!(app.password_hash(EMAIL), hash, "nothing changed");
    assert_eq!(resets(&app), 1, "the link is still there");

    choose(&mut app, &token, NEW_PASSWORD, NEW_PASSWORD).await.assert_redirect("/login");
    app.client().login(EMAIL, NEW_PASSWORD).await.assert_redirect("/");
}

async fn a_reset_clears_the_lockout(mut app: TestApp) {
    setup(&app);
    let mut guesser = app.client();
    for _ in 0..10 {
        guesser.login(EMAIL, "not-the-password-at-all").await.assert_status(422);
    }
    assert_eq!(lockout_rows(&app), 1, "the pair is locked");
    // Locked: even the right password is refused.
    app.client().login(EMAIL, OLD_PASSWORD).await.assert_status(422);

    let token = link_for(&app).await;
    choose(&mut app, &token, NEW_PASSWORD, NEW_PASSWORD).await.assert_redirect("/login");
    assert_eq!(lockout_rows(&app), 0);
    app.client().login(EMAIL, NEW_PASSWORD).await.assert_redirect("/");
}

async fn unknown_links_and_bad_addresses_show_no_form(mut app: TestApp) {
    setup(&app);
    let made_up = orgportal::auth::random_token(32);
    let page = app.get(&format!("/password-reset/{made_up}")).await;
    page.assert_status(404);
    assert!(!page.body.contains(r#"name="password""#));
    assert!(page.body.contains(r#"href="/password-reset""#));

    app.get("/password-reset").await;
    let refused = app.post("/password-reset", &[("email", "not an address")]).await;
    refused.assert_status(422);
    assert!(refused.body.contains(r#"id="email-error""#));
    let empty = app.post("/password-reset", &[("email", "  ")]).await;
    empty.assert_status(422);
    // No CSRF token: refused before anything is looked at.
    app.post_raw("/password-reset", format!("email={EMAIL}")).await.assert_status(403);
    assert_eq!(queued(&app), 0);
    assert_eq!(resets(&app), 0);
    assert_eq!(events(&app, "account.password_reset_requested"), 0);
}

async fn requests_past_the_per_client_burst_get_429(mut app: TestApp) {
    setup(&app);
    app.get("/password-reset").await;
    for n in 0..orgportal::accounts::password_reset::CLIENT_BURST {
        let email = format!("someone{n}@example.com");
        app.post("/password-reset", &[("email", &email)]).await.assert_status(200);
    }
    let limited = app.post("/password-reset", &[("email", EMAIL)]).await;
    limited.assert_status(429);
    let retry_after: u64 = limited.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(queued(&app), 0, "the refused request sent nothing");
    assert_eq!(events(&app, "account.password_reset_requested"), 5);
}

const ROUNDS: usize = 4;

async fn two_submissions_at_once_set_the_password_exactly_once(app: TestApp) {
    setup(&app);
    let id = account_id(&mut app.conn(), EMAIL);
    for round in 0..ROUNDS {
        let token = link_for(&app).await;
        let path = format!("/password-reset/{token}");
        let mut first = app.client();
        let mut second = app.client();
        first.get(&path).await.assert_status(200);
        second.get(&path).await.assert_status(200);
        let password = format!("{NEW_PASSWORD}-{round}");
        let barrier = Arc::new(Barrier::new(2));
        let (a, b) = submit_both(&mut first, &mut second, &path, &password, barrier).await;
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [303, 404], "round {round}: exactly one submission sets the password");
        assert_eq!(events(&app, "account.password_reset"), round as i64 + 1);
        let live: i64 = password_resets::table
            .filter(password_resets::account_id.eq(id))
            .count()
            .get_result(&mut *app.conn())
            .unwrap();
        assert_eq!(live, 0);
        app.client().login(EMAIL, &password).await.assert_redirect("/");
        // Past the 5-minute pace, so the next round gets a new email.
        app.clock.advance(Duration::minutes(6));
    }
}

async fn submit_both(
    first: &mut TestApp,
    second: &mut TestApp,
    path: &str,
    password: &str,
    barrier: Arc<Barrier>,
) -> (Response, Response) {
    let fields = [("password", password), ("password_confirm", password)];
    let one = {
        let barrier = barrier.clone();
        async move {
            barrier.wait().await;
            first.post(path, &fields).await
        }
    };
    let two = async move {
        barrier.wait().await;
        second.post(path, &fields).await
    };
    tokio::join!(one, two)
}
