//! The failure a live run found: a removed organization's member kept a cookie, the next
//! account created got the deleted account's id and the cookie woke up as it; the next
//! organization got the removed one's id and its Delegate read the removed one's trail. Ids are
//! never reused and sessions are rows that die with their account, so none of it can happen.

use diesel::prelude::*;
use orgportal::db::schema::{accounts, audit_events};

use crate::helpers::{account_id, TestApp};
use crate::on_both_backends;

on_both_backends!(a_removed_members_cookie_never_becomes_a_new_account);

const B: &str = "second.admin@example.com";
const B_PASSWORD: &str = "lichen-summit-82-parade";
const MEMBER: &str = "member@doomed.example";
const MEMBER_PASSWORD: &str = "harbor-quince-19-lantern";
const NEWCOMER: &str = "newcomer@fresh.example";
const NEWCOMER_PASSWORD: &str = "cobalt-fjord-73-thimble";

async fn a_removed_members_cookie_never_becomes_a_new_account(mut admin: TestApp) {
    admin.insert_account(B, B_PASSWORD, true);
    let member_id = admin.insert_account(MEMBER, MEMBER_PASSWORD, false);
    admin.login_as_admin().await;
    admin.get("/admin/organizations/new").await;
    admin
        .post(
            "/admin/organizations",
            &[("name", "Doomed Co"), ("quota_gb", "50"), ("seats", "10"), ("admin_email", MEMBER)],
        )
        .await
        .assert_status(303);
    let doomed = admin.org_id("Doomed Co");

    // The member signs in and works in its organization; the trail now names its members.
    let mut member = admin.client();
    member.login(MEMBER, MEMBER_PASSWORD).await.assert_redirect("/");
    member.get(&format!("/orgs/{doomed}/audit")).await.assert_status(200);
    let old_cookie = member.copy_of_cookies();

    // The newest organization is removed (no notice, so B approves at once): the member's
    // account has no membership left and goes with it.
    admin.get("/admin/properties").await;
    admin.post("/admin/properties", &[("days_to_action_removal", "")]).await.assert_status(303);
    admin.get(&format!("/admin/organizations/{doomed}/removal")).await;
    admin.post(&format!("/admin/organizations/{doomed}/removal"), &[]).await.assert_status(303);
    let mut b = admin.client();
    b.login(B, B_PASSWORD).await.assert_redirect("/");
    b.get(&format!("/admin/organizations/{doomed}/removal")).await;
    b.post(&format!("/admin/organizations/{doomed}/removal/approve"), &[("password", B_PASSWORD)])
        .await
        .assert_status(303);
    let member_left: i64 =
        accounts::table.filter(accounts::id.eq(member_id)).count().get_result(&mut *admin.conn()).unwrap();
    assert_eq!(member_left, 0, "the member's account went with the organization");

    // A new account (a platform administrator invitation) and a new organization.
    admin.get("/admin/administrators").await;
    admin.post("/admin/administrators", &[("email", "invited.admin@fresh.example")]).await.assert_status(303);
    let invited_id = account_id(&mut admin.conn(), "invited.admin@fresh.example");
    assert!(invited_id > member_id, "the deleted account's id {member_id} was handed out again");
    let newcomer_id = admin.insert_account(NEWCOMER, NEWCOMER_PASSWORD, false);
    assert!(newcomer_id > invited_id);
    admin.get("/admin/organizations/new").await;
    admin
        .post(
            "/admin/organizations",
            &[("name", "Fresh Co"), ("quota_gb", "50"), ("seats", "10"), ("admin_email", NEWCOMER)],
        )
        .await
        .assert_status(303);
    let fresh = admin.org_id("Fresh Co");
    assert!(fresh > doomed, "the removed organization's id {doomed} was handed out again");

    // The old cookie opens nothing: not the console, not the new organization's trail.
    for path in
        ["/admin".to_owned(), "/account".to_owned(), format!("/orgs/{fresh}/audit"), format!("/orgs/{doomed}/audit")]
    {
        let mut replay = old_cookie.copy_of_cookies();
        let response = replay.get(&path).await;
        assert_eq!(response.status.as_u16(), 303, "{path} answered {} to a dead cookie", response.status);
        assert!(response.location().starts_with("/login"), "{path}");
    }

    // The new organization's Delegate sees only its own trail.
    let mut newcomer = admin.client();
    newcomer.login(NEWCOMER, NEWCOMER_PASSWORD).await.assert_redirect("/");
    let trail = newcomer.get(&format!("/orgs/{fresh}/audit")).await;
    trail.assert_status(200);
    assert!(!trail.body.contains(MEMBER), "the removed organization's events leaked");
    let home = newcomer.get(&format!("/orgs/{fresh}")).await;
    home.assert_status(200);
    assert!(!home.body.contains(MEMBER));
    let doomed_events: i64 = audit_events::table
        .filter(audit_events::organization_id.eq(doomed))
        .count()
        .get_result(&mut *admin.conn())
        .unwrap();
    assert!(doomed_events > 0, "the removed organization's history is kept");
}
