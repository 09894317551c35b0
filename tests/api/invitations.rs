//! Invitations stay within their tenant (one live link per person and issuer: adding, resending
//! or removing in one organization never touches another's link or a platform
//! administrator's), and the emails a Delegate can cause are limited: so many invitation
//! emails per organization per hour, and one resend per person per minute.

use actix_web::http::header;
use chrono::Duration;
use diesel::prelude::*;
use orgportal::db::schema::{accounts, invitations, memberships, outbox};
use orgportal::registration::token_hash;

use crate::helpers::{account_id, TestApp, TestDatabase, ADMIN_EMAIL};
use crate::{mailbox, on_both_backends};

on_both_backends!(
    two_organizations_inviting_one_person_both_keep_their_links,
    a_person_gets_a_resend_at_most_once_a_minute
);

const PERSON: &str = "shared.person@example.com";

async fn org_with_admin(app: &mut TestApp, name: &str) -> i64 {
    app.get("/admin/organizations/new").await.assert_status(200);
    app.post(
        "/admin/organizations",
        &[("name", name), ("quota_gb", "100"), ("seats", ""), ("admin_email", ADMIN_EMAIL)],
    )
    .await
    .assert_status(303);
    app.org_id(name)
}

async fn add_user(app: &mut TestApp, org: i64, email: &str) -> crate::helpers::Response {
    app.get(&format!("/orgs/{org}/users/new")).await.assert_status(200);
    app.post(&format!("/orgs/{org}/users"), &[("email", email), ("quota_gb", "1")]).await
}

async fn act(app: &mut TestApp, org: i64, account: i64, action: &str) -> crate::helpers::Response {
    app.get(&format!("/orgs/{org}/users")).await.assert_status(200);
    app.post(&format!("/orgs/{org}/users/{account}/{action}"), &[]).await
}

/// The live links of `email`, by issuer (`None`: the platform administrators).
fn links(app: &TestApp, email: &str) -> Vec<(Option<i64>, String)> {
    let account = account_id(&mut app.conn(), email);
    invitations::table
        .filter(invitations::account_id.eq(account))
        .select((invitations::organization_id, invitations::token_hash))
        .load::<(Option<i64>, String)>(&mut *app.conn())
        .map(|mut links| {
            // The platform's link (no organization) first, on both backends.
            links.sort();
            links
        })
        .unwrap()
}

fn link_of(links: &[(Option<i64>, String)], issuer: Option<i64>) -> Option<String> {
    links.iter().find(|(org, _)| *org == issuer).map(|(_, hash)| hash.clone())
}

async fn two_organizations_inviting_one_person_both_keep_their_links(mut app: TestApp) {
    app.login_as_admin().await;
    let alpha = org_with_admin(&mut app, "Alpha Co").await;
    let beta = org_with_admin(&mut app, "Beta Co").await;
    add_user(&mut app, alpha, PERSON).await.assert_status(303);
    add_user(&mut app, beta, PERSON).await.assert_status(303);
    let person = account_id(&mut app.conn(), PERSON);

    // Both links are live, and each is the one its organization emailed.
    let both = links(&app, PERSON);
    assert_eq!(both.len(), 2, "{both:?}");
    let alpha_link = link_of(&both, Some(alpha)).expect("Alpha's link");
    let beta_link = link_of(&both, Some(beta)).expect("Beta's link");
    mailbox::deliver_all(&app);
    let emailed: Vec<String> = mailbox::tokens_to(&app, PERSON).iter().map(|t| token_hash(t)).collect();
    assert_eq!(emailed, [alpha_link.clone(), beta_link.clone()]);

    // Beta removes the person: only Beta's link goes.
    act(&mut app, beta, person, "remove").await.assert_status(303);
    assert_eq!(links(&app, PERSON), [(Some(alpha), alpha_link.clone())]);

    // Beta adds them again and resends: Beta's link changes, Alpha's stays.
    add_user(&mut app, beta, PERSON).await.assert_status(303);
    act(&mut app, beta, person, "resend").await.assert_status(303);
    let now = links(&app, PERSON);
    assert_eq!(link_of(&now, Some(alpha)), Some(alpha_link.clone()));
    let beta_resent = link_of(&now, Some(beta)).expect("Beta's new link");
    assert_ne!(beta_resent, beta_link);

    // A platform administrator's invitation adds a third link and takes none away.
    app.get("/admin/administrators").await;
    app.post("/admin/administrators", &[("email", PERSON)]).await.assert_status(303);
    let three = links(&app, PERSON);
    assert_eq!(three.len(), 3, "{three:?}");
    let platform_link = link_of(&three, None).expect("the platform link");

    // Alpha resends and then removes the person: Beta's and the platform's links stay.
    act(&mut app, alpha, person, "resend").await.assert_status(303);
    act(&mut app, alpha, person, "remove").await.assert_status(303);
    assert_eq!(links(&app, PERSON), [(None, platform_link), (Some(beta), beta_resent)]);
    // Every email went to the person, with the link of the organization that sent it.
    mailbox::deliver_all(&app);
    let to_person = mailbox::tokens_to(&app, PERSON);
    assert_eq!(
        to_person.len(),
        6,
        "two invitations, Beta's add and resend, the platform's, Alpha's resend: {to_person:?}"
    );
}

async fn a_person_gets_a_resend_at_most_once_a_minute(mut app: TestApp) {
    app.login_as_admin().await;
    let org = org_with_admin(&mut app, "Resend Co").await;
    add_user(&mut app, org, PERSON).await.assert_status(303);
    let person = account_id(&mut app.conn(), PERSON);
    let emails = |app: &TestApp| -> i64 {
        outbox::table.filter(outbox::recipient.eq(PERSON)).count().get_result(&mut *app.conn()).unwrap()
    };
    act(&mut app, org, person, "resend").await.assert_status(303);
    let link = links(&app, PERSON);

    app.clock.advance(Duration::seconds(20));
    let refused = act(&mut app, org, person, "resend").await;
    refused.assert_status(429);
    assert!(refused.body.contains("resent to this person less than a minute ago"), "{}", refused.body);
    assert!(refused.body.contains("Too many emails"), "{}", refused.body);
    // 40 seconds are left (a little less: the clock also runs while the test does).
    let retry_after: i64 = refused.header(header::RETRY_AFTER.as_str()).and_then(|v| v.parse().ok()).unwrap();
    assert!((35..=40).contains(&retry_after), "{retry_after}");
    assert!(refused.body.contains(&format!("Wait {retry_after} seconds")), "{}", refused.body);
    assert_eq!(links(&app, PERSON), link, "the link is unchanged");
    assert_eq!(emails(&app), 2, "no email was queued");

    app.clock.advance(Duration::seconds(41));
    act(&mut app, org, person, "resend").await.assert_status(303);
    assert_ne!(links(&app, PERSON), link);
    assert_eq!(emails(&app), 3);
}

/// The application with a limit of 3 invitation emails per organization per hour.
fn limited(database: TestDatabase) -> TestApp {
    TestApp::start(database, &["--invitations-per-hour", "3"])
}

#[actix_web::test]
async fn invitation_emails_are_limited_per_organization_per_hour_sqlite() {
    invitation_emails_are_limited_per_organization_per_hour(limited(TestDatabase::sqlite())).await
}

#[actix_web::test]
async fn invitation_emails_are_limited_per_organization_per_hour_postgres() {
    if let Some(database) = TestDatabase::postgres() {
        invitation_emails_are_limited_per_organization_per_hour(limited(database)).await
    }
}

async fn invitation_emails_are_limited_per_organization_per_hour(mut app: TestApp) {
    app.login_as_admin().await;
    let org = org_with_admin(&mut app, "Limited Co").await;
    let other = org_with_admin(&mut app, "Other Co").await;
    app.insert_account("known@example.com", "mossy-anchor-74-lantern", false);
    // An invitation, a "you were added" notice to an existing account, another invitation.
    for email in ["first@example.com", "known@example.com", "second@example.com"] {
        add_user(&mut app, org, email).await.assert_status(303);
    }
    let queued = |app: &TestApp, org: i64| -> i64 {
        outbox::table.filter(outbox::organization_id.eq(org)).count().get_result(&mut *app.conn()).unwrap()
    };
    let before = queued(&app, org);

    // The fourth is refused, the form kept, nothing created and nothing sent.
    let refused = add_user(&mut app, org, "third@example.com").await;
    refused.assert_status(429);
    assert!(
        refused.body.contains("This organization has sent 3 invitation emails in the past hour"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains(r#"value="third@example.com""#), "the form keeps what was typed");
    let retry_after: i64 = refused.header(header::RETRY_AFTER.as_str()).and_then(|v| v.parse().ok()).unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    let third: i64 =
        accounts::table.filter(accounts::email.eq("third@example.com")).count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(third, 0, "no account was created");
    assert_eq!(queued(&app, org), before);
    // A resend counts as well (the first resend of a person is not held by the minute rule).
    let first = account_id(&mut app.conn(), "first@example.com");
    act(&mut app, org, first, "resend").await.assert_status(429);
    assert_eq!(queued(&app, org), before);

    // The limit is per organization.
    add_user(&mut app, other, "third@example.com").await.assert_status(303);

    // An hour later there is room again.
    app.clock.advance(Duration::minutes(61));
    // (Signed out by then: the session was idle for more than 30 minutes.)
    app.login_as_admin().await;
    add_user(&mut app, org, "third@example.com").await.assert_status(303);
    let members: i64 = memberships::table
        .filter(memberships::organization_id.eq(org))
        .filter(memberships::status.ne("removed"))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(members, 5, "the administrator and four users");
}
