//! Invitations an administrator can manage (issue 13, point 6): the users list shows when an
//! invited person's link expires; a Delegate revokes an invitation not yet used (the seat
//! frees, the link is withdrawn); platform administrators resend and revoke pending
//! administrator invitations.

use chrono::Duration;
use diesel::prelude::*;
use orgportal::db::schema::{accounts, audit_events, invitations, memberships, organizations, outbox};

use crate::helpers::{account_id, escape_html, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::{mailbox, on_both_backends};

on_both_backends!(
    invited_rows_show_when_their_link_expires_then_that_it_expired,
    revoking_an_invitation_frees_the_seat_and_withdraws_the_link,
    revoking_a_membership_past_invited_is_refused_and_changes_nothing,
    a_pending_administrator_invitation_is_resent_with_a_new_link_once_a_minute,
    revoking_a_pending_administrator_invitation_deletes_the_account_and_its_link,
);

const PERSON: &str = "invited.person@example.com";
const OTHER: &str = "other.person@example.com";
const NEW_ADMIN: &str = "new.admin@example.com";

async fn org_with_admin(app: &mut TestApp, name: &str, seats: &str) -> i64 {
    app.login_as_admin().await;
    app.get("/admin/organizations/new").await.assert_status(200);
    app.post(
        "/admin/organizations",
        &[("name", name), ("quota_gb", "100"), ("seats", seats), ("admin_email", ADMIN_EMAIL)],
    )
    .await
    .assert_status(303);
    app.org_id(name)
}

async fn add_user(app: &mut TestApp, org: i64, email: &str) -> crate::helpers::Response {
    app.get(&format!("/orgs/{org}/users/new")).await.assert_status(200);
    app.post(&format!("/orgs/{org}/users"), &[("email", email), ("quota_gb", "5")]).await
}

async fn act(app: &mut TestApp, org: i64, account: i64, action: &str) -> crate::helpers::Response {
    app.get(&format!("/orgs/{org}/users")).await.assert_status(200);
    app.post(&format!("/orgs/{org}/users/{account}/{action}"), &[]).await
}

async fn admin_act(app: &mut TestApp, account: i64, action: &str) -> crate::helpers::Response {
    app.get("/admin/administrators").await.assert_status(200);
    app.post(&format!("/admin/administrators/{account}/{action}"), &[]).await
}

/// (member_count, quota_allocated_gb) of the organization.
fn counters(app: &TestApp, org: i64) -> (i64, i64) {
    organizations::table
        .find(org)
        .select((organizations::member_count, organizations::quota_allocated_gb))
        .first(&mut *app.conn())
        .unwrap()
}

fn audit_actions(app: &TestApp, action: &str) -> Vec<String> {
    audit_events::table
        .filter(audit_events::action.eq(action))
        .select(audit_events::target)
        .load(&mut *app.conn())
        .unwrap()
}

/// The `<tr>` of `account` in a list page.
fn row_of(body: &str, account: i64) -> String {
    let start = body.find(&format!(r#"data-account-id="{account}""#)).expect("the row is shown");
    let end = body[start..].find("</tr>").map_or(body.len(), |at| start + at);
    body[start..end].to_owned()
}

async fn invited_rows_show_when_their_link_expires_then_that_it_expired(mut app: TestApp) {
    let org = org_with_admin(&mut app, "Expiry Co", "").await;
    add_user(&mut app, org, PERSON).await.assert_status(303);
    let person = account_id(&mut app.conn(), PERSON);
    let admin = account_id(&mut app.conn(), ADMIN_EMAIL);
    let expires_at: chrono::NaiveDateTime = invitations::table
        .filter(invitations::account_id.eq(person))
        .filter(invitations::organization_id.eq(org))
        .select(invitations::expires_at)
        .first(&mut *app.conn())
        .unwrap();

    let list = app.get(&format!("/orgs/{org}/users")).await;
    list.assert_status(200);
    let row = row_of(&list.body, person);
    assert!(row.contains("Link expires"), "{row}");
    assert!(row.contains(&format!("{} UTC", expires_at.format("%Y-%m-%d %H:%M"))), "{row}");
    assert!(row.contains(&format!(r#"action="/orgs/{org}/users/{person}/revoke""#)), "{row}");
    assert!(!row.contains("Link expired"), "{row}");
    // An active member has no link and nothing to revoke.
    let admin_row = row_of(&list.body, admin);
    assert!(!admin_row.contains("Link expire") && !admin_row.contains("/revoke"), "{admin_row}");

    app.clock.advance(Duration::days(8));
    // (Signed out by then: the session was idle too long.)
    app.login_as_admin().await;
    let list = app.get(&format!("/orgs/{org}/users")).await;
    list.assert_status(200);
    let row = row_of(&list.body, person);
    assert!(row.contains("Link expired"), "{row}");
    assert!(!row.contains("Link expires"), "{row}");

    // A resend gives a link that works for another 7 days.
    act(&mut app, org, person, "resend").await.assert_status(303);
    let row = row_of(&app.get(&format!("/orgs/{org}/users")).await.body, person);
    assert!(row.contains("Link expires") && !row.contains("Link expired"), "{row}");
}

async fn revoking_an_invitation_frees_the_seat_and_withdraws_the_link(mut app: TestApp) {
    // Two seats: the administrator and one more.
    let org = org_with_admin(&mut app, "Seat Co", "2").await;
    add_user(&mut app, org, PERSON).await.assert_status(303);
    let refused = add_user(&mut app, org, OTHER).await;
    refused.assert_status(422);
    assert!(refused.body.contains("All 2 seats are in use"), "{}", refused.body);
    assert_eq!(counters(&app, org), (2, 5));
    let person = account_id(&mut app.conn(), PERSON);
    let admin = account_id(&mut app.conn(), ADMIN_EMAIL);
    mailbox::deliver_all(&app);
    let token = mailbox::tokens_to(&app, PERSON).pop().expect("the invitation's link");
    app.get(&format!("/register/{token}")).await.assert_status(200);

    let revoked = act(&mut app, org, person, "revoke").await;
    revoked.assert_redirect(&format!("/orgs/{org}/users"));
    let list = app.get(&format!("/orgs/{org}/users")).await;
    assert!(list.body.contains(&escape_html(&format!("The invitation of {PERSON} was revoked"))), "{}", list.body);
    assert!(!list.body.contains(&format!(r#"data-account-id="{person}""#)), "the removed row is not listed");

    // The membership is removed, by whom and when; seat and quota are free.
    let (status, removed_at, removed_by): (String, Option<chrono::NaiveDateTime>, Option<i64>) = memberships::table
        .filter(memberships::organization_id.eq(org))
        .filter(memberships::account_id.eq(person))
        .select((memberships::status, memberships::removed_at, memberships::removed_by))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(status, "removed");
    assert!(removed_at.is_some());
    assert_eq!(removed_by, Some(admin));
    assert_eq!(counters(&app, org), (1, 0));
    assert_eq!(audit_actions(&app, "membership.invitation_revoked"), [PERSON]);
    let live_links: i64 =
        invitations::table.filter(invitations::account_id.eq(person)).count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(live_links, 0);

    // The emailed link says it was withdrawn, and offers no form.
    let page = app.client().get(&format!("/register/{token}")).await;
    page.assert_status(410);
    assert!(page.body.contains("This invitation was withdrawn"), "{}", page.body);
    assert!(!page.body.contains(r#"name="password""#));

    // The seat is free again.
    add_user(&mut app, org, OTHER).await.assert_status(303);
    assert_eq!(counters(&app, org), (2, 5));
    // Revoking again: the membership is no longer live.
    act(&mut app, org, person, "revoke").await.assert_status(404);
}

async fn revoking_a_membership_past_invited_is_refused_and_changes_nothing(mut app: TestApp) {
    let org = org_with_admin(&mut app, "Active Co", "").await;
    add_user(&mut app, org, PERSON).await.assert_status(303);
    let admin = account_id(&mut app.conn(), ADMIN_EMAIL);
    let before = counters(&app, org);
    let statuses = |app: &TestApp| -> Vec<(i64, String)> {
        memberships::table
            .filter(memberships::organization_id.eq(org))
            .order(memberships::id.asc())
            .select((memberships::account_id, memberships::status))
            .load(&mut *app.conn())
            .unwrap()
    };
    let statuses_before = statuses(&app);

    let refused = act(&mut app, org, admin, "revoke").await;
    refused.assert_status(409);
    assert!(refused.body.contains("Only an invitation not yet used can be revoked"), "{}", refused.body);
    assert_eq!(statuses(&app), statuses_before);
    assert_eq!(counters(&app, org), before);
    assert!(audit_actions(&app, "membership.invitation_revoked").is_empty());

    // An account that is no member here: 404.
    let stranger = app.insert_account("stranger@example.com", ADMIN_PASSWORD, false);
    act(&mut app, org, stranger, "revoke").await.assert_status(404);
    assert_eq!(statuses(&app), statuses_before);
}

async fn a_pending_administrator_invitation_is_resent_with_a_new_link_once_a_minute(mut app: TestApp) {
    app.login_as_admin().await;
    app.get("/admin/administrators").await.assert_status(200);
    app.post("/admin/administrators", &[("email", NEW_ADMIN)]).await.assert_status(303);
    let invited = account_id(&mut app.conn(), NEW_ADMIN);
    let me = account_id(&mut app.conn(), ADMIN_EMAIL);

    let page = app.get("/admin/administrators").await;
    let row = row_of(&page.body, invited);
    assert!(row.contains("Link expires"), "{row}");
    assert!(row.contains(&format!(r#"action="/admin/administrators/{invited}/resend""#)), "{row}");
    assert!(row.contains(&format!(r#"action="/admin/administrators/{invited}/revoke""#)), "{row}");
    // An active administrator has neither.
    let my_row = row_of(&page.body, me);
    assert!(!my_row.contains("/resend") && !my_row.contains("/revoke") && !my_row.contains("Link expire"));

    mailbox::deliver_all(&app);
    let first = mailbox::tokens_to(&app, NEW_ADMIN).pop().expect("the first link");

    admin_act(&mut app, invited, "resend").await.assert_redirect("/admin/administrators");
    let page = app.get("/admin/administrators").await;
    assert!(page.body.contains(&format!("A new invitation was sent to {NEW_ADMIN}")), "{}", page.body);
    assert_eq!(audit_actions(&app, "platform_admin.invitation_resent"), [NEW_ADMIN]);
    mailbox::deliver_all(&app);
    let tokens = mailbox::tokens_to(&app, NEW_ADMIN);
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    let second = tokens[1].clone();
    assert_ne!(first, second);
    let subjects: Vec<String> =
        outbox::table.filter(outbox::recipient.eq(NEW_ADMIN)).select(outbox::subject).load(&mut *app.conn()).unwrap();
    assert_eq!(subjects, ["You are invited to be a platform administrator"; 2]);

    // The old link is dead, the new one works.
    let visitor = &mut app.client();
    let old = visitor.get(&format!("/register/{first}")).await;
    old.assert_status(410);
    assert!(old.body.contains("replaced by a newer one"), "{}", old.body);
    let new = visitor.get(&format!("/register/{second}")).await;
    new.assert_status(200);
    assert!(new.body.contains("the platform administrators"), "{}", new.body);

    // Once a minute per person.
    app.clock.advance(Duration::seconds(20));
    let refused = admin_act(&mut app, invited, "resend").await;
    refused.assert_status(429);
    assert!(refused.body.contains("less than a minute ago"), "{}", refused.body);
    assert_eq!(
        outbox::table.filter(outbox::recipient.eq(NEW_ADMIN)).count().get_result::<i64>(&mut *app.conn()).unwrap(),
        2
    );
    app.clock.advance(Duration::seconds(41));
    admin_act(&mut app, invited, "resend").await.assert_status(303);

    // An administrator who can sign in has no invitation to resend.
    let active = app.insert_account("active.admin@example.com", ADMIN_PASSWORD, true);
    let refused = admin_act(&mut app, active, "resend").await;
    refused.assert_status(409);
    assert!(refused.body.contains("Only an invitation not yet used"), "{}", refused.body);
}

async fn revoking_a_pending_administrator_invitation_deletes_the_account_and_its_link(mut app: TestApp) {
    app.login_as_admin().await;
    app.get("/admin/administrators").await.assert_status(200);
    app.post("/admin/administrators", &[("email", NEW_ADMIN)]).await.assert_status(303);
    let invited = account_id(&mut app.conn(), NEW_ADMIN);
    mailbox::deliver_all(&app);
    let token = mailbox::tokens_to(&app, NEW_ADMIN).pop().expect("the link");

    // An active administrator is refused, and keeps the role.
    let active = app.insert_account("active.admin@example.com", ADMIN_PASSWORD, true);
    admin_act(&mut app, active, "revoke").await.assert_status(409);
    let still: bool = accounts::table.find(active).select(accounts::is_platform_admin).first(&mut *app.conn()).unwrap();
    assert!(still);

    admin_act(&mut app, invited, "revoke").await.assert_redirect("/admin/administrators");
    let page = app.get("/admin/administrators").await;
    assert!(page.body.contains(&format!("The invitation of {NEW_ADMIN} was revoked")), "{}", page.body);
    assert!(!page.body.contains(&format!(r#"data-account-id="{invited}""#)));
    let left: i64 = accounts::table.filter(accounts::email.eq(NEW_ADMIN)).count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(left, 0, "the account is gone");
    assert_eq!(audit_actions(&app, "platform_admin.invitation_revoked"), [NEW_ADMIN]);
    let dead = app.client().get(&format!("/register/{token}")).await;
    assert!(matches!(dead.status.as_u16(), 404 | 410), "{}", dead.status);
    assert!(!dead.body.contains(r#"name="password""#));
    // Gone, so a second revoke finds no administrator.
    admin_act(&mut app, invited, "revoke").await.assert_status(409);

    // An invited administrator who is also invited by an organization keeps the account (and
    // that invitation), without the role; the platform link is withdrawn.
    let org = org_with_admin(&mut app, "Keep Co", "").await;
    add_user(&mut app, org, PERSON).await.assert_status(303);
    app.get("/admin/administrators").await;
    app.post("/admin/administrators", &[("email", PERSON)]).await.assert_status(303);
    let person = account_id(&mut app.conn(), PERSON);
    admin_act(&mut app, person, "revoke").await.assert_status(303);
    let is_admin: bool =
        accounts::table.find(person).select(accounts::is_platform_admin).first(&mut *app.conn()).unwrap();
    assert!(!is_admin);
    let links: Vec<Option<i64>> = invitations::table
        .filter(invitations::account_id.eq(person))
        .select(invitations::organization_id)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(links, [Some(org)]);
}
