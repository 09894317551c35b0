//! An organization's own pages: its home (usage, memberships, awaiting validation, latest
//! events), its properties and its audit log; only its Delegates get in.

use diesel::prelude::*;
use orgportal::db::schema::{audit_events, memberships, organizations};

use crate::helpers::{escape_html, row_ids, TestApp, ADMIN_EMAIL};
use crate::on_both_backends;

on_both_backends!(
    delegates_change_the_contact_person_and_admin_email,
    everyone_but_a_delegate_is_refused_and_nothing_changes,
    the_home_shows_usage_memberships_and_who_awaits_validation,
);

async fn add_org(app: &mut TestApp, name: &str, admin_email: &str) -> i64 {
    app.get("/admin/organizations/new").await;
    app.post(
        "/admin/organizations",
        &[("name", name), ("quota_gb", "100"), ("seats", "20"), ("admin_email", admin_email)],
    )
    .await
    .assert_status(303);
    app.org_id(name)
}

fn addresses(app: &TestApp, id: i64) -> (String, String) {
    organizations::table
        .find(id)
        .select((organizations::contact_email, organizations::admin_email))
        .first(&mut *app.conn())
        .unwrap()
}

async fn delegates_change_the_contact_person_and_admin_email(mut app: TestApp) {
    app.login_as_admin().await;
    let id = add_org(&mut app, "Props Co", ADMIN_EMAIL).await;
    let page = app.get(&format!("/orgs/{id}/properties")).await;
    page.assert_status(200);
    assert!(page.body.contains("Props Co") && page.body.contains("100 GB"));
    assert!(page.body.contains(&format!(r#"value="{ADMIN_EMAIL}""#)));

    let refused =
        app.post(&format!("/orgs/{id}/properties"), &[("contact_email", "not an email"), ("admin_email", "")]).await;
    refused.assert_status(422);
    assert!(refused.body.contains(r#"value="not an email""#), "the value typed is kept");
    assert!(refused.body.contains("contact_email-error") && refused.body.contains("admin_email-error"));
    assert_eq!(addresses(&app, id), (ADMIN_EMAIL.to_owned(), ADMIN_EMAIL.to_owned()));

    app.post(
        &format!("/orgs/{id}/properties"),
        &[("contact_email", " New.Contact@Example.com "), ("admin_email", "help@example.com")],
    )
    .await
    .assert_redirect(&format!("/orgs/{id}/properties"));
    assert_eq!(addresses(&app, id), ("new.contact@example.com".to_owned(), "help@example.com".to_owned()));
    // The new contact is what the Organizations page shows and searches.
    let found = app.get("/admin/organizations?q=new.contact&by=contact").await;
    assert_eq!(row_ids(&found.body, "org"), [id]);
    let old = app.get("/admin/organizations?q=admin%40default&by=contact").await;
    assert!(!row_ids(&old.body, "org").contains(&id), "the old contact no longer finds it");

    // Recorded in the organization's own log, not the platform's.
    let org_log = app.get(&format!("/orgs/{id}/audit")).await;
    org_log.assert_status(200);
    assert!(org_log.body.contains("organization.properties_changed"));
    assert!(org_log.body.contains(&escape_html("new.contact@example.com")));
    assert!(!app.get("/admin/audit").await.body.contains("organization.properties_changed"));
    let scope: String = audit_events::table
        .filter(audit_events::action.eq("organization.properties_changed"))
        .select(audit_events::scope)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(scope, "organization");
    assert!(app.get(&format!("/orgs/{id}")).await.body.contains("organization.properties_changed"));
}

async fn everyone_but_a_delegate_is_refused_and_nothing_changes(mut app: TestApp) {
    app.login_as_admin().await;
    let id = add_org(&mut app, "Foreign Co", "someone.else@example.com").await;
    let before = addresses(&app, id);
    // A platform administrator who is not its Delegate.
    for path in [format!("/orgs/{id}"), format!("/orgs/{id}/properties"), format!("/orgs/{id}/audit")] {
        app.get(&path).await.assert_status(403);
    }
    app.get("/").await;
    app.post(
        &format!("/orgs/{id}/properties"),
        &[("contact_email", "x@example.com"), ("admin_email", "x@example.com")],
    )
    .await
    .assert_status(403);
    // A Delegate whose membership was removed.
    let default_id = app.org_id("Default");
    diesel::update(memberships::table.filter(memberships::organization_id.eq(default_id)))
        .set(memberships::status.eq("removed"))
        .execute(&mut *app.conn())
        .unwrap();
    app.get(&format!("/orgs/{default_id}/properties")).await.assert_status(403);
    // A signed-out client is sent to sign in.
    let mut anonymous = app.client();
    let response = anonymous.get(&format!("/orgs/{id}/properties")).await;
    assert_eq!(response.status.as_u16(), 303);
    assert!(response.location().starts_with("/login?next="));
    assert_eq!(addresses(&app, id), before);
    let changed: i64 = audit_events::table
        .filter(audit_events::action.eq("organization.properties_changed"))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(changed, 0);
}

async fn the_home_shows_usage_memberships_and_who_awaits_validation(mut app: TestApp) {
    app.login_as_admin().await;
    let id = add_org(&mut app, "Home Co", ADMIN_EMAIL).await;
    let waiting = app.insert_account("waiting.person@example.com", "mossy-anchor-74-lantern", false);
    let now = app.clock.now();
    diesel::insert_into(memberships::table)
        .values((
            memberships::organization_id.eq(id),
            memberships::account_id.eq(waiting),
            memberships::status.eq("awaiting_validation"),
            memberships::quota_gb.eq(30i64),
            memberships::created_at.eq(now),
            memberships::updated_at.eq(now),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    diesel::update(organizations::table.find(id))
        .set((organizations::member_count.eq(2i64), organizations::quota_allocated_gb.eq(30i64)))
        .execute(&mut *app.conn())
        .unwrap();
    let page = app.get(&format!("/orgs/{id}")).await;
    page.assert_status(200);
    assert!(page.body.contains(r#"<meter min="0" max="20" value="2""#), "{}", page.body);
    assert!(page.body.contains(r#"<meter min="0" max="100" value="30""#));
    assert!(page.body.contains(r#"data-fact="seats">2 of 20<"#));
    assert!(page.body.contains(r#"data-fact="quota">30 of 100 GB<"#));
    assert!(page.body.contains(r#"data-status="awaiting_validation">1<"#));
    assert!(page.body.contains(r#"data-status="active">1<"#));
    assert!(page.body.contains(r#"data-status="removed">0<"#));
    assert!(page.body.contains("waiting.person@example.com"));
    // Awaiting validation comes before the counts of others and the events.
    let awaiting_at = page.body.find("waiting.person@example.com").unwrap();
    assert!(awaiting_at < page.body.find("Latest events").unwrap());
}
