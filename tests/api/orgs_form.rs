//! Add and Edit organization: rules, every bad input, races and audit events.

use diesel::prelude::*;
use orgportal::db::schema::{accounts, audit_events, memberships, organizations};

use crate::helpers::{escape_html, row_ids, TestApp, ADMIN_EMAIL};
use crate::on_both_backends;

on_both_backends!(
    adding_with_own_email_makes_you_its_administrator,
    adding_with_an_unknown_email_invites_an_account,
    every_field_error_is_shown_at_once_with_values_kept,
    names_are_unique_ignoring_case,
    bad_input_is_refused_or_stored_escaped_never_a_500,
    two_simultaneous_adds_of_one_name_leave_one_organization,
    edit_changes_name_quota_seats_and_is_audited,
    edit_refuses_quota_or_seats_below_what_is_in_use,
    contact_person_is_read_only_except_on_the_default_organization,
    platform_pages_refuse_non_administrators,
);

async fn open_form(app: &mut TestApp) {
    app.get("/admin/organizations/new").await.assert_status(200);
}

async fn add(app: &mut TestApp, name: &str, quota: &str, seats: &str, admin: &str) -> crate::helpers::Response {
    open_form(app).await;
    app.post("/admin/organizations", &[("name", name), ("quota_gb", quota), ("seats", seats), ("admin_email", admin)])
        .await
}

fn org_row(app: &TestApp, name: &str) -> (i64, String, String, i64, Option<i64>, i64) {
    organizations::table
        .filter(organizations::name.eq(name))
        .select((
            organizations::id,
            organizations::contact_email,
            organizations::admin_email,
            organizations::quota_gb,
            organizations::seats,
            organizations::member_count,
        ))
        .first(&mut *app.conn())
        .unwrap()
}

async fn adding_with_own_email_makes_you_its_administrator(mut app: TestApp) {
    app.login_as_admin().await;
    let response = add(&mut app, "Acme Research", "250", "10", ADMIN_EMAIL).await;
    response.assert_redirect("/admin/organizations?q=Acme+Research&by=name");
    let (id, contact, admin_email, quota, seats, members) = org_row(&app, "Acme Research");
    assert_eq!(
        (contact.as_str(), admin_email.as_str(), quota, seats, members),
        (ADMIN_EMAIL, ADMIN_EMAIL, 250, Some(10), 1)
    );
    let (status, delegate, membership_quota): (String, bool, i64) = memberships::table
        .inner_join(accounts::table)
        .filter(memberships::organization_id.eq(id))
        .filter(accounts::email.eq(ADMIN_EMAIL))
        .select((memberships::status, memberships::is_delegate, memberships::quota_gb))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!((status.as_str(), delegate, membership_quota), ("active", true, 0));
    // Manage appears at once on the new row, and the flash names the organization.
    let list = app.get(response.location()).await;
    assert!(list.body.contains("Organization “Acme Research” added."));
    assert_eq!(row_ids(&list.body, "org"), vec![id]);
    assert!(list.body.contains(&format!(r#"href="/orgs/{id}""#)));
    app.get(&format!("/orgs/{id}")).await.assert_status(200);

    let event: (String, Option<i64>, String, String) = audit_events::table
        .filter(audit_events::action.eq("organization.created"))
        .select((
            audit_events::actor_email,
            audit_events::organization_id,
            audit_events::organization_name,
            audit_events::details,
        ))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!((event.0.as_str(), event.1, event.2.as_str()), (ADMIN_EMAIL, Some(id), "Acme Research"));
    assert!(event.3.contains(r#""quota_gb":250"#), "{}", event.3);
}

async fn adding_with_an_unknown_email_invites_an_account(mut app: TestApp) {
    app.login_as_admin().await;
    add(&mut app, "Zentrum Nord", "0", "", "Chef@Zentrum.example").await.assert_status(303);
    let (id, contact, _, _, seats, _) = org_row(&app, "Zentrum Nord");
    assert_eq!((contact.as_str(), seats), ("chef@zentrum.example", None));
    let (account_status, password, admin_flag): (String, Option<String>, bool) = accounts::table
        .filter(accounts::email.eq("chef@zentrum.example"))
        .select((accounts::status, accounts::password_hash, accounts::is_platform_admin))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!((account_status.as_str(), password, admin_flag), ("invited", None, false));
    let status: String = memberships::table
        .filter(memberships::organization_id.eq(id))
        .select(memberships::status)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(status, "invited");
    let list = app.get("/admin/organizations?q=zentrum").await;
    assert!(!list.body.contains(&format!(r#"href="/orgs/{id}""#)), "no Manage on another's organization");
}

async fn every_field_error_is_shown_at_once_with_values_kept(mut app: TestApp) {
    app.login_as_admin().await;
    let response = add(&mut app, "   ", "12.5", "0", "not-an-email").await;
    response.assert_status(422);
    for id in ["name-error", "quota_gb-error", "seats-error", "admin_email-error"] {
        assert!(response.body.contains(&format!(r#"id="{id}""#)), "{id} missing");
    }
    assert!(response.body.contains(r#"value="12.5""#));
    assert!(response.body.contains(r#"value="not-an-email""#));
    let count: i64 = organizations::table.count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(count, 1, "nothing was added");
}

async fn names_are_unique_ignoring_case(mut app: TestApp) {
    app.login_as_admin().await;
    add(&mut app, "Müller GmbH", "10", "", ADMIN_EMAIL).await.assert_status(303);
    for clash in ["MÜLLER GMBH", "müller gmbh", "  Mu\u{0308}ller GmbH "] {
        let response = add(&mut app, clash, "10", "", ADMIN_EMAIL).await;
        response.assert_status(422);
        assert!(response.body.contains("already exists"), "{clash}");
    }
    let count: i64 = organizations::table.count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(count, 2);
}

async fn bad_input_is_refused_or_stored_escaped_never_a_500(mut app: TestApp) {
    app.login_as_admin().await;
    let ten_kb = "n".repeat(10_240);
    for (name, quota, seats, email) in [
        ("", "", "", ""),
        ("\t\n ", " ", "  ", "  "),
        (ten_kb.as_str(), "1", "1", ADMIN_EMAIL),
        ("Nul\u{0}Byte", "1", "", ADMIN_EMAIL),
        ("Bidi\u{202e}Trick", "1", "", ADMIN_EMAIL),
        ("Zero\u{200b}Width", "1", "", ADMIN_EMAIL),
        ("ok", "1e9", "-1", "a@b@c"),
        ("ok", "99999999999999999999", "1.0", "x@\u{0}.com"),
    ] {
        let response = add(&mut app, name, quota, seats, email).await;
        response.assert_status(422);
    }
    let hostile = "<script>alert('x')</script> & \"Co\"";
    add(&mut app, hostile, "1", "", ADMIN_EMAIL).await.assert_status(303);
    let list = app.get("/admin/organizations?q=script").await;
    assert!(!list.body.contains("<script>alert"));
    assert!(list.body.contains(&escape_html(hostile)), "shown escaped");
    let stored: String = organizations::table
        .filter(organizations::name_key.like("%script%"))
        .select(organizations::name)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(stored, hostile, "stored exactly as typed (trimmed)");
}

async fn two_simultaneous_adds_of_one_name_leave_one_organization(app: TestApp) {
    let mut first = app.client();
    let mut second = app.client();
    for browser in [&mut first, &mut second] {
        browser.login_as_admin().await;
        open_form(browser).await;
    }
    let form = [("name", "Race Condition Ltd"), ("quota_gb", "5"), ("seats", ""), ("admin_email", ADMIN_EMAIL)];
    let (a, b) = futures_util::future::join(
        first.post("/admin/organizations", &form),
        second.post("/admin/organizations", &form),
    )
    .await;
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [303, 422]);
    let loser = if a.status.as_u16() == 422 { &a } else { &b };
    assert!(loser.body.contains("already exists"));
    let count: i64 = organizations::table
        .filter(organizations::name.eq("Race Condition Ltd"))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(count, 1);
    let created: i64 = audit_events::table
        .filter(audit_events::action.eq("organization.created"))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(created, 1, "the loser's audit event was rolled back with it");
}

async fn edit_changes_name_quota_seats_and_is_audited(mut app: TestApp) {
    app.login_as_admin().await;
    add(&mut app, "Old Name", "10", "3", "boss@old.example").await.assert_status(303);
    let id = app.org_id("Old Name");
    let form = app.get(&format!("/admin/organizations/{id}/edit")).await;
    form.assert_status(200);
    assert!(form.body.contains(r#"value="Old Name""#));
    assert!(form.body.contains("Contact Person"));
    let response = app
        .post(&format!("/admin/organizations/{id}/edit"), &[("name", "New Name"), ("quota_gb", "20"), ("seats", "")])
        .await;
    response.assert_redirect("/admin/organizations?q=New+Name&by=name");
    let (_, contact, _, quota, seats, _) = org_row(&app, "New Name");
    assert_eq!((contact.as_str(), quota, seats), ("boss@old.example", 20, None));
    let details: String = audit_events::table
        .filter(audit_events::action.eq("organization.updated"))
        .filter(audit_events::organization_id.eq(id))
        .select(audit_events::details)
        .first(&mut *app.conn())
        .unwrap();
    assert!(
        details.contains(r#""before":{"#)
            && details.contains(r#""name":"Old Name""#)
            && details.contains(r#""name":"New Name""#),
        "{details}"
    );
    app.get("/admin/organizations/424242/edit").await.assert_status(404);
    app.get("/admin/organizations/abc/edit").await.assert_status(404);
}

async fn edit_refuses_quota_or_seats_below_what_is_in_use(mut app: TestApp) {
    app.login_as_admin().await;
    add(&mut app, "Busy Org", "100", "10", ADMIN_EMAIL).await.assert_status(303);
    let id = app.org_id("Busy Org");
    diesel::update(organizations::table.find(id))
        .set((organizations::quota_allocated_gb.eq(60i64), organizations::member_count.eq(4i64)))
        .execute(&mut *app.conn())
        .unwrap();
    app.get(&format!("/admin/organizations/{id}/edit")).await;
    let response = app
        .post(&format!("/admin/organizations/{id}/edit"), &[("name", "Busy Org"), ("quota_gb", "59"), ("seats", "3")])
        .await;
    response.assert_status(422);
    assert!(response.body.contains("60 GB are allocated"));
    assert!(response.body.contains("4 seats are in use"));
    assert!(response.body.contains(r#"value="59""#), "values are kept");
    let (_, _, _, quota, seats, _) = org_row(&app, "Busy Org");
    assert_eq!((quota, seats), (100, Some(10)));
    // Exactly at the usage is fine.
    app.post(&format!("/admin/organizations/{id}/edit"), &[("name", "Busy Org"), ("quota_gb", "60"), ("seats", "4")])
        .await
        .assert_status(303);
}

async fn contact_person_is_read_only_except_on_the_default_organization(mut app: TestApp) {
    app.login_as_admin().await;
    add(&mut app, "Fixed Contact", "1", "", "first@fixed.example").await.assert_status(303);
    let id = app.org_id("Fixed Contact");
    let form = app.get(&format!("/admin/organizations/{id}/edit")).await;
    assert!(form.body.contains("readonly"));
    app.post(
        &format!("/admin/organizations/{id}/edit"),
        &[("name", "Fixed Contact"), ("quota_gb", "1"), ("seats", ""), ("admin_email", "sneaky@evil.example")],
    )
    .await
    .assert_status(303);
    assert_eq!(org_row(&app, "Fixed Contact").1, "first@fixed.example");

    let default = app.org_id("Default");
    let form = app.get(&format!("/admin/organizations/{default}/edit")).await;
    assert!(form.body.contains(">Administrator</label>"), "labelled Administrator while no contact is set");
    let missing = app
        .post(&format!("/admin/organizations/{default}/edit"), &[("name", "Default"), ("quota_gb", "0"), ("seats", "")])
        .await;
    missing.assert_status(422);
    assert!(missing.body.contains(r#"id="admin_email-error""#));
    app.post(
        &format!("/admin/organizations/{default}/edit"),
        &[("name", "Headquarters"), ("quota_gb", "0"), ("seats", ""), ("admin_email", "Help@HQ.example")],
    )
    .await
    .assert_status(303);
    let (_, contact, admin_email, _, _, _) = org_row(&app, "Headquarters");
    assert_eq!((contact.as_str(), admin_email.as_str()), ("help@hq.example", "help@hq.example"));
    // Setting the contact does not make anyone an administrator.
    let accounts_named: i64 =
        accounts::table.filter(accounts::email.eq("help@hq.example")).count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(accounts_named, 0);
    let form = app.get(&format!("/admin/organizations/{default}/edit")).await;
    assert!(form.body.contains(">Contact Person</label>"));
}

async fn platform_pages_refuse_non_administrators(mut app: TestApp) {
    app.insert_account("user@example.com", "quiet-river-stone-41", false);
    app.login("user@example.com", "quiet-river-stone-41").await.assert_redirect("/");
    for path in [
        "/admin/organizations",
        "/admin/organizations/new",
        "/admin/organizations/1/edit",
        "/admin/administrators",
        "/admin/audit",
    ] {
        app.get(path).await.assert_status(403);
    }
    app.get("/account").await;
    let response = app
        .post("/admin/organizations", &[("name", "Sneaky"), ("quota_gb", "1"), ("admin_email", "user@example.com")])
        .await;
    response.assert_status(403);
    let count: i64 = organizations::table.count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(count, 1);
}
