//! An organization's users and plans: add with each flag, seats and quota enforced and
//! explained, remove and reuse, validate, resend, the last Delegate, plans that their users
//! follow, and a tenancy matrix where nobody but the organization's Delegates gets anything.

use diesel::prelude::*;
use orgportal::db::schema::{accounts, invitations, memberships, organizations, outbox, plans};

use crate::helpers::{account_id, row_ids, TestApp, ADMIN_EMAIL};
use crate::on_both_backends;

const PASSWORD: &str = "mossy-anchor-74-lantern";

on_both_backends!(
    users_are_added_with_their_flags_up_to_the_seat_limit_and_seats_come_back,
    quota_is_enforced_and_what_is_left_is_named,
    validate_and_resend_invitation,
    the_last_active_delegate_stays,
    two_delegates_removing_each_other_at_once_leave_one,
    two_administrators_adding_at_once_cannot_pass_the_seats,
    the_users_list_searches_filters_and_sorts,
    plans_are_followed_by_their_users_within_the_quota,
    nobody_but_the_organizations_delegates_gets_in,
);

async fn org_with_admin(app: &mut TestApp, name: &str, quota: &str, seats: &str) -> i64 {
    app.login_as_admin().await;
    app.get("/admin/organizations/new").await;
    app.post(
        "/admin/organizations",
        &[("name", name), ("quota_gb", quota), ("seats", seats), ("admin_email", ADMIN_EMAIL)],
    )
    .await
    .assert_status(303);
    app.org_id(name)
}

async fn add_user(app: &mut TestApp, org: i64, fields: &[(&str, &str)]) -> crate::helpers::Response {
    app.get(&format!("/orgs/{org}/users/new")).await.assert_status(200);
    app.post(&format!("/orgs/{org}/users"), fields).await
}

fn membership(app: &TestApp, org: i64, email: &str) -> (String, bool, bool, bool, bool, bool, i64) {
    memberships::table
        .inner_join(accounts::table)
        .filter(memberships::organization_id.eq(org))
        .filter(accounts::email.eq(email))
        .filter(memberships::status.ne("removed"))
        .select((
            memberships::status,
            memberships::is_delegate,
            memberships::unsigned_containers,
            memberships::release_protections,
            memberships::recover,
            memberships::no_second_factor,
            memberships::quota_gb,
        ))
        .first(&mut *app.conn())
        .unwrap()
}

fn counters(app: &TestApp, org: i64) -> (i64, i64) {
    organizations::table
        .find(org)
        .select((organizations::member_count, organizations::quota_allocated_gb))
        .first(&mut *app.conn())
        .unwrap()
}

/// An existing account accepted its invitation (as through its link, which
/// tests/api/registration.rs covers): the membership awaits validation.
fn accepted(app: &TestApp, org: i64, account: i64) {
    diesel::update(
        memberships::table.filter(memberships::account_id.eq(account)).filter(memberships::organization_id.eq(org)),
    )
    .set(memberships::status.eq("awaiting_validation"))
    .execute(&mut *app.conn())
    .unwrap();
}

fn kinds_to(app: &TestApp, email: &str) -> Vec<String> {
    outbox::table
        .filter(outbox::recipient.eq(email))
        .order(outbox::id.asc())
        .select(outbox::kind)
        .load(&mut *app.conn())
        .unwrap()
}

async fn users_are_added_with_their_flags_up_to_the_seat_limit_and_seats_come_back(mut app: TestApp) {
    let org = org_with_admin(&mut app, "Seats Co", "100", "3").await;
    let form = app.get(&format!("/orgs/{org}/users/new")).await;
    assert!(form.body.contains("Available: 100 of 100 GB"));
    add_user(
        &mut app,
        org,
        &[
            ("email", "New.Person@Example.com"),
            ("delegate", "on"),
            ("unsigned_containers", "on"),
            ("release_protections", "on"),
            ("recover", "on"),
            ("no_second_factor", "on"),
            ("quota_gb", "10"),
        ],
    )
    .await
    .assert_redirect(&format!("/orgs/{org}/users"));
    let new_flash = app.get(&format!("/orgs/{org}/users")).await.body;
    assert_eq!(membership(&app, org, "new.person@example.com"), ("invited".into(), true, true, true, true, true, 10));
    assert_eq!(kinds_to(&app, "new.person@example.com"), ["user_invitation"]);

    // An account that exists elsewhere: no second account, invited like anyone (it accepts
    // through its link), and the same answer.
    app.insert_account("known@example.com", PASSWORD, false);
    add_user(&mut app, org, &[("email", "known@example.com"), ("quota_gb", "5")]).await.assert_status(303);
    let known_flash = app.get(&format!("/orgs/{org}/users")).await.body;
    assert_eq!(membership(&app, org, "known@example.com").0, "invited");
    assert_eq!(kinds_to(&app, "known@example.com"), ["user_invitation"]);
    assert_eq!(
        accounts::table
            .filter(accounts::email.eq("known@example.com"))
            .count()
            .get_result::<i64>(&mut *app.conn())
            .unwrap(),
        1
    );
    let said =
        |body: &str, email: &str| body.contains(&format!("{email} was added and will receive an email about it."));
    assert!(said(&new_flash, "new.person@example.com") && said(&known_flash, "known@example.com"));
    assert_eq!(counters(&app, org), (3, 15));

    // The fourth does not fit, and the page says why; nothing is lost.
    let refused = add_user(&mut app, org, &[("email", "fourth@example.com"), ("quota_gb", "1")]).await;
    refused.assert_status(422);
    assert!(refused.body.contains("All 3 seats are in use"), "{}", refused.body);
    assert!(refused.body.contains(r#"value="fourth@example.com""#));
    assert_eq!(counters(&app, org), (3, 15));
    assert_eq!(
        accounts::table
            .filter(accounts::email.eq("fourth@example.com"))
            .count()
            .get_result::<i64>(&mut *app.conn())
            .unwrap(),
        0
    );

    // Removing frees the seat and quota; the membership stays as removed, with who and when.
    let known = account_id(&mut app.conn(), "known@example.com");
    app.get(&format!("/orgs/{org}/users")).await;
    app.post(&format!("/orgs/{org}/users/{known}/remove"), &[]).await.assert_status(303);
    assert_eq!(counters(&app, org), (2, 10));
    let (status, removed_by): (String, Option<i64>) = memberships::table
        .filter(memberships::account_id.eq(known))
        .select((memberships::status, memberships::removed_by))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!((status.as_str(), removed_by), ("removed", Some(account_id(&mut app.conn(), ADMIN_EMAIL))));
    add_user(&mut app, org, &[("email", "fourth@example.com"), ("quota_gb", "1")]).await.assert_status(303);
    // The same email can come back later.
    app.post(&format!("/orgs/{org}/users/{}/remove", account_id(&mut app.conn(), "fourth@example.com")), &[])
        .await
        .assert_status(303);
    add_user(&mut app, org, &[("email", "known@example.com"), ("quota_gb", "2")]).await.assert_status(303);
    assert_eq!(counters(&app, org), (3, 12));
    // Adding someone who is already in is refused on the field.
    app.post(&format!("/orgs/{org}/users/{}/remove", account_id(&mut app.conn(), "known@example.com")), &[])
        .await
        .assert_status(303);
    let twice = add_user(&mut app, org, &[("email", "new.person@example.com"), ("quota_gb", "1")]).await;
    twice.assert_status(422);
    assert!(twice.body.contains("already belongs"));
}

async fn quota_is_enforced_and_what_is_left_is_named(mut app: TestApp) {
    let org = org_with_admin(&mut app, "Quota Co", "10", "").await;
    add_user(&mut app, org, &[("email", "a@example.com"), ("quota_gb", "8")]).await.assert_status(303);
    let refused = add_user(&mut app, org, &[("email", "b@example.com"), ("quota_gb", "5")]).await;
    refused.assert_status(422);
    assert!(refused.body.contains("8 of 10 GB are allocated, 2 GB are left"), "{}", refused.body);
    assert!(refused.body.contains("quota_gb-error"));
    let a = account_id(&mut app.conn(), "a@example.com");
    app.get(&format!("/orgs/{org}/users/{a}/edit")).await.assert_status(200);
    let too_much = app.post(&format!("/orgs/{org}/users/{a}/edit"), &[("quota_gb", "11")]).await;
    too_much.assert_status(422);
    assert_eq!(counters(&app, org), (2, 8));
    app.post(&format!("/orgs/{org}/users/{a}/edit"), &[("quota_gb", "10"), ("recover", "on")]).await.assert_status(303);
    assert_eq!(counters(&app, org), (2, 10));
    assert!(membership(&app, org, "a@example.com").4, "recover is set");
    // The platform administrator cannot lower the organization below what is in use.
    app.get(&format!("/admin/organizations/{org}/edit")).await;
    let lowered = app
        .post(&format!("/admin/organizations/{org}/edit"), &[("name", "Quota Co"), ("quota_gb", "9"), ("seats", "1")])
        .await;
    lowered.assert_status(422);
    assert!(lowered.body.contains("10 GB are allocated") && lowered.body.contains("2 seats are in use"));
}

async fn validate_and_resend_invitation(mut app: TestApp) {
    let org = org_with_admin(&mut app, "Valid Co", "10", "").await;
    app.insert_account("waiting@example.com", PASSWORD, false);
    add_user(&mut app, org, &[("email", "waiting@example.com"), ("quota_gb", "1")]).await.assert_status(303);
    add_user(&mut app, org, &[("email", "invitee@example.com"), ("quota_gb", "1")]).await.assert_status(303);
    let waiting = account_id(&mut app.conn(), "waiting@example.com");
    accepted(&app, org, waiting);
    let invitee = account_id(&mut app.conn(), "invitee@example.com");
    let list = app.get(&format!("/orgs/{org}/users")).await;
    assert!(list.body.contains(&format!("/users/{waiting}/validate")));
    assert!(list.body.contains(&format!("/users/{invitee}/resend")));
    app.post(&format!("/orgs/{org}/users/{waiting}/validate"), &[]).await.assert_status(303);
    assert_eq!(membership(&app, org, "waiting@example.com").0, "active");
    assert_eq!(kinds_to(&app, "waiting@example.com"), ["user_invitation", "account_validated"]);
    app.get(&format!("/orgs/{org}/users")).await;
    app.post(&format!("/orgs/{org}/users/{waiting}/validate"), &[]).await.assert_status(409);
    app.post(&format!("/orgs/{org}/users/{waiting}/resend"), &[]).await.assert_status(409);

    let first: String = invitations::table
        .filter(invitations::account_id.eq(invitee))
        .select(invitations::token_hash)
        .first(&mut *app.conn())
        .unwrap();
    app.post(&format!("/orgs/{org}/users/{invitee}/resend"), &[]).await.assert_status(303);
    let hashes: Vec<String> = invitations::table
        .filter(invitations::account_id.eq(invitee))
        .select(invitations::token_hash)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(hashes.len(), 1);
    assert_ne!(hashes[0], first, "the resend supersedes the first link");
    assert_eq!(kinds_to(&app, "invitee@example.com"), ["user_invitation", "user_invitation"]);
    app.post(&format!("/orgs/{org}/users/{invitee}/validate"), &[]).await.assert_status(409);
    // An account id that is not a member here.
    app.post(&format!("/orgs/{org}/users/999999/remove"), &[]).await.assert_status(404);
}

async fn the_last_active_delegate_stays(mut app: TestApp) {
    let org = org_with_admin(&mut app, "Lonely Co", "10", "").await;
    let me = account_id(&mut app.conn(), ADMIN_EMAIL);
    app.get(&format!("/orgs/{org}/users")).await;
    let refused = app.post(&format!("/orgs/{org}/users/{me}/remove"), &[]).await;
    refused.assert_status(409);
    assert!(refused.body.contains("last active administrator"));
    app.get(&format!("/orgs/{org}/users/{me}/edit")).await;
    let demoted = app.post(&format!("/orgs/{org}/users/{me}/edit"), &[("quota_gb", "0")]).await;
    demoted.assert_status(409);
    assert!(demoted.body.contains("last active administrator"));
    // The refusal is tied to the check box it is about, for screen readers.
    assert!(demoted.body.contains(r#"aria-invalid="true" aria-describedby="delegate-error""#), "{}", demoted.body);
    assert!(membership(&app, org, ADMIN_EMAIL).1, "still a Delegate");
    // An invited Delegate does not count: they cannot sign in yet.
    add_user(&mut app, org, &[("email", "future@example.com"), ("delegate", "on"), ("quota_gb", "0")])
        .await
        .assert_status(303);
    app.post(&format!("/orgs/{org}/users/{me}/remove"), &[]).await.assert_status(409);
}

/// Two active Delegates, each removing the other at the same instant: one of them stays.
async fn two_delegates_removing_each_other_at_once_leave_one(mut app: TestApp) {
    let org = org_with_admin(&mut app, "Duel Co", "10", "").await;
    let other = app.insert_account("other.delegate@example.com", PASSWORD, false);
    add_user(&mut app, org, &[("email", "other.delegate@example.com"), ("delegate", "on"), ("quota_gb", "0")])
        .await
        .assert_status(303);
    accepted(&app, org, other);
    app.get(&format!("/orgs/{org}/users")).await;
    app.post(&format!("/orgs/{org}/users/{other}/validate"), &[]).await.assert_status(303);
    let me = account_id(&mut app.conn(), ADMIN_EMAIL);
    let mut second = app.client();
    second.login("other.delegate@example.com", PASSWORD).await.assert_redirect("/");
    second.get(&format!("/orgs/{org}/users")).await.assert_status(200);
    app.get(&format!("/orgs/{org}/users")).await;
    let remove_other = format!("/orgs/{org}/users/{other}/remove");
    let remove_me = format!("/orgs/{org}/users/{me}/remove");
    let (a, b) = futures_util::future::join(app.post(&remove_other, &[]), second.post(&remove_me, &[])).await;
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert!(statuses == [303, 409] || statuses == [303, 403], "{statuses:?}");
    let active_delegates: i64 = memberships::table
        .filter(memberships::organization_id.eq(org))
        .filter(memberships::status.eq("active"))
        .filter(memberships::is_delegate.eq(true))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(active_delegates, 1);
}

async fn two_administrators_adding_at_once_cannot_pass_the_seats(mut app: TestApp) {
    let org = org_with_admin(&mut app, "Race Co", "100", "3").await;
    let other = app.insert_account("other.delegate@example.com", PASSWORD, false);
    add_user(&mut app, org, &[("email", "other.delegate@example.com"), ("delegate", "on"), ("quota_gb", "0")])
        .await
        .assert_status(303);
    accepted(&app, org, other);
    app.get(&format!("/orgs/{org}/users")).await;
    app.post(&format!("/orgs/{org}/users/{other}/validate"), &[]).await.assert_status(303);
    let mut second = app.client();
    second.login("other.delegate@example.com", PASSWORD).await.assert_redirect("/");
    second.get(&format!("/orgs/{org}/users/new")).await;
    app.get(&format!("/orgs/{org}/users/new")).await;
    // One seat is left; both try to take it.
    let path = format!("/orgs/{org}/users");
    let (a, b) = futures_util::future::join(
        app.post(&path, &[("email", "first@example.com"), ("quota_gb", "1")]),
        second.post(&path, &[("email", "second@example.com"), ("quota_gb", "1")]),
    )
    .await;
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [303, 422]);
    assert_eq!(counters(&app, org).0, 3);
    let live: i64 = memberships::table
        .filter(memberships::organization_id.eq(org))
        .filter(memberships::status.ne("removed"))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(live, 3);
}

async fn the_users_list_searches_filters_and_sorts(mut app: TestApp) {
    let org = org_with_admin(&mut app, "List Co", "100", "").await;
    for (email, quota) in [("carol@example.com", "3"), ("alice@example.com", "1"), ("bob@sample.org", "2")] {
        add_user(&mut app, org, &[("email", email), ("quota_gb", quota)]).await.assert_status(303);
    }
    let ids = |app: &mut TestApp, emails: &[&str]| -> Vec<i64> {
        emails.iter().map(|e| account_id(&mut app.conn(), e)).collect()
    };
    let me = account_id(&mut app.conn(), ADMIN_EMAIL);
    let page = app.get(&format!("/orgs/{org}/users")).await;
    let mut natural = vec![me];
    natural.extend(ids(&mut app, &["carol@example.com", "alice@example.com", "bob@sample.org"]));
    assert_eq!(row_ids(&page.body, "account"), natural, "natural order is the order they were added");
    let page = app.get(&format!("/orgs/{org}/users?sort=email&dir=desc")).await;
    assert_eq!(
        row_ids(&page.body, "account"),
        ids(&mut app, &["carol@example.com", "bob@sample.org", "alice@example.com", ADMIN_EMAIL])
    );
    assert!(page.body.contains(r#"aria-sort="descending""#));
    let page = app.get(&format!("/orgs/{org}/users?sort=quota")).await;
    assert_eq!(
        row_ids(&page.body, "account")[1..],
        ids(&mut app, &["alice@example.com", "bob@sample.org", "carol@example.com"])[..]
    );
    let page = app.get(&format!("/orgs/{org}/users?q=SAMPLE")).await;
    assert_eq!(row_ids(&page.body, "account"), ids(&mut app, &["bob@sample.org"]));
    let bob = account_id(&mut app.conn(), "bob@sample.org");
    app.post(&format!("/orgs/{org}/users/{bob}/remove"), &[]).await.assert_status(303);
    assert!(
        !row_ids(&app.get(&format!("/orgs/{org}/users")).await.body, "account").contains(&bob),
        "removed are hidden by default"
    );
    assert_eq!(row_ids(&app.get(&format!("/orgs/{org}/users?status=removed")).await.body, "account"), [bob]);
    assert_eq!(row_ids(&app.get(&format!("/orgs/{org}/users?status=active")).await.body, "account"), [me]);
    // Junk parameters fall back to the defaults.
    app.get(&format!("/orgs/{org}/users?status=zombie&sort=%27;drop&per_page=7&page=-3")).await.assert_status(200);
    let page = app.get(&format!("/orgs/{org}/users?per_page=10&page=99")).await;
    assert!(page.body.contains("Showing 1–3 of 3"));

    // The CSV holds the same rows in the same order, whatever the page size.
    let csv = app.get(&format!("/orgs/{org}/users.csv?sort=email&dir=desc&per_page=10&page=2")).await;
    csv.assert_status(200);
    assert!(csv.header("content-type").is_some_and(|t| t.starts_with("text/csv")));
    let emails: Vec<&str> = csv.body.lines().skip(1).map(|line| line.split(',').next().unwrap()).collect();
    assert_eq!(emails, ["carol@example.com", "alice@example.com", ADMIN_EMAIL]);
    assert!(csv.body.starts_with("Username (email),Name,Status,Delegate,"));
    let removed_csv = app.get(&format!("/orgs/{org}/users.csv?status=removed")).await;
    assert_eq!(removed_csv.body.lines().count(), 2);
    assert!(removed_csv.body.contains("bob@sample.org,,Removed,no,"));
}

async fn plans_are_followed_by_their_users_within_the_quota(mut app: TestApp) {
    let org = org_with_admin(&mut app, "Plan Co", "12", "").await;
    app.get(&format!("/orgs/{org}/plans")).await.assert_status(200);
    let too_big = app.post(&format!("/orgs/{org}/plans"), &[("name", "Huge"), ("quota_gb", "13")]).await;
    too_big.assert_status(422);
    assert!(too_big.body.contains(r#"value="Huge""#));
    app.post(&format!("/orgs/{org}/plans"), &[("name", "Small"), ("quota_gb", "5"), ("is_default", "on")])
        .await
        .assert_status(303);
    app.post(&format!("/orgs/{org}/plans"), &[("name", "Tiny"), ("quota_gb", "1")]).await.assert_status(303);
    app.post(&format!("/orgs/{org}/plans"), &[("name", "small"), ("quota_gb", "1")]).await.assert_status(422);
    let small: i64 = plans::table.filter(plans::name.eq("Small")).select(plans::id).first(&mut *app.conn()).unwrap();
    let tiny: i64 = plans::table.filter(plans::name.eq("Tiny")).select(plans::id).first(&mut *app.conn()).unwrap();
    // The default plan is preselected on Add user.
    let form = app.get(&format!("/orgs/{org}/users/new")).await;
    assert!(form.body.contains(&format!(r#"<option value="{small}" selected>"#)), "{}", form.body);
    let small_text = small.to_string();
    for email in ["p1@example.com", "p2@example.com"] {
        add_user(&mut app, org, &[("email", email), ("plan_id", &small_text), ("quota_gb", "")])
            .await
            .assert_status(303);
    }
    assert_eq!(membership(&app, org, "p1@example.com").6, 5);
    assert_eq!(counters(&app, org).1, 10);
    // The plan's change reaches its users; past the organization's quota it is refused.
    app.get(&format!("/orgs/{org}/plans")).await;
    app.post(&format!("/orgs/{org}/plans/{small}/edit"), &[("name", "Small"), ("quota_gb", "6"), ("is_default", "on")])
        .await
        .assert_status(303);
    assert_eq!(membership(&app, org, "p2@example.com").6, 6);
    assert_eq!(counters(&app, org).1, 12);
    let refused = app.post(&format!("/orgs/{org}/plans/{small}/edit"), &[("name", "Small"), ("quota_gb", "7")]).await;
    refused.assert_status(422);
    assert!(refused.body.contains("2 users are on this plan"), "{}", refused.body);
    assert_eq!(counters(&app, org).1, 12);
    // In use: the delete says how many and offers to move them.
    let in_use = app.post(&format!("/orgs/{org}/plans/{small}/delete"), &[]).await;
    in_use.assert_status(409);
    assert!(in_use.body.contains("2 users are on this plan") && in_use.body.contains(r#"name="move_to""#));
    app.post(&format!("/orgs/{org}/plans/{small}/delete"), &[("move_to", &tiny.to_string())]).await.assert_status(303);
    assert_eq!(membership(&app, org, "p1@example.com").6, 1);
    assert_eq!(counters(&app, org).1, 2);
    app.post(&format!("/orgs/{org}/plans/{tiny}/delete"), &[("move_to", "none")]).await.assert_status(303);
    assert_eq!(plans::table.count().get_result::<i64>(&mut *app.conn()).unwrap(), 0);
    assert_eq!(membership(&app, org, "p1@example.com").6, 1, "each keeps the quota they had");
}

/// Organization B as the tenancy matrix compares it: memberships, plans, the organization's
/// addresses and counters, and how many emails exist.
type Snapshot = (Vec<(i64, String, bool, i64)>, Vec<(i64, String, i64)>, (String, String, i64, i64), i64);

/// Every `/orgs/{id}/...` route and method, tried on organization B by everyone who is not its
/// Delegate: refused, and nothing in the database changes.
async fn nobody_but_the_organizations_delegates_gets_in(mut app: TestApp) {
    let org_a = org_with_admin(&mut app, "Tenant A", "100", "").await;
    app.get("/admin/organizations/new").await;
    app.post(
        "/admin/organizations",
        &[("name", "Tenant B"), ("quota_gb", "100"), ("seats", ""), ("admin_email", "b.admin@example.com")],
    )
    .await
    .assert_status(303);
    let org_b = app.org_id("Tenant B");
    let b_admin = account_id(&mut app.conn(), "b.admin@example.com");
    let now = app.clock.now();
    diesel::insert_into(plans::table)
        .values((
            plans::organization_id.eq(org_b),
            plans::name.eq("B plan"),
            plans::name_key.eq("b plan"),
            plans::quota_gb.eq(1i64),
            plans::created_at.eq(now),
            plans::updated_at.eq(now),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    let b_plan: i64 =
        plans::table.filter(plans::organization_id.eq(org_b)).select(plans::id).first(&mut *app.conn()).unwrap();

    // People: a plain member of B, a removed Delegate of B, a platform administrator who is not
    // B's Delegate (the bootstrap admin, Delegate of A), and an anonymous client.
    let member = app.insert_account("member@example.com", PASSWORD, false);
    let removed = app.insert_account("removed@example.com", PASSWORD, false);
    for (account, status, delegate) in [(member, "active", false), (removed, "removed", true)] {
        diesel::insert_into(memberships::table)
            .values((
                memberships::organization_id.eq(org_b),
                memberships::account_id.eq(account),
                memberships::status.eq(status),
                memberships::is_delegate.eq(delegate),
                memberships::created_at.eq(now),
                memberships::updated_at.eq(now),
            ))
            .execute(&mut *app.conn())
            .unwrap();
    }
    let snapshot = |app: &TestApp| -> Snapshot {
        let mut conn = app.conn();
        let m = memberships::table
            .filter(memberships::organization_id.eq(org_b))
            .order(memberships::id)
            .select((memberships::account_id, memberships::status, memberships::is_delegate, memberships::quota_gb))
            .load(&mut *conn)
            .unwrap();
        let p = plans::table
            .filter(plans::organization_id.eq(org_b))
            .order(plans::id)
            .select((plans::id, plans::name, plans::quota_gb))
            .load(&mut *conn)
            .unwrap();
        let o = organizations::table
            .find(org_b)
            .select((
                organizations::contact_email,
                organizations::admin_email,
                organizations::member_count,
                organizations::quota_allocated_gb,
            ))
            .first(&mut *conn)
            .unwrap();
        let out: i64 = outbox::table.count().get_result(&mut *conn).unwrap();
        (m, p, o, out)
    };
    let before = snapshot(&app);

    let gets = [
        "".to_owned(),
        "/users".into(),
        "/users.csv".into(),
        "/users/new".into(),
        format!("/users/{b_admin}/edit"),
        "/plans".into(),
        "/properties".into(),
        "/audit".into(),
    ];
    let posts: Vec<(String, Vec<(&str, String)>)> = vec![
        ("/users".into(), vec![("email", "intruder@example.com".into()), ("quota_gb", "1".into())]),
        (format!("/users/{b_admin}/edit"), vec![("quota_gb", "50".into())]),
        (format!("/users/{b_admin}/validate"), vec![]),
        (format!("/users/{b_admin}/remove"), vec![]),
        (format!("/users/{b_admin}/resend"), vec![]),
        ("/plans".into(), vec![("name", "Intruder".into()), ("quota_gb", "1".into())]),
        (format!("/plans/{b_plan}/edit"), vec![("name", "Hacked".into()), ("quota_gb", "2".into())]),
        (format!("/plans/{b_plan}/delete"), vec![("move_to", "none".into())]),
        (
            "/properties".into(),
            vec![("contact_email", "x@evil.example".into()), ("admin_email", "x@evil.example".into())],
        ),
    ];
    let mut clients = vec![("platform admin, Delegate of A only", app.client())];
    clients[0].1.login_as_admin().await;
    for (who, email) in [("plain member of B", "member@example.com"), ("removed Delegate of B", "removed@example.com")]
    {
        let mut client = app.client();
        client.login(email, PASSWORD).await.assert_redirect("/");
        clients.push((who, client));
    }
    clients.push(("anonymous", app.client()));
    for (who, client) in clients.iter_mut() {
        for path in &gets {
            let response = client.get(&format!("/orgs/{org_b}{path}")).await;
            let expected = if *who == "anonymous" { 303 } else { 403 };
            assert_eq!(response.status.as_u16(), expected, "{who}: GET /orgs/{org_b}{path}");
        }
        // A page with a valid CSRF token first, so the refusal is about the role.
        client.get("/").await;
        for (path, fields) in &posts {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = client.post(&format!("/orgs/{org_b}{path}"), &fields).await;
            assert!(
                matches!(response.status.as_u16(), 303 | 403),
                "{who}: POST /orgs/{org_b}{path} got {}",
                response.status
            );
            if response.status.as_u16() == 303 {
                assert!(
                    response.location().starts_with("/login"),
                    "{who}: POST {path} went to {}",
                    response.location()
                );
            }
        }
    }
    assert_eq!(snapshot(&app), before, "nothing of B changed");

    // B's ids in A's forms are refused too.
    app.get(&format!("/orgs/{org_a}/users/new")).await;
    let foreign_plan = app
        .post(&format!("/orgs/{org_a}/users"), &[("email", "x@example.com"), ("plan_id", &b_plan.to_string())])
        .await;
    foreign_plan.assert_status(422);
    assert!(foreign_plan.body.contains("this organization&#39;s plans"), "{}", foreign_plan.body);
    app.get(&format!("/orgs/{org_a}/users/{b_admin}/edit")).await.assert_status(404);
    app.get(&format!("/orgs/{org_a}/users")).await;
    app.post(&format!("/orgs/{org_a}/users/{b_admin}/remove"), &[]).await.assert_status(404);
    app.post(&format!("/orgs/{org_a}/plans/{b_plan}/delete"), &[("move_to", "none")]).await.assert_status(404);
    assert_eq!(snapshot(&app), before);
}

mod export_chunks {
    use super::*;
    on_both_backends!(the_users_csv_walks_past_one_chunk_every_row_once);
}

/// More members than one export chunk, with ties on the sort column: every row comes out once,
/// in the list's order (sort value, then membership id).
async fn the_users_csv_walks_past_one_chunk_every_row_once(mut app: TestApp) {
    let org = org_with_admin(&mut app, "Big Co", "1000000", "").await;
    let now = app.clock.now();
    let total = orgportal::web::csv_export::CHUNK_ROWS as usize + 5;
    {
        // One row at a time (diesel's batch insert is not offered over both backends at once),
        // in one transaction.
        let mut conn = app.conn();
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            for n in 0..total {
                let email = format!("member{n:05}@big.example");
                diesel::insert_into(accounts::table)
                    .values((
                        accounts::email.eq(&email),
                        accounts::status.eq("active"),
                        accounts::created_at.eq(now),
                        accounts::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                let id: i64 = accounts::table.filter(accounts::email.eq(&email)).select(accounts::id).first(conn)?;
                diesel::insert_into(memberships::table)
                    .values((
                        memberships::organization_id.eq(org),
                        memberships::account_id.eq(id),
                        memberships::status.eq("active"),
                        memberships::quota_gb.eq((n % 7) as i64),
                        memberships::created_at.eq(now),
                        memberships::updated_at.eq(now),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })
        .unwrap();
    }
    let expected = |app: &TestApp, order: &str| -> Vec<i64> {
        let mut rows: Vec<(i64, i64, i64)> = memberships::table
            .filter(memberships::organization_id.eq(org))
            .select((memberships::quota_gb, memberships::id, memberships::account_id))
            .load(&mut *app.conn())
            .unwrap();
        match order {
            "quota_desc" => rows.sort_by_key(|r| std::cmp::Reverse((r.0, r.1))),
            _ => rows.sort_by_key(|r| r.1),
        }
        rows.into_iter().map(|r| r.2).collect()
    };
    for (query, order) in [("sort=quota&dir=desc", "quota_desc"), ("", "natural")] {
        let csv = app.get(&format!("/orgs/{org}/users.csv?{query}")).await;
        csv.assert_status(200);
        let ids: Vec<i64> =
            csv.body.lines().skip(1).map(|line| line.rsplit(',').next().unwrap().parse().unwrap()).collect();
        assert_eq!(ids.len(), total + 1, "{query}");
        assert_eq!(ids, expected(&app, order), "{query}");
    }
}
