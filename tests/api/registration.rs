//! `/register/{token}`: opening a link shows who invited the address and uses nothing up;
//! registering sets the name and password, moves the memberships on, tells the Delegates and
//! signs the person in; an address that already has an account accepts instead. Each link
//! works once; expired, used, superseded, withdrawn and unknown links each say so.

use chrono::Duration;
use diesel::prelude::*;
use orgportal::db::schema::{accounts, audit_events, invitations, memberships, outbox, spent_invitations};
use orgportal::registration::token_hash;

use crate::helpers::{account_id, enrolment_email, Response, TestApp, ADMIN_EMAIL};
use crate::{mailbox, on_both_backends};

on_both_backends!(
    opening_a_link_shows_the_inviter_and_uses_nothing_up,
    a_first_administrator_registers_and_is_active_at_once,
    a_registered_user_awaits_validation_sees_nothing_and_delegates_are_told,
    a_used_link_says_so_and_changes_nothing,
    an_expired_link_says_so,
    a_resent_link_replaces_the_old_one,
    a_withdrawn_invitation_says_so,
    an_unknown_link_is_not_found,
    registering_through_one_organization_covers_the_other,
    refusals_mark_each_field_and_keep_the_name,
    two_submits_at_once_register_once,
    an_existing_account_is_invited_and_accepts,
    delegates_cannot_tell_whether_an_address_had_an_account,
    the_account_page_changes_the_display_name,
);

const PASSWORD: &str = "quiet-meadow-58-lantern";
const PERSON: &str = "new.person@example.com";

async fn org_with_admin(app: &mut TestApp, name: &str, admin: &str) -> i64 {
    app.get("/admin/organizations/new").await.assert_status(200);
    app.post("/admin/organizations", &[("name", name), ("quota_gb", "100"), ("seats", ""), ("admin_email", admin)])
        .await
        .assert_status(303);
    app.org_id(name)
}

async fn add_user(app: &mut TestApp, org: i64, email: &str) {
    app.get(&format!("/orgs/{org}/users/new")).await.assert_status(200);
    app.post(&format!("/orgs/{org}/users"), &[("email", email), ("quota_gb", "1")]).await.assert_status(303);
}

/// The last registration token emailed to `email` (read from the delivered `.eml` files).
fn last_token(app: &TestApp, email: &str) -> String {
    mailbox::deliver_all(app);
    mailbox::tokens_to(app, email).pop().expect("a registration link was emailed")
}

/// Register through the form, then set up the second factor where the page asks for one.
async fn register(browser: &mut TestApp, token: &str, name: &str) -> Response {
    browser.get(&format!("/register/{token}")).await.assert_status(200);
    let response = browser
        .post(
            &format!("/register/{token}"),
            &[("display_name", name), ("password", PASSWORD), ("password_confirm", PASSWORD)],
        )
        .await;
    match enrolment_email(&response.body) {
        Some(email) => browser.answer_second_factor(&email, response).await,
        None => response,
    }
}

fn membership_status(app: &TestApp, org: i64, email: &str) -> String {
    let account = account_id(&mut app.conn(), email);
    memberships::table
        .filter(memberships::organization_id.eq(org))
        .filter(memberships::account_id.eq(account))
        .filter(memberships::status.ne("removed"))
        .select(memberships::status)
        .first(&mut *app.conn())
        .unwrap()
}

fn account_row(app: &TestApp, email: &str) -> (String, String, bool) {
    let (status, name, hash): (String, String, Option<String>) = accounts::table
        .filter(accounts::email.eq(email))
        .select((accounts::status, accounts::display_name, accounts::password_hash))
        .first(&mut *app.conn())
        .unwrap();
    (status, name, hash.is_some())
}

fn outbox_to(app: &TestApp, email: &str) -> Vec<(String, String)> {
    outbox::table
        .filter(outbox::recipient.eq(email))
        .order(outbox::id.asc())
        .select((outbox::kind, outbox::subject))
        .load(&mut *app.conn())
        .unwrap()
}

fn audit_actions(app: &TestApp, target: &str) -> Vec<String> {
    audit_events::table
        .filter(audit_events::target.eq(target))
        .order(audit_events::id.asc())
        .select(audit_events::action)
        .load(&mut *app.conn())
        .unwrap()
}

async fn opening_a_link_shows_the_inviter_and_uses_nothing_up(mut app: TestApp) {
    app.login_as_admin().await;
    let org = org_with_admin(&mut app, "Open Co", ADMIN_EMAIL).await;
    add_user(&mut app, org, PERSON).await;
    let token = last_token(&app, PERSON);
    let mut person = app.client();
    for _ in 0..2 {
        let page = person.get(&format!("/register/{token}")).await;
        page.assert_status(200);
        assert!(page.body.contains("You were invited by Open Co"), "{}", page.body);
        assert!(page.body.contains(PERSON) && page.body.contains(r#"name="display_name""#));
    }
    let live: i64 = invitations::table
        .filter(invitations::token_hash.eq(token_hash(&token)))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(live, 1, "opening the page used nothing up");
    assert_eq!(account_row(&app, PERSON).0, "invited");
}

async fn a_first_administrator_registers_and_is_active_at_once(mut app: TestApp) {
    app.login_as_admin().await;
    let org = org_with_admin(&mut app, "First Co", "first.admin@example.com").await;
    let token = last_token(&app, "first.admin@example.com");
    let mut person = app.client();
    let page = person.get(&format!("/register/{token}")).await;
    assert!(page.body.contains("You were invited by First Co"), "{}", page.body);
    register(&mut person, &token, "Fran First").await.assert_lands_on("/account");

    assert_eq!(account_row(&app, "first.admin@example.com"), ("active".into(), "Fran First".into(), true));
    assert_eq!(membership_status(&app, org, "first.admin@example.com"), "active");
    // Signed in, and the organization's pages are open.
    let account = person.get("/account").await;
    account.assert_status(200);
    assert!(account.body.contains("Your account is set up.") && account.body.contains("Active"), "{}", account.body);
    person.get(&format!("/orgs/{org}/users")).await.assert_status(200);
    // No one to ask for validation.
    let kinds: Vec<String> = outbox::table
        .filter(outbox::kind.eq("ready_for_validation"))
        .select(outbox::kind)
        .load(&mut *app.conn())
        .unwrap();
    assert!(kinds.is_empty());
    let actions = audit_actions(&app, "first.admin@example.com");
    assert!(
        actions.contains(&"account.registered".to_owned()) && actions.contains(&"membership.registered".to_owned())
    );

    // A platform administrator's invitation registers the same way, active at once.
    app.get("/admin/administrators").await;
    app.post("/admin/administrators", &[("email", "second.admin@example.com")]).await.assert_status(303);
    let token = last_token(&app, "second.admin@example.com");
    let mut second = app.client();
    let page = second.get(&format!("/register/{token}")).await;
    assert!(page.body.contains("the platform administrators"), "{}", page.body);
    register(&mut second, &token, "Sam Second").await.assert_lands_on("/account");
    second.get("/admin/organizations").await.assert_status(200);
}

async fn a_registered_user_awaits_validation_sees_nothing_and_delegates_are_told(mut app: TestApp) {
    app.login_as_admin().await;
    let org = org_with_admin(&mut app, "Wait Co", ADMIN_EMAIL).await;
    // A second active Delegate, who is told too.
    let delegate = app.insert_account("second.delegate@example.com", PASSWORD, false);
    let now = app.clock.now();
    diesel::insert_into(memberships::table)
        .values((
            memberships::organization_id.eq(org),
            memberships::account_id.eq(delegate),
            memberships::status.eq("active"),
            memberships::is_delegate.eq(true),
            memberships::quota_gb.eq(0i64),
            memberships::created_at.eq(now),
            memberships::updated_at.eq(now),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    add_user(&mut app, org, PERSON).await;
    let token = last_token(&app, PERSON);
    let mut person = app.client();
    register(&mut person, &token, "Zoë Newcomer").await.assert_lands_on("/account");

    assert_eq!(membership_status(&app, org, PERSON), "awaiting_validation");
    let since: Option<chrono::NaiveDateTime> = memberships::table
        .filter(memberships::organization_id.eq(org))
        .filter(memberships::account_id.eq(account_id(&mut app.conn(), PERSON)))
        .select(memberships::awaiting_since)
        .first(&mut *app.conn())
        .unwrap();
    assert!(since.is_some());

    // Each active Delegate got "ready for validation", naming the person, with the link.
    mailbox::deliver_all(&app);
    for delegate in [ADMIN_EMAIL, "second.delegate@example.com"] {
        let sent = outbox_to(&app, delegate);
        assert!(
            sent.iter().any(|(kind, subject)| kind == "ready_for_validation" && subject.contains("Zoë Newcomer")),
            "{delegate}: {sent:?}"
        );
        let text = mailbox::messages(&app)
            .into_iter()
            .filter(|(_, to, text)| to == delegate && text.contains("awaits validation"))
            .map(|(_, _, text)| text)
            .next()
            .expect("the message was delivered");
        assert!(text.contains(&format!("/orgs/{org}/users?status=awaiting_validation")), "{text}");
        assert!(text.contains("Zoë Newcomer") && text.contains(PERSON), "{text}");
        assert!(text.contains(&format!("help address is {ADMIN_EMAIL}")), "{text}");
    }
    assert!(outbox_to(&app, PERSON).iter().all(|(kind, _)| kind != "ready_for_validation"));

    // The person sees where they stand, and nothing of the organization.
    let account = person.get("/account").await;
    assert!(account.body.contains("Awaiting validation") && account.body.contains("will validate"), "{}", account.body);
    for path in [format!("/orgs/{org}"), format!("/orgs/{org}/users"), format!("/orgs/{org}/audit")] {
        person.get(&path).await.assert_status(403);
    }
    let home = person.get("/").await;
    home.assert_status(200);
    assert!(!home.body.contains(&format!("/orgs/{org}")), "{}", home.body);
    // Signing in again later works the same.
    let mut later = app.client();
    later.login(PERSON, PASSWORD).await.assert_status(303);
    later.get(&format!("/orgs/{org}/users")).await.assert_status(403);

    // The Delegate's list shows the name and since when the person waits.
    let list = app.get(&format!("/orgs/{org}/users")).await;
    assert!(list.body.contains("Zoë Newcomer"), "{}", list.body);
    let person_id = account_id(&mut app.conn(), PERSON);
    assert!(list.body.contains("Awaiting validation (1)") && list.body.contains("waiting since"), "{}", list.body);
    let panel = list.body.find(&format!(r#"data-awaiting-account-id="{person_id}""#)).expect("listed first");
    assert!(panel < list.body.find("<table").unwrap(), "above the table");
    // The audit trail names the person too.
    let audit = app.get(&format!("/orgs/{org}/audit")).await;
    assert!(audit.body.contains("membership.registered") || audit.body.contains("registered"), "{}", audit.body);
    assert!(audit.body.contains("Zoë Newcomer"), "{}", audit.body);

    // Validation makes the membership active.
    app.post(&format!("/orgs/{org}/users/{person_id}/validate"), &[]).await.assert_status(303);
    assert_eq!(membership_status(&app, org, PERSON), "active");
    assert!(person.get("/account").await.body.contains("Active"));
}

async fn a_used_link_says_so_and_changes_nothing(mut app: TestApp) {
    app.login_as_admin().await;
    let org = org_with_admin(&mut app, "Used Co", ADMIN_EMAIL).await;
    add_user(&mut app, org, PERSON).await;
    let token = last_token(&app, PERSON);
    let mut person = app.client();
    register(&mut person, &token, "Una Used").await.assert_lands_on("/account");
    let hash_before = app.password_hash(PERSON);

    let mut other = app.client();
    other.get("/login").await;
    let page = other.get(&format!("/register/{token}")).await;
    page.assert_status(410);
    assert!(page.body.contains("already used") && !page.body.contains(r#"name="password""#), "{}", page.body);
    assert!(page.body.contains(ADMIN_EMAIL), "names the Organization Admin Email: {}", page.body);
    let again = other
        .post(
            &format!("/register/{token}"),
            &[
                ("display_name", "Mallory"),
                ("password", "other-strong-pass-9911"),
                ("password_confirm", "other-strong-pass-9911"),
            ],
        )
        .await;
    again.assert_status(410);
    assert_eq!(app.password_hash(PERSON), hash_before);
    assert_eq!(account_row(&app, PERSON).1, "Una Used");
}

async fn an_expired_link_says_so(mut app: TestApp) {
    app.login_as_admin().await;
    let org = org_with_admin(&mut app, "Late Co", ADMIN_EMAIL).await;
    add_user(&mut app, org, PERSON).await;
    let token = last_token(&app, PERSON);
    app.clock.advance(Duration::days(6) + Duration::hours(23));
    app.client().get(&format!("/register/{token}")).await.assert_status(200);
    app.clock.advance(Duration::hours(2));
    let mut person = app.client();
    person.get("/login").await;
    let page = person.get(&format!("/register/{token}")).await;
    page.assert_status(410);
    assert!(page.body.contains("has expired") && page.body.contains(ADMIN_EMAIL), "{}", page.body);
    assert!(!page.body.contains(r#"name="password""#));
    person
        .post(
            &format!("/register/{token}"),
            &[("display_name", "Lee"), ("password", PASSWORD), ("password_confirm", PASSWORD)],
        )
        .await
        .assert_status(410);
    assert_eq!(account_row(&app, PERSON), ("invited".into(), String::new(), false));
    assert_eq!(membership_status(&app, org, PERSON), "invited");
}

async fn a_resent_link_replaces_the_old_one(mut app: TestApp) {
    app.login_as_admin().await;
    let org = org_with_admin(&mut app, "Resend Co", ADMIN_EMAIL).await;
    add_user(&mut app, org, PERSON).await;
    let old = last_token(&app, PERSON);
    let person_id = account_id(&mut app.conn(), PERSON);
    app.get(&format!("/orgs/{org}/users")).await;
    app.post(&format!("/orgs/{org}/users/{person_id}/resend"), &[]).await.assert_status(303);
    let new = last_token(&app, PERSON);
    assert_ne!(old, new);
    let mut person = app.client();
    let page = person.get(&format!("/register/{old}")).await;
    page.assert_status(410);
    assert!(page.body.contains("replaced by a newer one") && page.body.contains("most recent invitation email"));
    register(&mut person, &new, "Rae Resent").await.assert_lands_on("/account");
    // Only hashes are kept of the spent links.
    let spent: Vec<String> =
        spent_invitations::table.select(spent_invitations::token_hash).load(&mut *app.conn()).unwrap();
    assert!(spent.contains(&token_hash(&old)) && !spent.contains(&old));
}

async fn a_withdrawn_invitation_says_so(mut app: TestApp) {
    app.login_as_admin().await;
    let org = org_with_admin(&mut app, "Revoke Co", ADMIN_EMAIL).await;
    add_user(&mut app, org, PERSON).await;
    let token = last_token(&app, PERSON);
    let person_id = account_id(&mut app.conn(), PERSON);
    app.get(&format!("/orgs/{org}/users")).await;
    app.post(&format!("/orgs/{org}/users/{person_id}/remove"), &[]).await.assert_status(303);
    let page = app.client().get(&format!("/register/{token}")).await;
    page.assert_status(410);
    assert!(page.body.contains("was withdrawn") && page.body.contains(ADMIN_EMAIL), "{}", page.body);
}

async fn an_unknown_link_is_not_found(mut app: TestApp) {
    let page = app.get("/register/NoSuchTokenAtAll0000000000000000000000000000").await;
    page.assert_status(404);
    assert!(page.body.contains("not valid") && !page.body.contains(r#"name="password""#));
}

async fn registering_through_one_organization_covers_the_other(mut app: TestApp) {
    app.login_as_admin().await;
    let alpha = org_with_admin(&mut app, "Alpha Co", ADMIN_EMAIL).await;
    let beta = org_with_admin(&mut app, "Beta Co", ADMIN_EMAIL).await;
    add_user(&mut app, alpha, PERSON).await;
    let alpha_token = last_token(&app, PERSON);
    add_user(&mut app, beta, PERSON).await;
    let beta_token = last_token(&app, PERSON);
    let mut person = app.client();
    let page = person.get(&format!("/register/{alpha_token}")).await;
    assert!(page.body.contains("Alpha Co and Beta Co"), "{}", page.body);
    register(&mut person, &alpha_token, "Tess Two").await.assert_lands_on("/account");
    assert_eq!(membership_status(&app, alpha, PERSON), "awaiting_validation");
    assert_eq!(membership_status(&app, beta, PERSON), "awaiting_validation");
    let page = app.client().get(&format!("/register/{beta_token}")).await;
    page.assert_status(410);
    assert!(page.body.contains("already registered") && page.body.contains("Sign in"), "{}", page.body);
    // Both organizations' Delegates (here the same person) were told, once each.
    let ready: Vec<Option<i64>> = outbox::table
        .filter(outbox::kind.eq("ready_for_validation"))
        .order(outbox::organization_id.asc())
        .select(outbox::organization_id)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(ready, [Some(alpha), Some(beta)]);
}

async fn refusals_mark_each_field_and_keep_the_name(mut app: TestApp) {
    app.login_as_admin().await;
    let org = org_with_admin(&mut app, "Form Co", ADMIN_EMAIL).await;
    add_user(&mut app, org, PERSON).await;
    let token = last_token(&app, PERSON);
    let mut person = app.client();
    person.get(&format!("/register/{token}")).await;
    let refused = person
        .post(
            &format!("/register/{token}"),
            &[("display_name", "  "), ("password", "short"), ("password_confirm", "different")],
        )
        .await;
    refused.assert_status(422);
    for id in ["display_name-error", "password-error", "password_confirm-error"] {
        assert!(refused.body.contains(id), "{id}: {}", refused.body);
    }
    assert!(!refused.body.contains("value=\"short\""));
    let refused = person
        .post(
            &format!("/register/{token}"),
            &[("display_name", "Kim <b>Kept</b>"), ("password", PERSON), ("password_confirm", PERSON)],
        )
        .await;
    refused.assert_status(422);
    assert!(
        refused.body.contains("Kim &#60;b&#62;Kept&#60;") && refused.body.contains("password-error"),
        "{}",
        refused.body
    );
    let refused = person
        .post(
            &format!("/register/{token}"),
            &[("display_name", "a\u{202e}b"), ("password", PASSWORD), ("password_confirm", PASSWORD)],
        )
        .await;
    refused.assert_status(422);
    assert!(refused.body.contains("display_name-error"));
    // Nothing was used up or stored.
    assert_eq!(account_row(&app, PERSON), ("invited".into(), String::new(), false));
    register(&mut person, &token, "Kim Kept").await.assert_lands_on("/account");
}

async fn two_submits_at_once_register_once(mut app: TestApp) {
    app.login_as_admin().await;
    let org = org_with_admin(&mut app, "Race Co", ADMIN_EMAIL).await;
    add_user(&mut app, org, PERSON).await;
    let token = last_token(&app, PERSON);
    let hash = orgportal::auth::password::hash_blocking(PASSWORD).unwrap();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let site = orgportal::mail::Site::from_config(&app.state.config);
    let now = app.clock.now();
    let outcomes: Vec<bool> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|i| {
                let (barrier, db, site, token, hash) =
                    (barrier.clone(), app.state.db.clone(), site.clone(), token.clone(), hash.clone());
                scope.spawn(move || {
                    let mut conn = db.get().unwrap();
                    let name = orgportal::domain::DisplayName::parse(&format!("Racer {i}")).unwrap();
                    let registration = orgportal::registration::queries::Registration {
                        token: &token,
                        name: &name,
                        password_hash: &hash,
                        client: orgportal::web::client::ClientAddr(None),
                    };
                    barrier.wait();
                    orgportal::registration::queries::register(&mut conn, &site, &registration, now).is_ok()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 1, "{outcomes:?}");
    assert_eq!(audit_actions(&app, PERSON).iter().filter(|a| *a == "account.registered").count(), 1);
    assert_eq!(outbox_to(&app, ADMIN_EMAIL).iter().filter(|(k, _)| k == "ready_for_validation").count(), 1);
}

async fn an_existing_account_is_invited_and_accepts(mut app: TestApp) {
    app.login_as_admin().await;
    let org = org_with_admin(&mut app, "Accept Co", ADMIN_EMAIL).await;
    app.insert_account("known@example.com", PASSWORD, false);
    add_user(&mut app, org, "known@example.com").await;
    assert_eq!(membership_status(&app, org, "known@example.com"), "invited");
    let token = last_token(&app, "known@example.com");

    // Signed out: the invitation, and a way to sign in that comes back here.
    let mut person = app.client();
    let page = person.get(&format!("/register/{token}")).await;
    page.assert_status(200);
    assert!(page.body.contains("Accept the invitation to Accept Co"), "{}", page.body);
    assert!(!page.body.contains(r#"name="password""#));
    assert!(page.body.contains("/login?next=%2Fregister%2F"), "{}", page.body);
    person.get("/login").await;
    person.post(&format!("/register/{token}"), &[]).await.assert_status(303);
    assert_eq!(membership_status(&app, org, "known@example.com"), "invited");

    // Another account signed in: refused, nothing used up.
    let mut stranger = app.client();
    app.insert_account("stranger@example.com", PASSWORD, false);
    stranger.login("stranger@example.com", PASSWORD).await.assert_status(303);
    let refused = stranger.get(&format!("/register/{token}")).await;
    refused.assert_status(403);
    assert!(refused.body.contains("different account"), "{}", refused.body);
    stranger.post(&format!("/register/{token}"), &[]).await;
    assert_eq!(membership_status(&app, org, "known@example.com"), "invited");

    // The invited account signs in, comes back, accepts.
    person.get(&format!("/login?next=/register/{token}")).await;
    let step = person
        .post(
            "/login",
            &[("email", "known@example.com"), ("password", PASSWORD), ("next", &format!("/register/{token}"))],
        )
        .await;
    person.answer_second_factor("known@example.com", step).await.assert_redirect(&format!("/register/{token}"));
    let page = person.get(&format!("/register/{token}")).await;
    assert!(page.body.contains(r#"action="/register/"#) && page.body.contains("Accept the invitation"));
    person.post(&format!("/register/{token}"), &[]).await.assert_lands_on("/account");
    assert_eq!(membership_status(&app, org, "known@example.com"), "awaiting_validation");
    assert!(outbox_to(&app, ADMIN_EMAIL).iter().any(|(kind, _)| kind == "ready_for_validation"));
    assert!(person.get("/account").await.body.contains("Awaiting validation"));
    person.get(&format!("/register/{token}")).await.assert_status(410);
    // The password is the one it had.
    assert!(orgportal::auth::password::verify_blocking(PASSWORD, &app.password_hash("known@example.com").unwrap()));
}

/// (users list row, audit events as (action, details), outbox as (kind, subject)).
type DelegateView = (String, Vec<(String, String)>, Vec<(String, String)>);

/// What a Delegate can see of one added address, with the address itself replaced.
fn delegate_view(app: &TestApp, org: i64, email: &str, list: &str) -> DelegateView {
    let id = account_id(&mut app.conn(), email);
    let row_start = list.find(&format!(r#"data-account-id="{id}""#)).expect("row");
    let row_end = row_start + list[row_start..].find("</tr>").unwrap();
    let row = list[row_start..row_end]
        .replace(email, "EMAIL")
        .replace(&format!(r#"data-account-id="{id}""#), "ID")
        .replace(&format!("/users/{id}/"), "/users/ID/");
    // The moments (the add, the link's expiry) differ by however long the test took between
    // the two, and may fall on either side of a second.
    let mut row = row;
    let mut from = 0;
    while let Some(start) = row[from..].find(r#"datetime=""#).map(|at| from + at) {
        let Some(end) = row[start..].find("</time>").map(|at| start + at) else { break };
        row = format!("{}TIME{}", &row[..start], &row[end..]);
        from = start + "TIME".len();
    }
    let audit: Vec<(String, String)> = audit_events::table
        .filter(audit_events::organization_id.eq(org))
        .filter(audit_events::target.eq(email))
        .order(audit_events::id.asc())
        .select((audit_events::action, audit_events::details))
        .load(&mut *app.conn())
        .unwrap();
    let mail: Vec<(String, String)> = outbox::table
        .filter(outbox::recipient.eq(email))
        .order(outbox::id.asc())
        .select((outbox::kind, outbox::subject))
        .load(&mut *app.conn())
        .unwrap();
    (row, audit, mail)
}

async fn delegates_cannot_tell_whether_an_address_had_an_account(mut app: TestApp) {
    app.login_as_admin().await;
    let org = org_with_admin(&mut app, "Blind Co", ADMIN_EMAIL).await;
    app.insert_account("had.account@example.com", PASSWORD, false);
    let mut answers = Vec::new();
    for email in ["had.account@example.com", "no.account@example.com"] {
        app.get(&format!("/orgs/{org}/users/new")).await;
        let added = app.post(&format!("/orgs/{org}/users"), &[("email", email), ("quota_gb", "1")]).await;
        added.assert_status(303);
        answers.push((added.location().to_owned(), app.get(added.location()).await.body.replace(email, "EMAIL")));
    }
    assert_eq!(answers[0].0, answers[1].0);
    let list = app.get(&format!("/orgs/{org}/users")).await.body;
    let had = delegate_view(&app, org, "had.account@example.com", &list);
    let new = delegate_view(&app, org, "no.account@example.com", &list);
    assert_eq!(had, new);
    assert_eq!(had.2.len(), 1);
    assert_eq!(had.2[0].0, "user_invitation");
    // Nothing went to the Delegates either way.
    assert!(outbox_to(&app, ADMIN_EMAIL).iter().all(|(kind, _)| kind != "ready_for_validation"));

    // Resend works the same for both, and the existing account's new link still accepts.
    for email in ["had.account@example.com", "no.account@example.com"] {
        let id = account_id(&mut app.conn(), email);
        app.get(&format!("/orgs/{org}/users")).await;
        app.post(&format!("/orgs/{org}/users/{id}/resend"), &[]).await.assert_status(303);
    }
    let list = app.get(&format!("/orgs/{org}/users")).await.body;
    assert_eq!(
        delegate_view(&app, org, "had.account@example.com", &list),
        delegate_view(&app, org, "no.account@example.com", &list)
    );
    let token = last_token(&app, "had.account@example.com");
    let mut person = app.client();
    person.login("had.account@example.com", PASSWORD).await.assert_status(303);
    let page = person.get(&format!("/register/{token}")).await;
    assert!(page.body.contains("Accept the invitation to Blind Co"), "{}", page.body);
    person.post(&format!("/register/{token}"), &[]).await.assert_lands_on("/account");
    assert_eq!(membership_status(&app, org, "had.account@example.com"), "awaiting_validation");
}

async fn the_account_page_changes_the_display_name(app: TestApp) {
    app.insert_account("named@example.com", PASSWORD, false);
    let mut person = app.client();
    person.login("named@example.com", PASSWORD).await.assert_status(303);
    let page = person.get("/account").await;
    assert!(page.body.contains(r#"action="/account/profile""#));
    let refused = person.post("/account/profile", &[("display_name", "\u{200b}")]).await;
    refused.assert_status(422);
    assert!(refused.body.contains("display_name-error"));
    let long = "x".repeat(101);
    let refused = person.post("/account/profile", &[("display_name", &long)]).await;
    refused.assert_status(422);
    assert!(refused.body.contains(&long), "the value typed is kept");
    person.post("/account/profile", &[("display_name", "  Nadia Named ")]).await.assert_lands_on("/account");
    let (name, key): (String, String) = accounts::table
        .filter(accounts::email.eq("named@example.com"))
        .select((accounts::display_name, accounts::name_key))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!((name.as_str(), key.as_str()), ("Nadia Named", "nadia named"));
    assert!(person.get("/account").await.body.contains("Nadia Named"));
    assert!(audit_actions(&app, "named@example.com").contains(&"account.name_changed".to_owned()));
}
