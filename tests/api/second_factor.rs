//! The second factor: enrolment where it is required (administrators at sign-in, members at
//! registration), the code step with replay refused and wrong codes locking the pair, recovery
//! codes spent once, re-enrolment that replaces the old secret only once confirmed, turning it
//! off refused while required, and the break glass (console and CLI).

use chrono::Duration;
use diesel::prelude::*;
use orgportal::db::schema::{audit_events, recovery_codes, sessions, totp_secrets};

use crate::helpers::{
    account_id, form_action_with_code, text_of_id, totp_code, Response, TestApp, TestDatabase, ADMIN_EMAIL,
    ADMIN_PASSWORD,
};
use crate::{mailbox, on_both_backends};

on_both_backends!(
    an_administrator_enrols_at_sign_in_before_any_session,
    a_code_works_once_and_a_replay_is_refused,
    two_browsers_sending_one_code_at_once_sign_in_once,
    wrong_codes_count_toward_the_lockout,
    a_recovery_code_signs_in_once,
    a_slow_second_step_starts_again,
    codes_sent_with_the_password_are_taken_at_once,
    re_enrolment_replaces_the_old_secret_only_once_confirmed,
    turning_it_off_is_refused_while_required_and_needs_the_password,
    new_recovery_codes_replace_the_old_ones,
    registration_enrols_unless_every_membership_says_no_second_factor,
    a_password_reset_keeps_the_second_factor,
    an_administrator_resets_another_administrators_second_factor,
    without_the_administrator_rule_the_console_warns,
    the_secret_is_not_stored_in_clear,
    guesses_spread_over_many_addresses_lock_the_second_step,
    a_password_changed_between_the_steps_ends_the_sign_in,
    an_empty_code_shows_the_page_again_without_counting,
    an_enrolment_page_replaced_elsewhere_starts_again,
    a_huge_next_never_breaks_the_second_step,
    a_changed_secret_key_answers_503_and_says_what_to_do,
    signing_out_everywhere_ends_a_sign_in_half_done,
    the_second_step_is_taken_where_the_first_was,
);

const PASSWORD: &str = "quiet-meadow-58-lantern";

/// The same backend, started with the administrators' rule on (the production default).
fn with_admin_rule(app: &TestApp) -> TestApp {
    let database = if app.is_postgres() { TestDatabase::postgres().expect("postgres") } else { TestDatabase::sqlite() };
    let app = TestApp::start(database, &["--require-admin-2fa", "true"]);
    // A first sign-in, with no second factor yet.
    app.remove_second_factor(ADMIN_EMAIL);
    app
}

fn events(app: &TestApp, action: &str) -> i64 {
    audit_events::table.filter(audit_events::action.eq(action)).count().get_result(&mut *app.conn()).unwrap()
}

fn sessions_of(app: &TestApp, email: &str) -> i64 {
    let id = account_id(&mut app.conn(), email);
    sessions::table.filter(sessions::account_id.eq(id)).count().get_result(&mut *app.conn()).unwrap()
}

fn codes_left(app: &TestApp, email: &str) -> i64 {
    let id = account_id(&mut app.conn(), email);
    recovery_codes::table
        .filter(recovery_codes::account_id.eq(id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(&mut *app.conn())
        .unwrap()
}

/// The recovery codes listed on a recovery codes page.
fn recovery_codes_on(page: &Response) -> Vec<String> {
    let list = &page.body[page.body.find(r#"id="recovery-codes""#).expect("the recovery codes list")..];
    let list = &list[..list.find("</ol>").expect("end of list")];
    list.split("<code>").skip(1).filter_map(|part| part.split("</code>").next()).map(str::to_owned).collect()
}

/// Password step only, as a browser posting the sign-in form.
async fn password_step(browser: &mut TestApp, email: &str, password: &str) -> Response {
    browser.get("/login").await.assert_status(200);
    browser.post("/login", &[("email", email), ("password", password)]).await
}

/// An administrator (rule on) enrolled through the sign-in page; returns the recovery codes.
async fn enrolled_admin(app: &mut TestApp) -> Vec<String> {
    let page = password_step(app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let secret = text_of_id(&page.body, "totp-secret").expect("the enrolment page");
    app.authenticator.lock().unwrap().insert(ADMIN_EMAIL.to_owned(), (secret, 0));
    let code = app.fresh_code(ADMIN_EMAIL);
    let done = app.post("/login", &[("code", &code)]).await;
    done.assert_status(200);
    // Continue, as the page's only way onward.
    app.get("/").await.assert_status(200);
    recovery_codes_on(&done)
}

async fn an_administrator_enrols_at_sign_in_before_any_session(app: TestApp) {
    let mut app = with_admin_rule(&app);
    let page = password_step(&mut app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.assert_status(200);
    // The QR code drawn on the server, the otpauth URI and the secret as text, the code field.
    assert!(page.body.contains("<svg role=\"img\""), "{}", page.body);
    let secret = text_of_id(&page.body, "totp-secret").expect("the secret as text");
    let uri = text_of_id(&page.body, "totp-uri").expect("the URI as text");
    assert!(uri.starts_with("otpauth://totp/orgportal:admin%40default.com?secret="), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")) && uri.contains("issuer=orgportal"), "{uri}");
    assert_eq!(form_action_with_code(&page.body), "/login");
    // Nothing is signed in until a code is accepted.
    assert_eq!(sessions_of(&app, ADMIN_EMAIL), 0);
    app.get("/admin").await.assert_redirect("/login?next=%2Fadmin");

    // A wrong code: the same secret again, with a message.
    let wrong = app.post("/login", &[("code", "000000")]).await;
    wrong.assert_status(422);
    assert_eq!(text_of_id(&wrong.body, "totp-secret").as_deref(), Some(secret.as_str()));
    assert!(wrong.body.contains("That code is not right"), "{}", wrong.body);
    assert_eq!(sessions_of(&app, ADMIN_EMAIL), 0);

    let step = app.clock.now().and_utc().timestamp() / 30;
    let done = app.post("/login", &[("code", &totp_code(&secret, step))]).await;
    done.assert_status(200);
    let codes = recovery_codes_on(&done);
    assert_eq!(codes.len(), 10, "{}", done.body);
    assert!(done.body.contains(r#"id="recovery-codes-download""#) && done.body.contains("data:text/plain"));
    assert!(done.body.contains(&crate::helpers::escape_html(&codes[0])));
    assert_eq!(text_of_id(&done.body, "continue"), Some("Continue".to_owned()));
    assert_eq!(sessions_of(&app, ADMIN_EMAIL), 1);
    app.get("/admin").await.assert_status(200);
    let account = app.get("/account").await;
    assert!(account.body.contains("Recovery codes left: <strong>10</strong>"), "{}", account.body);
    assert_eq!(events(&app, "account.second_factor_enrolled"), 1);
    assert_eq!(codes_left(&app, ADMIN_EMAIL), 10);
}

async fn a_code_works_once_and_a_replay_is_refused(app: TestApp) {
    let mut app = with_admin_rule(&app);
    enrolled_admin(&mut app).await;
    let (secret, _) = app.authenticator.lock().unwrap()[ADMIN_EMAIL].clone();
    app.post("/logout", &[]).await.assert_redirect("/login");

    // The next step's code signs in once.
    app.clock.advance(Duration::seconds(30));
    let step = app.clock.now().and_utc().timestamp() / 30;
    let code = totp_code(&secret, step);
    let page = password_step(&mut app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.assert_status(200);
    assert!(page.body.contains(r#"name="code""#) && !page.body.contains("totp-secret"), "the code step, not enrolment");
    app.post("/login", &[("code", &code)]).await.assert_redirect("/");
    app.get("/").await;
    app.post("/logout", &[]).await.assert_redirect("/login");

    // The same code again within its window: refused, and nothing signed in.
    let mut thief = app.client();
    password_step(&mut thief, ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_status(200);
    let replay = thief.post("/login", &[("code", &code)]).await;
    replay.assert_status(422);
    assert!(replay.body.contains("That code is not right"));
    // An earlier step's code is no better than a replay.
    thief.post("/login", &[("code", &totp_code(&secret, step - 1))]).await.assert_status(422);
    assert_eq!(sessions_of(&app, ADMIN_EMAIL), 0);
    // The next step's code works.
    let next = totp_code(&secret, step + 1);
    thief.post("/login", &[("code", &next)]).await.assert_redirect("/");
}

async fn two_browsers_sending_one_code_at_once_sign_in_once(app: TestApp) {
    let mut app = with_admin_rule(&app);
    enrolled_admin(&mut app).await;
    let (secret, _) = app.authenticator.lock().unwrap()[ADMIN_EMAIL].clone();
    app.clock.advance(Duration::seconds(30));
    let step = app.clock.now().and_utc().timestamp() / 30;
    let code = totp_code(&secret, step);
    let mut first = app.client();
    let mut second = app.client();
    password_step(&mut first, ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_status(200);
    password_step(&mut second, ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_status(200);
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
    let (a, b) = tokio::join!(
        async {
            barrier.wait().await;
            first.post("/login", &[("code", &code)]).await
        },
        async {
            barrier.wait().await;
            second.post("/login", &[("code", &code)]).await
        }
    );
    let statuses = [a.status.as_u16(), b.status.as_u16()];
    assert_eq!(statuses.iter().filter(|s| **s == 303).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 1, "{statuses:?}");
    // The enrolment's session plus exactly one of the two.
    assert_eq!(sessions_of(&app, ADMIN_EMAIL), 2);
}

async fn wrong_codes_count_toward_the_lockout(app: TestApp) {
    let mut app = with_admin_rule(&app);
    enrolled_admin(&mut app).await;
    app.post("/logout", &[]).await;
    let mut browser = app.client();
    password_step(&mut browser, ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_status(200);
    for _ in 0..9 {
        browser.post("/login", &[("code", "123456")]).await.assert_status(422);
    }
    let tenth = browser.post("/login", &[("code", "123456")]).await;
    tenth.assert_redirect("/login");
    let page = browser.get("/login").await;
    assert!(page.body.contains("Too many wrong codes"), "{}", page.body);
    // The pair, and the account over every address, each reached ten.
    assert_eq!(events(&app, "account.locked"), 2);
    // The pair is locked: even the right password and a right code get nowhere now.
    let refused = password_step(&mut browser, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    refused.assert_status(422);
    assert!(refused.body.contains("The email address or password is not right."));
    // After the lock, the right code works.
    app.clock.advance(Duration::minutes(16));
    let page = password_step(&mut browser, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.answer_second_factor(ADMIN_EMAIL, page).await.assert_redirect("/");
}

async fn a_recovery_code_signs_in_once(app: TestApp) {
    let mut app = with_admin_rule(&app);
    let codes = enrolled_admin(&mut app).await;
    app.post("/logout", &[]).await;
    password_step(&mut app, ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_status(200);
    // Typed in capitals without the dash, as people do.
    let typed = codes[3].to_uppercase().replace('-', "");
    app.post("/login", &[("code", &typed)]).await.assert_redirect("/");
    let landing = app.get("/").await;
    assert!(landing.body.contains("You used a recovery code; 9 are left."), "{}", landing.body);
    assert_eq!(codes_left(&app, ADMIN_EMAIL), 9);
    assert_eq!(events(&app, "account.recovery_code_used"), 1);
    app.post("/logout", &[]).await;

    password_step(&mut app, ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_status(200);
    app.post("/login", &[("code", &codes[3])]).await.assert_status(422);
    app.post("/login", &[("code", &codes[4])]).await.assert_redirect("/");
    assert_eq!(codes_left(&app, ADMIN_EMAIL), 8);
}

async fn a_slow_second_step_starts_again(app: TestApp) {
    let mut app = with_admin_rule(&app);
    enrolled_admin(&mut app).await;
    app.post("/logout", &[]).await.assert_redirect("/login");
    password_step(&mut app, ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_status(200);
    app.clock.advance(Duration::minutes(11));
    let code = app.fresh_code(ADMIN_EMAIL);
    app.post("/login", &[("code", &code)]).await.assert_redirect("/login");
    let page = app.get("/login").await;
    assert!(page.body.contains("Your sign-in was not finished in time"), "{}", page.body);
    assert_eq!(sessions_of(&app, ADMIN_EMAIL), 0);
    // A code with no password step before it is refused the same way.
    let mut stranger = app.client();
    stranger.get("/login").await;
    stranger.post("/login", &[("code", "123456")]).await.assert_redirect("/login");
}

async fn codes_sent_with_the_password_are_taken_at_once(app: TestApp) {
    let mut app = with_admin_rule(&app);
    enrolled_admin(&mut app).await;
    app.post("/logout", &[]).await;
    let code = app.fresh_code(ADMIN_EMAIL);
    app.get("/login").await;
    app.post("/login", &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD), ("code", &code)])
        .await
        .assert_redirect("/");
    app.post("/logout", &[]).await;
    // A wrong password with a right code reveals nothing and counts as a failure.
    let code = app.fresh_code(ADMIN_EMAIL);
    app.get("/login").await;
    let refused =
        app.post("/login", &[("email", ADMIN_EMAIL), ("password", "not-the-password"), ("code", &code)]).await;
    refused.assert_status(422);
    assert!(refused.body.contains("The email address or password is not right."));
}

async fn re_enrolment_replaces_the_old_secret_only_once_confirmed(app: TestApp) {
    let mut app = with_admin_rule(&app);
    enrolled_admin(&mut app).await;
    let (old_secret, _) = app.authenticator.lock().unwrap()[ADMIN_EMAIL].clone();
    app.get("/account").await;
    // Moving to a new phone takes the current password.
    let refused = app.post("/account/2fa/new", &[("current_password", "not-the-password")]).await;
    refused.assert_status(422);
    assert!(refused.body.contains("This is not your current password."), "{}", refused.body);
    app.post("/account/2fa/new", &[]).await.assert_status(422);
    let pending: i64 =
        totp_secrets::table.filter(totp_secrets::confirmed.eq(false)).count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(pending, 0, "nothing begun without the password");
    let page = app.post("/account/2fa/new", &[("current_password", ADMIN_PASSWORD)]).await;
    page.assert_status(200);
    let new_secret = text_of_id(&page.body, "totp-secret").unwrap();
    assert_ne!(new_secret, old_secret);
    assert!(page.body.contains("keeps working until you confirm"), "{}", page.body);
    // Shown only in answer to the password: a plain GET does not show it again.
    app.get("/account/2fa").await.assert_redirect("/account#second-factor");
    app.get("/account").await;
    let again = app.post("/account/2fa/new", &[("current_password", ADMIN_PASSWORD)]).await;
    assert_eq!(text_of_id(&again.body, "totp-secret"), Some(new_secret.clone()), "the same secret, not a new one");

    // Until confirmed, the old secret signs in.
    let mut other = app.client();
    let step = password_step(&mut other, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    other.answer_second_factor(ADMIN_EMAIL, step).await.assert_redirect("/");

    // A wrong code leaves everything as it was; so does a right code without the password,
    // which does not show the secret again either.
    let wrong = app.post("/account/2fa", &[("code", "99999"), ("current_password", ADMIN_PASSWORD)]).await;
    wrong.assert_status(422);
    assert_eq!(text_of_id(&wrong.body, "totp-secret"), Some(new_secret.clone()));
    app.clock.advance(Duration::seconds(30));
    let now_step = app.clock.now().and_utc().timestamp() / 30;
    let no_password = app.post("/account/2fa", &[("code", &totp_code(&new_secret, now_step))]).await;
    no_password.assert_status(422);
    assert!(!no_password.body.contains(&new_secret), "{}", no_password.body);
    app.get("/account").await;
    let done = app
        .post("/account/2fa", &[("code", &totp_code(&new_secret, now_step)), ("current_password", ADMIN_PASSWORD)])
        .await;
    done.assert_status(200);
    assert_eq!(recovery_codes_on(&done).len(), 10);
    let rows: i64 = totp_secrets::table.count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(rows, 1, "one secret left: the new one");

    // Now the old app's code is refused and the new one's works.
    app.post("/logout", &[]).await;
    password_step(&mut app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    app.post("/login", &[("code", &totp_code(&old_secret, now_step + 1))]).await.assert_status(422);
    app.post("/login", &[("code", &totp_code(&new_secret, now_step + 1))]).await.assert_redirect("/");
}

async fn turning_it_off_is_refused_while_required_and_needs_the_password(app: TestApp) {
    let mut app = with_admin_rule(&app);
    enrolled_admin(&mut app).await;
    app.get("/account").await;
    let refused = app.post("/account/2fa/disable", &[("current_password", ADMIN_PASSWORD)]).await;
    refused.assert_status(409);
    assert!(refused.body.contains("requires two-step sign-in for platform administrators"), "{}", refused.body);
    assert_eq!(codes_left(&app, ADMIN_EMAIL), 10);

    // A member of an organization that requires it, then of none that does.
    let member = "member@example.com";
    let member_id = app.insert_account_without_second_factor(member, PASSWORD, false);
    let org = app.seed_org(&crate::helpers::SeedOrg {
        name: "Strict Co",
        contact: "it@strict.example",
        quota_gb: 100,
        members: 0,
        created_at: app.clock.now(),
    });
    let insert_membership = |no_second_factor: bool| {
        let now = app.clock.now();
        diesel::insert_into(orgportal::db::schema::memberships::table)
            .values((
                orgportal::db::schema::memberships::organization_id.eq(org),
                orgportal::db::schema::memberships::account_id.eq(member_id),
                orgportal::db::schema::memberships::status.eq("active"),
                orgportal::db::schema::memberships::no_second_factor.eq(no_second_factor),
                orgportal::db::schema::memberships::is_delegate.eq(false),
                orgportal::db::schema::memberships::unsigned_containers.eq(false),
                orgportal::db::schema::memberships::release_protections.eq(false),
                orgportal::db::schema::memberships::recover.eq(false),
                orgportal::db::schema::memberships::quota_gb.eq(1_i64),
                orgportal::db::schema::memberships::created_at.eq(now),
                orgportal::db::schema::memberships::updated_at.eq(now),
            ))
            .execute(&mut *app.conn())
            .unwrap();
    };
    insert_membership(false);
    let mut browser = app.client();
    let enrol = password_step(&mut browser, member, PASSWORD).await;
    assert!(enrol.body.contains("totp-secret"), "the membership requires enrolment");
    browser.answer_second_factor(member, enrol).await.assert_status(200);
    browser.get("/account").await;
    let refused = browser.post("/account/2fa/disable", &[("current_password", PASSWORD)]).await;
    refused.assert_status(409);
    assert!(refused.body.contains("Strict Co requires two-step sign-in"), "{}", refused.body);

    diesel::update(orgportal::db::schema::memberships::table)
        .set(orgportal::db::schema::memberships::no_second_factor.eq(true))
        .execute(&mut *app.conn())
        .unwrap();
    let wrong = browser.post("/account/2fa/disable", &[("current_password", "wrong-password-here")]).await;
    wrong.assert_status(422);
    assert!(wrong.body.contains("This is not your current password."));
    browser.post("/account/2fa/disable", &[("current_password", PASSWORD)]).await.assert_redirect("/account");
    assert_eq!(codes_left(&app, member), 0);
    assert_eq!(events(&app, "account.second_factor_disabled"), 1);
    browser.post("/logout", &[]).await;
    // Signing in now takes the password alone.
    password_step(&mut browser, member, PASSWORD).await.assert_redirect("/");
}

async fn new_recovery_codes_replace_the_old_ones(app: TestApp) {
    let mut app = with_admin_rule(&app);
    let old = enrolled_admin(&mut app).await;
    app.get("/account").await;
    // The current password first: a browser left signed in is not enough.
    let refused = app.post("/account/2fa/recovery-codes", &[("current_password", "wrong-password-here")]).await;
    refused.assert_status(422);
    assert!(refused.body.contains("This is not your current password."));
    assert_eq!(codes_left(&app, ADMIN_EMAIL), 10, "the old codes still stand");
    let page = app.post("/account/2fa/recovery-codes", &[("current_password", ADMIN_PASSWORD)]).await;
    page.assert_status(200);
    let new = recovery_codes_on(&page);
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|c| !old.contains(c)));
    app.post("/logout", &[]).await;
    password_step(&mut app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    app.post("/login", &[("code", &old[0])]).await.assert_status(422);
    app.post("/login", &[("code", &new[0])]).await.assert_redirect("/");

    // An account without a second factor has no recovery codes to make.
    let mut plain = app.client();
    plain.insert_account_without_second_factor("plain@example.com", PASSWORD, false);
    plain.login("plain@example.com", PASSWORD).await.assert_redirect("/");
    plain.get("/account").await;
    plain.post("/account/2fa/recovery-codes", &[("current_password", PASSWORD)]).await.assert_status(409);
}

async fn registration_enrols_unless_every_membership_says_no_second_factor(mut app: TestApp) {
    app.login_as_admin().await;
    app.get("/admin/organizations/new").await;
    app.post(
        "/admin/organizations",
        &[("name", "Enrol Co"), ("quota_gb", "100"), ("seats", ""), ("admin_email", "first@example.com")],
    )
    .await
    .assert_status(303);
    let org = app.org_id("Enrol Co");
    mailbox::deliver_all(&app);
    let token = mailbox::tokens_to(&app, "first@example.com").pop().unwrap();
    let mut first = app.client();
    first.get(&format!("/register/{token}")).await.assert_status(200);
    let form = [("display_name", "Fay First"), ("password", PASSWORD), ("password_confirm", PASSWORD)];
    let enrol = first.post(&format!("/register/{token}"), &form).await;
    enrol.assert_status(200);
    assert!(enrol.body.contains("totp-secret") && enrol.body.contains("Your account is registered"), "{}", enrol.body);
    assert_eq!(form_action_with_code(&enrol.body), format!("/register/{token}"));
    assert_eq!(sessions_of(&app, "first@example.com"), 0, "no session before the second factor");
    let done = first.answer_second_factor("first@example.com", enrol).await;
    done.assert_status(200);
    assert_eq!(recovery_codes_on(&done).len(), 10);
    let account = first.get("/account").await;
    assert!(account.body.contains("Your account is set up.") && account.body.contains("Active"), "{}", account.body);

    // The first administrator adds two users; one with No 2nd Factor.
    first.get(&format!("/orgs/{org}/users/new")).await.assert_status(200);
    first
        .post(&format!("/orgs/{org}/users"), &[("email", "strict@example.com"), ("quota_gb", "1")])
        .await
        .assert_status(303);
    first.get(&format!("/orgs/{org}/users/new")).await;
    first
        .post(
            &format!("/orgs/{org}/users"),
            &[("email", "relaxed@example.com"), ("quota_gb", "1"), ("no_second_factor", "on")],
        )
        .await
        .assert_status(303);
    mailbox::deliver_all(&app);
    let relaxed_token = mailbox::tokens_to(&app, "relaxed@example.com").pop().unwrap();
    let mut relaxed = app.client();
    relaxed.get(&format!("/register/{relaxed_token}")).await;
    let form = [("display_name", "Rae Relaxed"), ("password", PASSWORD), ("password_confirm", PASSWORD)];
    relaxed.post(&format!("/register/{relaxed_token}"), &form).await.assert_redirect("/account");
    let page = relaxed.get("/account").await;
    assert!(page.body.contains("Awaiting validation"), "{}", page.body);

    let strict_token = mailbox::tokens_to(&app, "strict@example.com").pop().unwrap();
    let mut strict = app.client();
    strict.get(&format!("/register/{strict_token}")).await;
    let form = [("display_name", "Sid Strict"), ("password", PASSWORD), ("password_confirm", PASSWORD)];
    let enrol = strict.post(&format!("/register/{strict_token}"), &form).await;
    assert!(enrol.body.contains("totp-secret"), "awaiting validation, No 2nd Factor off: enrol");
    strict.answer_second_factor("strict@example.com", enrol).await.assert_status(200);
    let page = strict.get("/account").await;
    assert!(page.body.contains("Awaiting validation") && page.body.contains("Recovery codes left"), "{}", page.body);
    // The Delegate was told about both, each once.
    mailbox::deliver_all(&app);
    let ready: Vec<_> = mailbox::messages(&app)
        .into_iter()
        .filter(|(_, to, text)| to == "first@example.com" && text.contains("ready for validation"))
        .collect();
    assert_eq!(ready.len(), 2, "{ready:?}");
}

async fn a_password_reset_keeps_the_second_factor(app: TestApp) {
    let mut app = with_admin_rule(&app);
    enrolled_admin(&mut app).await;
    app.post("/logout", &[]).await;
    let mut browser = app.client();
    browser.get("/password-reset").await;
    browser.post("/password-reset", &[("email", ADMIN_EMAIL)]).await;
    mailbox::deliver_all(&app);
    let text = mailbox::messages(&app)
        .into_iter()
        .filter(|(_, to, _)| to == ADMIN_EMAIL)
        .map(|(_, _, text)| text)
        .find(|text| text.contains("/password-reset/"))
        .expect("a reset email");
    let start = text.find("/password-reset/").unwrap() + "/password-reset/".len();
    let token: String =
        text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    browser.get(&format!("/password-reset/{token}")).await.assert_status(200);
    let new_password = "copper-lantern-77-meadow";
    browser
        .post(&format!("/password-reset/{token}"), &[("password", new_password), ("password_confirm", new_password)])
        .await;
    assert_eq!(codes_left(&app, ADMIN_EMAIL), 10, "the reset left the second factor alone");
    let step = password_step(&mut browser, ADMIN_EMAIL, new_password).await;
    assert!(step.body.contains(r#"name="code""#) && !step.body.contains("totp-secret"), "{}", step.body);
    browser.answer_second_factor(ADMIN_EMAIL, step).await.assert_redirect("/");
}

async fn an_administrator_resets_another_administrators_second_factor(app: TestApp) {
    let mut app = with_admin_rule(&app);
    enrolled_admin(&mut app).await;
    let other = "other.admin@example.com";
    let other_id = app.insert_account(other, PASSWORD, true);
    let mut other_browser = app.client();
    other_browser.login(other, PASSWORD).await.assert_redirect("/");
    assert_eq!(codes_left(&app, other), 10);

    let page = app.get("/admin/administrators").await;
    assert!(page.body.contains(&format!("/admin/administrators/{other_id}/reset-2fa")), "{}", page.body);
    let path = format!("/admin/administrators/{other_id}/reset-2fa");
    let wrong = app.post(&path, &[("password", "not-my-password")]).await;
    wrong.assert_status(422);
    assert!(wrong.body.contains("Your password was not right"));
    assert_eq!(codes_left(&app, other), 10, "nothing was reset");

    app.post(&path, &[("password", ADMIN_PASSWORD)]).await.assert_redirect("/admin/administrators");
    assert_eq!(codes_left(&app, other), 0);
    assert_eq!(sessions_of(&app, other), 0, "their sessions ended");
    other_browser.get("/account").await.assert_status(303);
    assert_eq!(events(&app, "account.second_factor_reset"), 1);
    // They are told, by email, who did it.
    mailbox::deliver_all(&app);
    let notices: Vec<String> = mailbox::messages(&app)
        .into_iter()
        .filter(|(_, to, text)| to == other && text.contains("Two-step sign-in of your account was removed"))
        .map(|(_, _, text)| text)
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].contains(&format!("removed by {ADMIN_EMAIL}")), "{}", notices[0]);
    // Their next sign-in enrols again.
    let again = password_step(&mut other_browser, other, PASSWORD).await;
    assert!(again.body.contains("totp-secret"), "{}", again.body);

    // Not oneself; not someone who is not an administrator.
    let me = account_id(&mut app.conn(), ADMIN_EMAIL);
    app.get("/admin/administrators").await;
    app.post(&format!("/admin/administrators/{me}/reset-2fa"), &[("password", ADMIN_PASSWORD)])
        .await
        .assert_status(409);
    let plain = app.insert_account_without_second_factor("plain@example.com", PASSWORD, false);
    app.post(&format!("/admin/administrators/{plain}/reset-2fa"), &[("password", ADMIN_PASSWORD)])
        .await
        .assert_status(409);
    app.post("/admin/administrators/999999999/reset-2fa", &[("password", ADMIN_PASSWORD)]).await.assert_status(404);
    assert_eq!(codes_left(&app, ADMIN_EMAIL), 10);
}

async fn without_the_administrator_rule_the_console_warns(mut app: TestApp) {
    // The test default: ORGPORTAL_REQUIRE_ADMIN_2FA=false; and a default organization whose
    // membership does not ask for one either.
    diesel::update(orgportal::db::schema::memberships::table)
        .set(orgportal::db::schema::memberships::no_second_factor.eq(true))
        .execute(&mut *app.conn())
        .unwrap();
    app.remove_second_factor(ADMIN_EMAIL);
    app.login_as_admin().await;
    let page = app.get("/admin").await;
    assert!(page.body.contains(r#"id="second-factor-warning""#), "{}", page.body);
    // Enrolled from the account page, the warning goes.
    app.get("/account/2fa").await.assert_redirect("/account#second-factor");
    app.get("/account").await;
    let enrol = app.post("/account/2fa/new", &[]).await;
    app.answer_second_factor(ADMIN_EMAIL, enrol).await.assert_status(200);
    let page = app.get("/admin").await;
    assert!(!page.body.contains(r#"id="second-factor-warning""#), "{}", page.body);
    // Turning it off is allowed here (no rule requires it).
    app.get("/account").await;
    app.post("/account/2fa/disable", &[("current_password", ADMIN_PASSWORD)]).await.assert_redirect("/account");
}

async fn the_secret_is_not_stored_in_clear(app: TestApp) {
    let mut app = with_admin_rule(&app);
    let codes = enrolled_admin(&mut app).await;
    let (secret, _) = app.authenticator.lock().unwrap()[ADMIN_EMAIL].clone();
    let stored: String = totp_secrets::table.select(totp_secrets::secret_sealed).first(&mut *app.conn()).unwrap();
    assert!(stored.starts_with("sealed-v1:") && !stored.contains(&secret), "{stored}");
    let hashes: Vec<String> = recovery_codes::table.select(recovery_codes::code_hash).load(&mut *app.conn()).unwrap();
    for code in &codes {
        let bare = code.replace('-', "");
        assert!(hashes.iter().all(|h| !h.contains(&bare) && !h.contains(code.as_str())));
    }
}

/// POST `/login` with `fields` from the client `address` (behind a trusted proxy).
async fn send(browser: &mut TestApp, address: String, fields: Vec<(&'static str, String)>) -> Response {
    let token = browser.csrf_token().unwrap_or_default();
    let mut all = vec![("csrf_token", token)];
    all.extend(fields);
    let body = serde_urlencoded::to_string(&all).unwrap();
    let request = actix_web::test::TestRequest::post()
        .uri("/login")
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .insert_header(("x-forwarded-for", address))
        .set_payload(body);
    browser.send(request).await
}

async fn guesses_spread_over_many_addresses_lock_the_second_step(app: TestApp) {
    let mut app = with_admin_rule(&app);
    enrolled_admin(&mut app).await;
    // Trust the test client as a proxy, so each request names its own client address.
    let mut config = (*app.state.config).clone();
    config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    app.state.config = std::sync::Arc::new(config);
    for n in 0..10 {
        let mut guesser = app.client();
        guesser.get("/login").await;
        let address = format!("198.51.100.{n}");
        let fields = vec![("email", ADMIN_EMAIL.to_owned()), ("password", ADMIN_PASSWORD.to_owned())];
        send(&mut guesser, address.clone(), fields).await.assert_status(200);
        let guess = send(&mut guesser, address, vec![("code", "000000".to_owned())]).await;
        if n < 9 {
            guess.assert_status(422);
        } else {
            guess.assert_redirect("/login");
        }
    }
    // From an eleventh address, even the right code waits out the lock.
    let mut owner = app.client();
    owner.get("/login").await;
    let fields = vec![("email", ADMIN_EMAIL.to_owned()), ("password", ADMIN_PASSWORD.to_owned())];
    send(&mut owner, "203.0.113.9".into(), fields).await.assert_status(200);
    let code = app.fresh_code(ADMIN_EMAIL);
    send(&mut owner, "203.0.113.9".into(), vec![("code", code)]).await.assert_redirect("/login");
    assert_eq!(sessions_of(&app, ADMIN_EMAIL), 1, "only the enrolment's session");
}

async fn a_password_changed_between_the_steps_ends_the_sign_in(app: TestApp) {
    let mut app = with_admin_rule(&app);
    enrolled_admin(&mut app).await;
    // An attacker with the password reaches the code step...
    let mut attacker = app.client();
    password_step(&mut attacker, ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_status(200);
    // ...the owner changes the password...
    app.get("/account").await;
    let new_password = "copper-lantern-77-meadow";
    app.post(
        "/account/password",
        &[("current_password", ADMIN_PASSWORD), ("password", new_password), ("password_confirm", new_password)],
    )
    .await
    .assert_redirect("/account");
    // ...and a right code no longer completes the attacker's sign-in.
    let code = app.fresh_code(ADMIN_EMAIL);
    attacker.post("/login", &[("code", &code)]).await.assert_redirect("/login");
    let page = attacker.get("/login").await;
    assert!(
        page.body.contains("The password of this account changed, or all its sessions were ended"),
        "{}",
        page.body
    );
    assert_eq!(sessions_of(&app, ADMIN_EMAIL), 1);
}

async fn an_empty_code_shows_the_page_again_without_counting(app: TestApp) {
    let mut app = with_admin_rule(&app);
    enrolled_admin(&mut app).await;
    app.post("/logout", &[]).await.assert_redirect("/login");
    password_step(&mut app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for blank in [" ", "   "] {
        let again = app.post("/login", &[("code", blank)]).await;
        again.assert_status(422);
        assert!(again.body.contains("Enter the six-digit code"), "{}", again.body);
    }
    let failures: i64 = audit_events::table
        .filter(audit_events::action.eq("account.sign_in_failed"))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(failures, 0, "nothing typed, nothing counted");
    let code = app.fresh_code(ADMIN_EMAIL);
    app.post("/login", &[("code", &code)]).await.assert_redirect("/");
}

async fn an_enrolment_page_replaced_elsewhere_starts_again(app: TestApp) {
    let mut app = with_admin_rule(&app);
    let first = password_step(&mut app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let shown = text_of_id(&first.body, "totp-secret").unwrap();
    // Someone else with the password opens an enrolment page too: a new pending secret.
    let mut other = app.client();
    let second = password_step(&mut other, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let other_secret = text_of_id(&second.body, "totp-secret").unwrap();
    assert_ne!(shown, other_secret);
    // The first page neither confirms a secret it did not show nor shows the other one.
    let step = app.clock.now().and_utc().timestamp() / 30;
    let answer = app.post("/login", &[("code", &totp_code(&shown, step))]).await;
    answer.assert_redirect("/login");
    assert!(!answer.body.contains(&other_secret));
    let page = app.get("/login").await;
    assert!(page.body.contains("being set up for this account elsewhere"), "{}", page.body);
    assert_eq!(sessions_of(&app, ADMIN_EMAIL), 0);
    let confirmed: i64 =
        totp_secrets::table.filter(totp_secrets::confirmed.eq(true)).count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(confirmed, 0);
}

async fn a_huge_next_never_breaks_the_second_step(app: TestApp) {
    let mut app = with_admin_rule(&app);
    enrolled_admin(&mut app).await;
    app.post("/logout", &[]).await.assert_redirect("/login");
    let next = format!("/{}", "\"".repeat(1500));
    app.get("/login").await;
    let step = app.post("/login", &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD), ("next", &next)]).await;
    step.assert_status(200);
    let code = app.fresh_code(ADMIN_EMAIL);
    app.post("/login", &[("code", &code)]).await.assert_redirect("/");
}

async fn a_changed_secret_key_answers_503_and_says_what_to_do(mut app: TestApp) {
    crate::log_capture::capture();
    // The secrets were sealed under the test key; the portal now runs with another one.
    app.state.second_factor_keys = orgportal::second_factor::Keys::derive(&[9u8; 64]);
    let step = password_step(&mut app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    step.assert_status(200);
    let code = app.fresh_code(ADMIN_EMAIL);
    let refused = app.post("/login", &[("code", &code)]).await;
    refused.assert_status(503);
    assert!(refused.body.contains("Two-step sign-in unavailable"), "{}", refused.body);
    assert!(!refused.body.contains("secret key"), "the page says nothing of the cause");
    assert_eq!(sessions_of(&app, ADMIN_EMAIL), 0);
    let log = crate::log_capture::lines();
    assert!(log.iter().any(|line| line.contains("admin reset-2fa")), "the log says what to do");
}

async fn signing_out_everywhere_ends_a_sign_in_half_done(app: TestApp) {
    let mut app = with_admin_rule(&app);
    enrolled_admin(&mut app).await;
    // Someone with the password waits at the code step (a copy of that cookie kept, too).
    let mut attacker = app.client();
    password_step(&mut attacker, ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_status(200);
    let mut copy = attacker.copy_of_cookies();
    // The owner signs out everywhere else.
    app.get("/account").await;
    app.post("/account/sessions/end-others", &[]).await.assert_redirect("/account");
    for browser in [&mut attacker, &mut copy] {
        let code = app.fresh_code(ADMIN_EMAIL);
        browser.post("/login", &[("code", &code)]).await.assert_redirect("/login");
    }
    assert_eq!(sessions_of(&app, ADMIN_EMAIL), 1, "only the owner's");
    // The owner's own next sign-in is not affected.
    let mut owner = app.client();
    owner.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_redirect("/");
}

async fn the_second_step_is_taken_where_the_first_was(app: TestApp) {
    let mut app = with_admin_rule(&app);
    enrolled_admin(&mut app).await;
    app.post("/logout", &[]).await.assert_redirect("/login");
    password_step(&mut app, ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_status(200);
    // A code sent to a registration address does not finish a sign-in begun on /login.
    let code = app.fresh_code(ADMIN_EMAIL);
    app.post("/register/any-token-at-all", &[("code", &code)]).await.assert_redirect("/login");
    assert_eq!(sessions_of(&app, ADMIN_EMAIL), 0);
}
