//! Removal with two administrators: the page, Initiate, the countdown, Cancel, Decline,
//! Approve (once, also under concurrent approvals), what goes and what stays, the toolbar
//! and the platform property.

use chrono::Duration;
use diesel::prelude::*;
use orgportal::db::schema::{
    accounts, audit_events, invitations, memberships, organizations, outbox, removal_requests,
};

use crate::helpers::{account_id, row_ids, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::on_both_backends;

const B_EMAIL: &str = "second.admin@example.com";
const B_PASSWORD: &str = "lichen-summit-82-parade";
const CONTACT: &str = "contact.person@example.com";

on_both_backends!(
    a_notified_request_counts_down_then_awaits_a_second_administrator,
    cancel_and_decline_withdraw_the_request_and_tell_the_contact,
    without_notice_or_contact_the_box_is_absent_and_approval_is_immediate,
    approval_removes_everything_of_the_organization_and_keeps_the_history,
    four_simultaneous_approvals_remove_once,
    the_toolbar_routes_to_the_page_that_does_the_action,
    days_to_action_removal_is_validated_and_audited,
);

/// Administrator A (the bootstrap admin) signed in, B signed in in a second browser, and an
/// organization added through the form with `CONTACT` as its administrator.
async fn two_admins_and_an_org(app: &mut TestApp, name: &str) -> (TestApp, i64) {
    app.insert_account(B_EMAIL, B_PASSWORD, true);
    app.login_as_admin().await;
    app.get("/admin/organizations/new").await;
    app.post("/admin/organizations", &[("name", name), ("quota_gb", "50"), ("seats", "10"), ("admin_email", CONTACT)])
        .await
        .assert_status(303);
    let mut b = app.client();
    b.login(B_EMAIL, B_PASSWORD).await.assert_redirect("/");
    let id = app.org_id(name);
    (b, id)
}

/// Moving the clock by days ends both sessions (idle timeout): sign in again.
async fn sign_in_again(a: &mut TestApp, b: &mut TestApp) {
    a.login_as_admin().await;
    b.login(B_EMAIL, B_PASSWORD).await.assert_redirect("/");
}

/// The Removal Status a viewer reads in the organization's row.
async fn status_in_list(client: &mut TestApp, org_id: i64) -> String {
    let page = client.get("/admin/organizations?per_page=100").await;
    page.assert_status(200);
    let row_start = page.body.find(&format!(r#"data-org-id="{org_id}""#)).expect("the row is listed");
    let row = &page.body[row_start..];
    let row = &row[..row.find("</tr>").unwrap()];
    match row.find(r#"class="badge badge-removal">"#) {
        Some(at) => {
            let rest = &row[at + r#"class="badge badge-removal">"#.len()..];
            rest[..rest.find('<').unwrap()].to_owned()
        }
        None => String::new(),
    }
}

fn outbox_of(app: &TestApp, kind: &str) -> Vec<(String, String)> {
    outbox::table
        .filter(outbox::kind.eq(kind))
        .order(outbox::id.asc())
        .select((outbox::recipient, outbox::status))
        .load(&mut *app.conn())
        .unwrap()
}

fn org_exists(app: &TestApp, id: i64) -> bool {
    diesel::select(diesel::dsl::exists(organizations::table.find(id))).get_result(&mut *app.conn()).unwrap()
}

async fn a_notified_request_counts_down_then_awaits_a_second_administrator(mut a: TestApp) {
    let (mut b, id) = two_admins_and_an_org(&mut a, "Countdown Co").await;
    let page = a.get(&format!("/admin/organizations/{id}/removal")).await;
    page.assert_status(200);
    assert!(page.body.contains("Request to remove organization"));
    assert!(page.body.contains(r#"name="notify_contact" value="on" checked"#), "checked by default");
    assert!(page.body.contains("Send notification to contact person"));
    assert!(page.body.contains(r#"data-fact="users">1<"#), "what will be lost: {}", page.body);
    assert!(page.body.contains(r#"data-fact="seats">1 of 10<"#));
    assert!(page.body.contains(r#"data-fact="quota">0 GB of 50 GB<"#));

    let initiated_at = a.clock.now();
    a.post(&format!("/admin/organizations/{id}/removal"), &[("notify_contact", "on")]).await.assert_status(303);
    let actionable_at: chrono::NaiveDateTime =
        removal_requests::table.find(id).select(removal_requests::actionable_at).first(&mut *a.conn()).unwrap();
    let wait = actionable_at - initiated_at;
    assert!(wait >= Duration::days(7) && wait < Duration::days(7) + Duration::minutes(1), "{wait}");
    assert_eq!(outbox_of(&a, "removal_notice"), [(CONTACT.to_owned(), "queued".to_owned())]);
    // B is asked to approve when it becomes actionable: queued now, due then.
    let (to, due): (String, chrono::NaiveDateTime) = outbox::table
        .filter(outbox::kind.eq("removal_awaits_approval"))
        .select((outbox::recipient, outbox::next_attempt_at))
        .first(&mut *a.conn())
        .unwrap();
    assert_eq!((to.as_str(), due), (B_EMAIL, actionable_at));

    assert_eq!(status_in_list(&mut a, id).await, "Action in 6 days");
    assert_eq!(status_in_list(&mut b, id).await, "Action in 6 days");

    // Too early for B; never for A.
    let early = b.post(&format!("/admin/organizations/{id}/removal/approve"), &[("password", B_PASSWORD)]).await;
    early.assert_status(409);
    assert!(early.body.contains("cannot be approved yet"));
    let own = a.post(&format!("/admin/organizations/{id}/removal/approve"), &[("password", ADMIN_PASSWORD)]).await;
    own.assert_status(403);
    assert!(own.body.contains("second platform administrator"));
    assert!(org_exists(&a, id));

    // A later change of the property does not move this request.
    a.get("/admin/properties").await;
    a.post("/admin/properties", &[("days_to_action_removal", "30")]).await.assert_status(303);
    let still: chrono::NaiveDateTime =
        removal_requests::table.find(id).select(removal_requests::actionable_at).first(&mut *a.conn()).unwrap();
    assert_eq!(still, actionable_at);

    a.clock.advance(Duration::days(5));
    sign_in_again(&mut a, &mut b).await;
    assert_eq!(status_in_list(&mut a, id).await, "Action in 1 day");
    a.clock.advance(Duration::days(1));
    sign_in_again(&mut a, &mut b).await;
    assert_eq!(status_in_list(&mut b, id).await, "Action today");
    let page = b.get(&format!("/admin/organizations/{id}/removal")).await;
    assert!(!page.body.contains("/removal/approve"), "Approve is not offered before it is allowed");
    assert!(page.body.contains("/removal/decline"));
    assert!(!page.body.contains("/removal/cancel"));

    a.clock.advance(Duration::days(1));
    sign_in_again(&mut a, &mut b).await;
    assert_eq!(status_in_list(&mut a, id).await, "Pending");
    assert_eq!(status_in_list(&mut b, id).await, "Awaiting approval");
    let page = a.get(&format!("/admin/organizations/{id}/removal")).await;
    assert!(page.body.contains("/removal/cancel") && !page.body.contains("/removal/approve"));
    let page = b.get(&format!("/admin/organizations/{id}/removal")).await;
    assert!(page.body.contains("/removal/approve") && page.body.contains("/removal/decline"));

    // The approver's own password confirms it.
    let wrong = b.post(&format!("/admin/organizations/{id}/removal/approve"), &[("password", ADMIN_PASSWORD)]).await;
    wrong.assert_status(422);
    assert!(wrong.body.contains("This is not your password"));
    b.post(&format!("/admin/organizations/{id}/removal/approve"), &[("password", "")]).await.assert_status(422);
    assert!(org_exists(&a, id));
    b.post(&format!("/admin/organizations/{id}/removal/approve"), &[("password", B_PASSWORD)])
        .await
        .assert_redirect("/admin/organizations");
    assert!(!org_exists(&a, id));
    assert!(!row_ids(&a.get("/admin/organizations").await.body, "org").contains(&id));
    assert!(!row_ids(&b.get("/admin/organizations?q=Countdown").await.body, "org").contains(&id));
    assert_eq!(outbox_of(&a, "removal_carried_out"), [(CONTACT.to_owned(), "queued".to_owned())]);

    let (actor, org_name, details): (String, String, String) = audit_events::table
        .filter(audit_events::action.eq("organization.removed"))
        .select((audit_events::actor_email, audit_events::organization_name, audit_events::details))
        .first(&mut *a.conn())
        .unwrap();
    assert_eq!((actor.as_str(), org_name.as_str()), (B_EMAIL, "Countdown Co"));
    assert!(details.contains(ADMIN_EMAIL) && details.contains(B_EMAIL), "{details}");
    // Acting on a removed organization is a clear refusal, not an error.
    b.get(&format!("/admin/organizations/{id}/removal")).await.assert_status(404);
    let late = a.post(&format!("/admin/organizations/{id}/removal/decline"), &[]).await;
    late.assert_status(409);
    assert!(late.body.contains("no longer exists"));
}

async fn cancel_and_decline_withdraw_the_request_and_tell_the_contact(mut a: TestApp) {
    let (mut b, id) = two_admins_and_an_org(&mut a, "Withdrawn Co").await;
    a.get(&format!("/admin/organizations/{id}/removal")).await;
    a.post(&format!("/admin/organizations/{id}/removal"), &[("notify_contact", "on")]).await.assert_status(303);
    // A second request is refused.
    a.get(&format!("/admin/organizations/{id}/removal")).await;
    let again = a.post(&format!("/admin/organizations/{id}/removal"), &[("notify_contact", "on")]).await;
    again.assert_status(409);
    assert!(again.body.contains("already requested"));

    // Only the initiator cancels; only the others decline.
    b.get(&format!("/admin/organizations/{id}/removal")).await;
    let refused = b.post(&format!("/admin/organizations/{id}/removal/cancel"), &[]).await;
    refused.assert_status(403);
    assert!(refused.body.contains("use Decline"));
    let refused = a.post(&format!("/admin/organizations/{id}/removal/decline"), &[]).await;
    refused.assert_status(403);
    assert!(refused.body.contains("use Cancel"));

    b.post(&format!("/admin/organizations/{id}/removal/decline"), &[]).await.assert_status(303);
    assert_eq!(removal_requests::table.count().get_result::<i64>(&mut *a.conn()).unwrap(), 0);
    assert_eq!(status_in_list(&mut a, id).await, "");
    assert_eq!(outbox_of(&a, "removal_withdrawn"), [(CONTACT.to_owned(), "queued".to_owned())]);
    assert_eq!(
        outbox_of(&a, "removal_awaits_approval"),
        [(B_EMAIL.to_owned(), "cancelled".to_owned())],
        "B is no longer asked to approve"
    );

    // Without notification: actionable at once, and nobody to tell when it is cancelled.
    a.get(&format!("/admin/organizations/{id}/removal")).await;
    a.post(&format!("/admin/organizations/{id}/removal"), &[]).await.assert_status(303);
    assert_eq!(status_in_list(&mut a, id).await, "Pending");
    assert_eq!(status_in_list(&mut b, id).await, "Awaiting approval");
    a.get(&format!("/admin/organizations/{id}/removal")).await;
    a.post(&format!("/admin/organizations/{id}/removal/cancel"), &[]).await.assert_status(303);
    assert_eq!(outbox_of(&a, "removal_withdrawn").len(), 1);
    assert_eq!(outbox_of(&a, "removal_notice").len(), 1);
    // Nothing left to act on.
    b.get(&format!("/admin/organizations/{id}/removal")).await;
    b.post(&format!("/admin/organizations/{id}/removal/decline"), &[]).await.assert_status(409);
    let actions: Vec<String> = audit_events::table
        .filter(audit_events::action.like("organization.removal_%"))
        .order(audit_events::id.asc())
        .select(audit_events::action)
        .load(&mut *a.conn())
        .unwrap();
    assert_eq!(
        actions,
        [
            "organization.removal_initiated",
            "organization.removal_declined",
            "organization.removal_initiated",
            "organization.removal_cancelled"
        ]
    );
    assert!(org_exists(&a, id));
}

async fn without_notice_or_contact_the_box_is_absent_and_approval_is_immediate(mut a: TestApp) {
    let (mut b, id) = two_admins_and_an_org(&mut a, "Quick Co").await;
    // The default organization has no contact person: no box.
    let default_id = a.org_id("Default");
    let page = a.get(&format!("/admin/organizations/{default_id}/removal")).await;
    assert!(!page.body.contains("notify_contact"));
    assert!(page.body.contains("no contact person"));

    a.get("/admin/properties").await;
    a.post("/admin/properties", &[("days_to_action_removal", "")]).await.assert_status(303);
    let page = a.get(&format!("/admin/organizations/{id}/removal")).await;
    assert!(!page.body.contains("notify_contact"), "no box while the property is cleared");
    // A box ticked on a stale page is ignored.
    a.post(&format!("/admin/organizations/{id}/removal"), &[("notify_contact", "on")]).await.assert_status(303);
    assert!(outbox_of(&a, "removal_notice").is_empty());
    assert_eq!(status_in_list(&mut b, id).await, "Awaiting approval");
    b.get(&format!("/admin/organizations/{id}/removal")).await;
    b.post(&format!("/admin/organizations/{id}/removal/approve"), &[("password", B_PASSWORD)]).await.assert_status(303);
    assert!(!org_exists(&a, id));
    assert!(outbox_of(&a, "removal_carried_out").is_empty(), "an unnotified contact is not written to");
    // B was asked at once (due now); the request is done before the worker sent it, so the
    // message is withdrawn, and it stays in the outbox after the removal.
    assert_eq!(outbox_of(&a, "removal_awaits_approval"), [(B_EMAIL.to_owned(), "cancelled".to_owned())]);
}

async fn approval_removes_everything_of_the_organization_and_keeps_the_history(mut a: TestApp) {
    let (mut b, id) = two_admins_and_an_org(&mut a, "Doomed Co").await;
    a.get("/admin/organizations/new").await;
    a.post(
        "/admin/organizations",
        &[("name", "Keeper Co"), ("quota_gb", "5"), ("seats", ""), ("admin_email", "shared@example.com")],
    )
    .await
    .assert_status(303);
    let keeper = a.org_id("Keeper Co");
    let now = a.clock.now();
    let only_here = a.insert_account("only.here@example.com", "mossy-anchor-74-lantern", false);
    let shared = account_id(&mut a.conn(), "shared@example.com");
    let admin_id = account_id(&mut a.conn(), ADMIN_EMAIL);
    for account in [only_here, shared, admin_id] {
        diesel::insert_into(memberships::table)
            .values((
                memberships::organization_id.eq(id),
                memberships::account_id.eq(account),
                memberships::status.eq("active"),
                memberships::created_at.eq(now),
                memberships::updated_at.eq(now),
            ))
            .execute(&mut *a.conn())
            .unwrap();
    }
    let contact = account_id(&mut a.conn(), CONTACT);
    let orgs_before = orgportal::db::org_index::count(&mut a.conn()).unwrap();
    let events_before: i64 = audit_events::table.count().get_result(&mut *a.conn()).unwrap();
    let outbox_before: i64 = outbox::table.count().get_result(&mut *a.conn()).unwrap();
    assert_eq!(
        invitations::table
            .filter(invitations::organization_id.eq(id))
            .count()
            .get_result::<i64>(&mut *a.conn())
            .unwrap(),
        1
    );

    a.get(&format!("/admin/organizations/{id}/removal")).await;
    a.post(&format!("/admin/organizations/{id}/removal"), &[]).await.assert_status(303);
    b.get(&format!("/admin/organizations/{id}/removal")).await;
    let done = b.post(&format!("/admin/organizations/{id}/removal/approve"), &[("password", B_PASSWORD)]).await;
    done.assert_redirect("/admin/organizations");

    let remaining: Vec<i64> = accounts::table.select(accounts::id).load(&mut *a.conn()).unwrap();
    assert!(!remaining.contains(&only_here), "belonged nowhere else");
    assert!(!remaining.contains(&contact), "the invited administrator belonged nowhere else");
    assert!(remaining.contains(&shared), "still a member of Keeper Co");
    assert!(remaining.contains(&admin_id), "platform administrators stay");
    assert_eq!(
        memberships::table
            .filter(memberships::organization_id.eq(id))
            .count()
            .get_result::<i64>(&mut *a.conn())
            .unwrap(),
        0
    );
    assert_eq!(
        invitations::table
            .filter(invitations::organization_id.eq(id))
            .count()
            .get_result::<i64>(&mut *a.conn())
            .unwrap(),
        0
    );
    assert!(org_exists(&a, keeper));
    // Counter and search index follow.
    assert_eq!(orgportal::db::org_index::count(&mut a.conn()).unwrap(), orgs_before - 1);
    let found = a.get("/admin/organizations?q=Doomed&by=name").await;
    assert!(row_ids(&found.body, "org").is_empty());
    assert!(found.body.contains("No results"));
    let found = a.get("/admin/organizations?q=contact.person&by=contact").await;
    assert!(row_ids(&found.body, "org").is_empty());
    // History survives: nothing deleted from the audit log or the outbox.
    let events_after: i64 = audit_events::table.count().get_result(&mut *a.conn()).unwrap();
    assert_eq!(events_after, events_before + 2);
    let kept: i64 =
        audit_events::table.filter(audit_events::organization_id.eq(id)).count().get_result(&mut *a.conn()).unwrap();
    assert_eq!(kept, 3, "created, removal initiated, removed");
    let outbox_after: i64 = outbox::table.count().get_result(&mut *a.conn()).unwrap();
    assert!(outbox_after >= outbox_before);
    let invitation_kept: i64 = outbox::table
        .filter(outbox::organization_id.eq(id))
        .filter(outbox::kind.eq("invitation"))
        .count()
        .get_result(&mut *a.conn())
        .unwrap();
    assert_eq!(invitation_kept, 1);
    let flash = a.get("/admin/audit").await;
    assert!(flash.body.contains("organization.removed") && flash.body.contains("Doomed Co"));
}

async fn four_simultaneous_approvals_remove_once(mut a: TestApp) {
    let (_, id) = two_admins_and_an_org(&mut a, "Raced Co").await;
    a.get(&format!("/admin/organizations/{id}/removal")).await;
    a.post(&format!("/admin/organizations/{id}/removal"), &[]).await.assert_status(303);
    let mut approvers = Vec::new();
    for n in 0..4 {
        let email = format!("approver{n}@example.com");
        a.insert_account(&email, B_PASSWORD, true);
        let mut client = a.client();
        client.login(&email, B_PASSWORD).await.assert_redirect("/");
        client.get(&format!("/admin/organizations/{id}/removal")).await.assert_status(200);
        approvers.push(client);
    }
    let path = format!("/admin/organizations/{id}/removal/approve");
    let responses = futures_util::future::join_all(
        approvers.iter_mut().map(|client| client.post(&path, &[("password", B_PASSWORD)])),
    )
    .await;
    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [303, 409, 409, 409], "one removes it, the others are told it is gone");
    for loser in responses.iter().filter(|r| r.status.as_u16() == 409) {
        assert!(loser.body.contains("no longer exists") || loser.body.contains("no removal request"), "{}", loser.body);
    }
    assert!(!org_exists(&a, id));
    let removed: i64 = audit_events::table
        .filter(audit_events::action.eq("organization.removed"))
        .count()
        .get_result(&mut *a.conn())
        .unwrap();
    assert_eq!(removed, 1);
    let listed = orgportal::db::org_index::count(&mut a.conn()).unwrap();
    let counted: i64 = organizations::table.count().get_result(&mut *a.conn()).unwrap();
    assert_eq!(listed, counted);
}

async fn the_toolbar_routes_to_the_page_that_does_the_action(mut a: TestApp) {
    let (_, id) = two_admins_and_an_org(&mut a, "Toolbar Co").await;
    let page = a.get("/admin/organizations?sort=name").await;
    assert!(page.body.contains(&format!(r#"type="radio" name="org_id" value="{id}""#)));
    for action in ["edit", "remove", "cancel", "decline", "approve"] {
        assert!(page.body.contains(&format!(r#"name="action" value="{action}""#)));
    }
    let id_text = id.to_string();
    let post = |action: &'static str| [("org_id", id_text.clone()), ("action", action.to_owned())];
    for (action, to) in [
        ("edit", format!("/admin/organizations/{id}/edit")),
        ("remove", format!("/admin/organizations/{id}/removal")),
        ("approve", format!("/admin/organizations/{id}/removal")),
    ] {
        let fields = post(action);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        a.post("/admin/organizations/selection", &fields).await.assert_redirect(&to);
    }
    // Nothing selected: back to the same list, with a message.
    a.get("/admin/organizations?sort=name").await;
    let back = a
        .post("/admin/organizations/selection", &[("action", "remove"), ("back", "/admin/organizations?sort=name")])
        .await;
    back.assert_redirect("/admin/organizations?sort=name");
    assert!(a.get("/admin/organizations?sort=name").await.body.contains("Select an organization first"));
    // A foreign "back" is not followed.
    a.post("/admin/organizations/selection", &[("action", "edit"), ("back", "https://evil.example/")])
        .await
        .assert_redirect("/admin/organizations");
    a.get("/admin/organizations").await;
    a.post("/admin/organizations/selection", &[("org_id", &id_text), ("action", "explode")]).await.assert_status(422);
}

async fn days_to_action_removal_is_validated_and_audited(mut a: TestApp) {
    a.login_as_admin().await;
    let page = a.get("/admin/properties").await;
    page.assert_status(200);
    assert!(page.body.contains("Days to action organization removal"));
    assert!(page.body.contains(r#"name="days_to_action_removal" type="text" inputmode="numeric" value="7""#));
    for bad in ["0", "366", "two", "1.5"] {
        let refused = a.post("/admin/properties", &[("days_to_action_removal", bad)]).await;
        refused.assert_status(422);
        assert!(refused.body.contains(&format!(r#"value="{bad}""#)), "the value entered is kept");
        assert!(refused.body.contains("days_to_action_removal-error"));
    }
    a.post("/admin/properties", &[("days_to_action_removal", " 14 ")]).await.assert_redirect("/admin/properties");
    assert!(a.get("/admin/properties").await.body.contains(r#"value="14""#));
    a.post("/admin/properties", &[("days_to_action_removal", "")]).await.assert_redirect("/admin/properties");
    assert!(a.get("/admin/properties").await.body.contains(r#"value="""#));
    let changes: Vec<String> = audit_events::table
        .filter(audit_events::action.eq("platform_property.changed"))
        .order(audit_events::id.asc())
        .select(audit_events::details)
        .load(&mut *a.conn())
        .unwrap();
    assert_eq!(changes.len(), 2);
    assert!(changes[0].contains("\"before\":7") && changes[0].contains("\"after\":14"), "{}", changes[0]);
    assert!(changes[1].contains("\"after\":null"), "{}", changes[1]);
    // Not for anyone else.
    let mut plain = a.client();
    plain.insert_account("plain@example.com", B_PASSWORD, false);
    plain.login("plain@example.com", B_PASSWORD).await;
    plain.get("/admin/properties").await.assert_status(403);
    plain.post("/admin/properties", &[("days_to_action_removal", "3")]).await.assert_status(403);
}
