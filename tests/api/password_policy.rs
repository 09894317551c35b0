//! One password policy everywhere a password is chosen: the account page, `admin add`,
//! `admin set-password` and `ORGPORTAL_ADMIN_PASSWORD`. Each refuses a guessable password (the
//! zxcvbn estimator, which knows the email) and says why.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use diesel::prelude::*;
use orgportal::db::schema::accounts;

use crate::helpers::{TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::on_both_backends;

on_both_backends!(the_account_page_says_why_a_password_is_refused, the_command_line_follows_the_same_policy);

/// Passes the old hand-written list, but runs down the keyboard's columns.
const KEYBOARD_WALK: &str = "1qaz2wsx3edc4rfv";

async fn the_account_page_says_why_a_password_is_refused(mut app: TestApp) {
    app.login_as_admin().await;
    let before = app.password_hash(ADMIN_EMAIL);
    for (weak, why) in [
        (KEYBOARD_WALK, "This password is too common"),
        ("Admin@Default.com1", "built on your email address"),
        ("abcdefghijklmnop", "sequences such as abc"),
    ] {
        app.get("/account").await.assert_status(200);
        let refused = app
            .post(
                "/account/password",
                &[("current_password", ADMIN_PASSWORD), ("password", weak), ("password_confirm", weak)],
            )
            .await;
        refused.assert_status(422);
        assert!(refused.body.contains(why), "{weak}: {}", refused.body);
        assert!(refused.body.contains(r#"id="password-error""#));
    }
    assert_eq!(app.password_hash(ADMIN_EMAIL), before, "nothing changed");
}

fn orgportal(app: &TestApp, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
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
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start orgportal");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input);
    child.wait_with_output().expect("orgportal ran")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

async fn the_command_line_follows_the_same_policy(app: TestApp) {
    let refused = orgportal(&app, &["admin", "add", "ops@example.com"], &[], &format!("{KEYBOARD_WALK}\n"));
    assert!(!refused.status.success());
    assert!(text(&refused).contains("password refused: This password is too common"), "{}", text(&refused));
    let created: i64 =
        accounts::table.filter(accounts::email.eq("ops@example.com")).count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(created, 0);

    let before = app.password_hash(ADMIN_EMAIL);
    let refused = orgportal(&app, &["admin", "set-password", ADMIN_EMAIL], &[], "Admin@Default.com1\n");
    assert!(!refused.status.success());
    assert!(text(&refused).contains("built on your email address"), "{}", text(&refused));
    assert_eq!(app.password_hash(ADMIN_EMAIL), before);

    // The first administrator's password from the environment: refused before anything starts.
    let refused = orgportal(&app, &["migrate"], &[("ORGPORTAL_ADMIN_PASSWORD", KEYBOARD_WALK)], "");
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(text(&refused).contains("ORGPORTAL_ADMIN_PASSWORD: This password is too common"), "{}", text(&refused));

    let accepted = orgportal(&app, &["admin", "add", "ops@example.com"], &[], "violet-harbour-92-kettle\n");
    assert!(accepted.status.success(), "{}", text(&accepted));
}
