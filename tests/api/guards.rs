//! Role guards: anonymous, wrong role, revoked role, organization administrators.

use diesel::prelude::*;
use orgportal::db::schema::{accounts, memberships, organizations};

use crate::helpers::TestApp;
use crate::on_both_backends;

const PLAIN_EMAIL: &str = "plain.user@example.com";
const PLAIN_PASSWORD: &str = "quiet-river-stone-41";

on_both_backends!(
    anonymous_requests_are_sent_to_sign_in,
    plain_account_cannot_open_the_platform_console,
    revoked_platform_role_takes_effect_at_once,
    org_admin_guard_admits_only_active_delegates,
    the_organizations_page_checks_in_the_same_read_as_every_guard,
);

async fn anonymous_requests_are_sent_to_sign_in(mut app: TestApp) {
    app.get("/admin").await.assert_redirect("/login?next=%2Fadmin");
    app.get("/").await.assert_redirect("/login?next=%2F");
    app.get("/account").await.assert_redirect("/login?next=%2Faccount");
    app.get("/orgs/1").await.assert_redirect("/login?next=%2Forgs%2F1");
    app.get("/admin?x=1&y=2").await.assert_redirect("/login?next=%2Fadmin%3Fx%3D1%26y%3D2");
}

async fn plain_account_cannot_open_the_platform_console(mut app: TestApp) {
    app.insert_account(PLAIN_EMAIL, PLAIN_PASSWORD, false);
    app.login(PLAIN_EMAIL, PLAIN_PASSWORD).await.assert_redirect("/");
    let home = app.get("/").await;
    home.assert_status(200);
    assert!(!home.body.contains(r#"href="/admin""#), "no link to a console the account may not use");
    let refused = app.get("/admin").await;
    refused.assert_status(403);
    assert!(refused.body.contains("platform administrators"));
    app.get("/account").await.assert_status(200);
}

async fn revoked_platform_role_takes_effect_at_once(mut app: TestApp) {
    let id = app.insert_account(PLAIN_EMAIL, PLAIN_PASSWORD, true);
    app.login(PLAIN_EMAIL, PLAIN_PASSWORD).await.assert_redirect("/");
    app.get("/admin").await.assert_status(200);
    diesel::update(accounts::table.find(id))
        .set(accounts::is_platform_admin.eq(false))
        .execute(&mut *app.conn())
        .unwrap();
    app.get("/admin").await.assert_status(403);
}

async fn org_admin_guard_admits_only_active_delegates(mut app: TestApp) {
    let default_org: i64 = organizations::table.select(organizations::id).first(&mut *app.conn()).unwrap();
    let path = format!("/orgs/{default_org}");
    // The home page checks with `OrgAdmin`; the lists check inside their own read
    // (`OrgAdminRead`): every answer must be the same.
    let pages = [path.clone(), format!("{path}/users?sort=name"), format!("{path}/audit")];

    let mut admin = app.client();
    admin.login_as_admin().await;
    let page = admin.get(&path).await;
    page.assert_status(200);
    assert!(page.body.contains("Default"));
    // A missing organization and a malformed id look exactly like a foreign one.
    for suffix in ["", "/users", "/audit"] {
        admin.get(&format!("{path}{suffix}")).await.assert_status(200);
        admin.get(&format!("/orgs/999999{suffix}")).await.assert_status(403);
        admin.get(&format!("/orgs/not-a-number{suffix}")).await.assert_status(403);
    }

    let plain = app.insert_account(PLAIN_EMAIL, PLAIN_PASSWORD, false);
    app.login(PLAIN_EMAIL, PLAIN_PASSWORD).await.assert_redirect("/");
    for page in &pages {
        let refused = app.get(page).await;
        refused.assert_status(403);
        assert!(!refused.body.contains("data-account-id"), "a refused page shows no member");
    }

    // A member who is not a Delegate, then a Delegate not yet active: still refused.
    let now = app.clock.now();
    diesel::insert_into(memberships::table)
        .values((
            memberships::organization_id.eq(default_org),
            memberships::account_id.eq(plain),
            memberships::status.eq("active"),
            memberships::is_delegate.eq(false),
            memberships::created_at.eq(now),
            memberships::updated_at.eq(now),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    for page in &pages {
        let refused = app.get(page).await;
        refused.assert_status(403);
        assert!(!refused.body.contains("data-account-id"), "a refused page shows no member");
    }
    let membership = memberships::table.filter(memberships::account_id.eq(plain));
    diesel::update(membership)
        .set((memberships::is_delegate.eq(true), memberships::status.eq("awaiting_validation")))
        .execute(&mut *app.conn())
        .unwrap();
    for page in &pages {
        let refused = app.get(page).await;
        refused.assert_status(403);
        assert!(!refused.body.contains("data-account-id"), "a refused page shows no member");
    }
    diesel::update(membership).set(memberships::status.eq("active")).execute(&mut *app.conn()).unwrap();
    for page in &pages {
        app.get(page).await.assert_status(200);
    }
    diesel::update(accounts::table.find(plain))
        .set(accounts::must_change_password.eq(true))
        .execute(&mut *app.conn())
        .unwrap();
    for page in &pages {
        app.get(page).await.assert_redirect("/account");
    }
    diesel::update(accounts::table.find(plain))
        .set(accounts::must_change_password.eq(false))
        .execute(&mut *app.conn())
        .unwrap();
    let home = app.get("/").await;
    assert!(home.body.contains(&format!(r#"href="{path}""#)));
}

/// The Organizations page checks the session and the role in the same blocking read as the
/// list (`PlatformAdminRead`): every answer a separate guard gives must still come, and a
/// refused request must not carry the list.
async fn the_organizations_page_checks_in_the_same_read_as_every_guard(mut app: TestApp) {
    const LISTED: &str = "data-org-id=";
    app.get("/admin/organizations?sort=name")
        .await
        .assert_redirect("/login?next=%2Fadmin%2Forganizations%3Fsort%3Dname");
    let id = app.insert_account(PLAIN_EMAIL, PLAIN_PASSWORD, false);
    app.login(PLAIN_EMAIL, PLAIN_PASSWORD).await.assert_redirect("/");
    let refused = app.get("/admin/organizations").await;
    refused.assert_status(403);
    assert!(!refused.body.contains(LISTED), "a refused page shows no organization");

    diesel::update(accounts::table.find(id))
        .set(accounts::is_platform_admin.eq(true))
        .execute(&mut *app.conn())
        .unwrap();
    let listed = app.get("/admin/organizations").await;
    listed.assert_status(200);
    assert!(listed.body.contains(LISTED), "the role granted takes effect at once");

    diesel::update(accounts::table.find(id))
        .set(accounts::must_change_password.eq(true))
        .execute(&mut *app.conn())
        .unwrap();
    let forced = app.get("/admin/organizations").await;
    forced.assert_redirect("/account");
    assert!(!forced.body.contains(LISTED));

    diesel::update(accounts::table.find(id))
        .set((accounts::must_change_password.eq(false), accounts::is_platform_admin.eq(false)))
        .execute(&mut *app.conn())
        .unwrap();
    app.get("/admin/organizations").await.assert_status(403);

    diesel::delete(orgportal::db::schema::sessions::table).execute(&mut *app.conn()).unwrap();
    app.get("/admin/organizations").await.assert_redirect("/login?next=%2Fadmin%2Forganizations");
}
