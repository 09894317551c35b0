//! The `orgportal` binary's subcommands, run as a user would run them.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use diesel::prelude::*;
use orgportal::db::schema::accounts;

use crate::helpers::{TestApp, TestDatabase, ADMIN_EMAIL};
use crate::on_both_backends;

const PASSWORD: &str = "granite-orchard-73-violet";

on_both_backends!(
    migrate_twice_bootstraps_once_and_changes_nothing,
    admin_add_creates_an_administrator_who_can_sign_in,
    admin_add_promotes_an_existing_account_without_a_password,
    admin_add_refuses_a_weak_password,
    admin_set_password_replaces_the_password_and_ends_sessions,
    admin_reset_2fa_removes_the_second_factor_and_ends_sessions,
);

fn orgportal(app: &TestApp, args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_orgportal"));
    for var in
        ["DATABASE_URL", "ORGPORTAL_ADMIN_PASSWORD", "ORGPORTAL_SECRET_KEY", "ORGPORTAL_SMTP_URL", "ORGPORTAL_BASE_URL"]
    {
        command.env_remove(var);
    }
    command
        .args(["--database-url", &app.database.url, "--data-dir"])
        .arg(app.data_dir())
        .args(["--secret-key", &"k".repeat(64)])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start orgportal");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(input);
    child.wait_with_output().expect("orgportal ran")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

async fn migrate_twice_bootstraps_once_and_changes_nothing(app: TestApp) {
    // A database the CLI sets up itself, with a generated password printed once.
    let database = if app.is_postgres() { TestDatabase::postgres().unwrap() } else { TestDatabase::sqlite() };
    let fresh = TestApp::start_without_bootstrap(database);
    let first = orgportal(&fresh, &["migrate"], None);
    assert!(first.status.success(), "{}", text(&first));
    let first_text = text(&first);
    assert!(first_text.contains("password: "), "{first_text}");
    assert!(first_text.contains("The database schema is up to date."));
    let second = orgportal(&fresh, &["migrate"], None);
    assert!(second.status.success(), "{}", text(&second));
    assert!(!text(&second).contains("password: "), "the password is printed only once");
    assert!(!text(&second).contains("applied migration"));
    let must_change: bool = accounts::table
        .filter(accounts::email.eq(ADMIN_EMAIL))
        .select(accounts::must_change_password)
        .first(&mut *fresh.conn())
        .unwrap();
    assert!(must_change);
}

async fn admin_add_creates_an_administrator_who_can_sign_in(mut app: TestApp) {
    let output = orgportal(&app, &["admin", "add", "New.Admin@Example.com"], Some(&format!("{PASSWORD}\n")));
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("Created platform administrator new.admin@example.com"));
    app.login("new.admin@example.com", PASSWORD).await.assert_redirect("/");
    app.get("/admin").await.assert_status(200);
}

async fn admin_add_promotes_an_existing_account_without_a_password(mut app: TestApp) {
    app.insert_account("member@example.com", PASSWORD, false);
    let output = orgportal(&app, &["admin", "add", "member@example.com"], None);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("is now a platform administrator"));
    app.login("member@example.com", PASSWORD).await.assert_redirect("/");
    app.get("/admin").await.assert_status(200);

    let again = orgportal(&app, &["admin", "add", ADMIN_EMAIL], None);
    assert!(again.status.success());
    assert!(text(&again).contains("already is a platform administrator"));
}

async fn admin_add_refuses_a_weak_password(app: TestApp) {
    let output = orgportal(&app, &["admin", "add", "weak@example.com"], Some("password1234\n"));
    assert!(!output.status.success());
    assert!(text(&output).contains("password refused"), "{}", text(&output));
    let exists: i64 =
        accounts::table.filter(accounts::email.eq("weak@example.com")).count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(exists, 0);
    let invalid = orgportal(&app, &["admin", "add", "not an email"], Some(&format!("{PASSWORD}\n")));
    assert!(!invalid.status.success());
}

async fn admin_set_password_replaces_the_password_and_ends_sessions(mut app: TestApp) {
    app.login_as_admin().await;
    let output = orgportal(&app, &["admin", "set-password", ADMIN_EMAIL], Some(&format!("{PASSWORD}\r\n")));
    assert!(output.status.success(), "{}", text(&output));
    app.get("/account").await.assert_redirect("/login?next=%2Faccount");
    app.login(ADMIN_EMAIL, PASSWORD).await.assert_redirect("/");

    let unknown = orgportal(&app, &["admin", "set-password", "ghost@example.com"], Some(&format!("{PASSWORD}\n")));
    assert!(!unknown.status.success());
    assert!(text(&unknown).contains("no account has the email ghost@example.com"));
}

async fn admin_reset_2fa_removes_the_second_factor_and_ends_sessions(mut app: TestApp) {
    use orgportal::db::schema::{audit_events, recovery_codes, totp_secrets};
    app.login_as_admin().await;
    app.get("/account").await.assert_status(200);
    let count = |app: &TestApp| -> (i64, i64) {
        let secrets = totp_secrets::table.count().get_result(&mut *app.conn()).unwrap();
        let codes = recovery_codes::table.count().get_result(&mut *app.conn()).unwrap();
        (secrets, codes)
    };
    assert_eq!(count(&app), (1, 10));
    let output = orgportal(&app, &["admin", "reset-2fa", "  Admin@Default.com "], None);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("Two-step sign-in of admin@default.com is removed"), "{}", text(&output));
    assert_eq!(count(&app), (0, 0));
    app.get("/account").await.assert_redirect("/login?next=%2Faccount");
    let audited: i64 = audit_events::table
        .filter(audit_events::action.eq("account.second_factor_reset"))
        .filter(audit_events::target.eq(ADMIN_EMAIL))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(audited, 1);
    let notice: i64 = orgportal::db::schema::outbox::table
        .filter(orgportal::db::schema::outbox::kind.eq("second_factor_removed"))
        .filter(orgportal::db::schema::outbox::recipient.eq(ADMIN_EMAIL))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(notice, 1, "the account is told");
    // The next sign-in sets one up again (the default organization's membership asks for it).
    app.get("/login").await;
    let next = app.post("/login", &[("email", ADMIN_EMAIL), ("password", crate::helpers::ADMIN_PASSWORD)]).await;
    assert!(next.body.contains(r#"id="totp-secret""#), "{}", next.body);

    let unknown = orgportal(&app, &["admin", "reset-2fa", "ghost@example.com"], None);
    assert!(!unknown.status.success());
    assert!(text(&unknown).contains("no account with the address ghost@example.com"), "{}", text(&unknown));
}

#[test]
fn bad_settings_are_all_reported_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_orgportal"))
        .env_remove("DATABASE_URL")
        .env_remove("ORGPORTAL_SECRET_KEY")
        .args(["--data-dir"])
        .arg(dir.path())
        .args(["--bind", "nowhere", "--database-url", "mysql://db/x", "--smtp-url", "ftp://mail", "migrate"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for needle in ["ORGPORTAL_BIND", "DATABASE_URL", "mysql://", "ORGPORTAL_SMTP_URL"] {
        assert!(stderr.contains(needle), "{needle} missing from {stderr}");
    }
    assert!(!dir.path().join("orgportal.db").exists(), "nothing was created");
}

#[test]
fn postgres_without_a_secret_key_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_orgportal"))
        .env_remove("ORGPORTAL_SECRET_KEY")
        .args(["--database-url", "postgres://127.0.0.1/none", "migrate"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("ORGPORTAL_SECRET_KEY: required with PostgreSQL"));
}

#[test]
fn unreachable_postgres_reports_the_servers_own_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_orgportal"))
        .args(["--database-url", "postgres://127.0.0.1:1/none", "--secret-key", &"k".repeat(64), "migrate"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot connect to PostgreSQL"), "{stderr}");
    assert!(stderr.contains("127.0.0.1"), "libpq's own message is kept: {stderr}");
}
