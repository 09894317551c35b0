//! Booting, migrating and the bootstrap of an empty database, on both backends.

use diesel::prelude::*;
use orgportal::bootstrap::{self, Bootstrap};
use orgportal::db::schema::{accounts, audit_events, memberships, organizations};
use orgportal::db::{self, Db};

use crate::helpers::{TestApp, TestDatabase, ADMIN_EMAIL};
use crate::on_both_backends;

on_both_backends!(
    migrating_twice_changes_nothing,
    bootstrap_creates_default_org_and_admin,
    bootstrap_runs_once,
    generated_password_must_be_changed_at_first_sign_in,
    healthz_answers_ok,
);

async fn migrating_twice_changes_nothing(app: TestApp) {
    let mut conn = app.conn();
    // TestApp::start already migrated: nothing is left to apply, and doing it again is harmless.
    assert!(db::run_migrations(&mut conn).unwrap().is_empty());
    assert!(db::run_migrations(&mut conn).unwrap().is_empty());
    let orgs: i64 = organizations::table.count().get_result(&mut *conn).unwrap();
    assert_eq!(orgs, 1);
}

async fn bootstrap_creates_default_org_and_admin(app: TestApp) {
    let mut conn = app.conn();
    let (org_id, name, is_default, contact, admin_email, quota, members): (
        i64,
        String,
        bool,
        String,
        String,
        i64,
        i64,
    ) = organizations::table
        .select((
            organizations::id,
            organizations::name,
            organizations::is_default,
            organizations::contact_email,
            organizations::admin_email,
            organizations::quota_gb,
            organizations::member_count,
        ))
        .first(&mut *conn)
        .unwrap();
    assert_eq!((name.as_str(), is_default, contact.as_str(), admin_email.as_str()), ("Default", true, "", ""));
    assert_eq!((quota, members), (0, 1));

    let (account_id, is_admin, must_change): (i64, bool, bool) = accounts::table
        .filter(accounts::email.eq(ADMIN_EMAIL))
        .select((accounts::id, accounts::is_platform_admin, accounts::must_change_password))
        .first(&mut *conn)
        .unwrap();
    assert!(is_admin);
    assert!(!must_change, "a password given by ORGPORTAL_ADMIN_PASSWORD is not forced to change");

    let (status, delegate, membership_quota): (String, bool, i64) = memberships::table
        .filter(memberships::account_id.eq(account_id))
        .filter(memberships::organization_id.eq(org_id))
        .select((memberships::status, memberships::is_delegate, memberships::quota_gb))
        .first(&mut *conn)
        .unwrap();
    assert_eq!((status.as_str(), delegate, membership_quota), ("active", true, 0));

    let events: Vec<String> = audit_events::table.select(audit_events::action).load(&mut *conn).unwrap();
    assert_eq!(events, vec!["platform.bootstrap".to_owned()]);
}

async fn bootstrap_runs_once(app: TestApp) {
    let mut conn = app.conn();
    let again = bootstrap::ensure(&mut conn, None, app.clock.now()).unwrap();
    assert_eq!(again, Bootstrap::AlreadyDone);
    let admins: i64 = accounts::table.count().get_result(&mut *conn).unwrap();
    assert_eq!(admins, 1);
}

async fn generated_password_must_be_changed_at_first_sign_in(app: TestApp) {
    // A second, empty database of the same backend, bootstrapped without a given password.
    let database = if app.is_postgres() { TestDatabase::postgres().unwrap() } else { TestDatabase::sqlite() };
    let config = crate::helpers::test_config(&database, &[]);
    let db = Db::connect(config.database.clone(), 2).unwrap();
    let mut conn = db.get().unwrap();
    db::run_migrations(&mut conn).unwrap();
    let Bootstrap::GeneratedPassword(password) = bootstrap::ensure(&mut conn, None, app.clock.now()).unwrap() else {
        panic!("expected a generated password");
    };
    drop(conn);
    let mut browser = TestApp::start(database, &[]);
    browser.login(ADMIN_EMAIL, &password).await.assert_redirect("/account");
    // Until the password is changed, every other page sends the account back to change it.
    browser.get("/").await.assert_redirect("/account");
    browser.get("/admin").await.assert_redirect("/account");
    let page = browser.get("/account").await;
    page.assert_status(200);
    assert!(page.body.contains("generated at setup"));
    browser
        .post(
            "/account/password",
            &[
                ("current_password", &password),
                ("password", "new-harbour-lights-77"),
                ("password_confirm", "new-harbour-lights-77"),
            ],
        )
        .await
        .assert_redirect("/account");
    browser.get("/admin").await.assert_status(200);
}

async fn healthz_answers_ok(mut app: TestApp) {
    let response = app.get("/healthz").await;
    response.assert_status(200);
    assert_eq!(response.body, "ok");
}
