//! Secrets at rest: every link that was emailed (read from the `.eml` files, as the recipient
//! would) is absent from the database — the SQLite file itself, or every row on PostgreSQL —
//! and from the server log, yet each still matches its invitation by hash; the data directory,
//! database, key and mail files are private; settings print no secret.

use diesel::prelude::*;
use diesel::sql_types::Text;
use orgportal::config::{Config, Settings};
use orgportal::db::schema::{invitations, outbox};
use orgportal::registration::token_hash;

use crate::helpers::{account_id, TestApp, TestDatabase, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::{log_capture, mailbox, on_both_backends};

on_both_backends!(no_emailed_link_is_in_the_database_or_the_log, settings_print_no_secret);

async fn add_org(app: &mut TestApp, name: &str, admin_email: &str) -> i64 {
    app.get("/admin/organizations/new").await.assert_status(200);
    app.post(
        "/admin/organizations",
        &[("name", name), ("quota_gb", "100"), ("seats", ""), ("admin_email", admin_email)],
    )
    .await
    .assert_status(303);
    app.org_id(name)
}

#[derive(QueryableByName)]
struct Dump {
    #[diesel(sql_type = Text)]
    text: String,
}

/// Everything the database holds, as bytes a `grep` would search: the SQLite file and its
/// write-ahead log, or every row of every table on PostgreSQL.
fn database_contents(app: &TestApp) -> Vec<u8> {
    if let Some(path) = app.database.url.strip_prefix("sqlite://") {
        let mut bytes = std::fs::read(path).expect("read the database file");
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        assert!(bytes.len() > 4096, "a populated database");
        return bytes;
    }
    let mut conn = app.conn();
    let tables: Vec<Dump> = diesel::sql_query(
        "SELECT table_name::text AS text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .load(&mut *conn)
    .expect("list tables");
    assert!(tables.iter().any(|t| t.text == "outbox"));
    let mut bytes = Vec::new();
    for table in tables {
        let rows: Vec<Dump> = diesel::sql_query(format!(
            r#"SELECT COALESCE(string_agg(t::text, E'\n'), '') AS text FROM "{}" t"#,
            table.text
        ))
        .load(&mut *conn)
        .expect("dump a table");
        for row in rows {
            bytes.extend(row.text.into_bytes());
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle.as_bytes())
}

async fn no_emailed_link_is_in_the_database_or_the_log(mut app: TestApp) {
    log_capture::capture();
    app.login_as_admin().await;
    // Every kind of registration link: an organization's new administrator, a platform
    // administrator, and a user an organization adds and then sends a new invitation.
    add_org(&mut app, "Rest Co", "rest.admin@example.com").await;
    app.get("/admin/administrators").await;
    app.post("/admin/administrators", &[("email", "rest.platform@example.com")]).await.assert_status(303);
    let org = add_org(&mut app, "Users Co", ADMIN_EMAIL).await;
    app.get(&format!("/orgs/{org}/users/new")).await;
    app.post(&format!("/orgs/{org}/users"), &[("email", "rest.user@example.com"), ("quota_gb", "1")])
        .await
        .assert_status(303);
    assert_eq!(mailbox::deliver_all(&app), 4);
    let user = account_id(&mut app.conn(), "rest.user@example.com");
    app.get(&format!("/orgs/{org}/users")).await;
    app.post(&format!("/orgs/{org}/users/{user}/resend"), &[]).await.assert_status(303);
    assert_eq!(mailbox::deliver_all(&app), 1, "a resend still goes out");

    let mut emailed = Vec::new();
    for person in ["rest.admin@example.com", "rest.platform@example.com", "rest.user@example.com"] {
        emailed.extend(mailbox::tokens_to(&app, person));
    }
    assert_eq!(emailed.len(), 4, "{emailed:?}");
    let live: Vec<String> = invitations::table.select(invitations::token_hash).load(&mut *app.conn()).unwrap();
    // Each live link is verifiable by its hash; the link the resend replaced is not.
    for token in &emailed[..2] {
        assert!(live.contains(&token_hash(token)), "{token}");
    }
    assert!(!live.contains(&token_hash(&emailed[2])), "the resend superseded the first user link");
    assert!(live.contains(&token_hash(&emailed[3])), "the resent link works");

    // The recipients open their links (the live ones answer 200, the superseded one 410).
    for token in &emailed {
        app.get(&format!("/register/{token}")).await;
    }

    // Nothing at rest: not in the database, nor its file, nor the outbox bodies.
    let stored = database_contents(&app);
    for token in &emailed {
        assert!(!contains(&stored, token), "a token emailed is in the database");
    }
    assert!(!contains(&stored, "/register/"), "no link at all in the database");
    let bodies: Vec<(String, String)> =
        outbox::table.select((outbox::body_text, outbox::body_html)).load(&mut *app.conn()).unwrap();
    assert!(bodies.iter().all(|(text, html)| text.is_empty() && html.is_empty()), "sent bodies are wiped");

    // Nor in the server log, which shows that the links were opened, without their tokens.
    let log = log_capture::lines();
    for token in &emailed {
        assert!(!log.iter().any(|line| line.contains(token.as_str())), "a token emailed is in the log");
    }
    assert!(
        log.iter().any(|line| line.contains(r#""GET /register/… HTTP/1.1" 200"#))
            && log.iter().any(|line| line.contains(r#""GET /register/… HTTP/1.1" 410"#)),
        "the access log shows the visit"
    );
}

async fn settings_print_no_secret(app: TestApp) {
    let key = "k".repeat(64);
    let site = orgportal::mail::Site::from_config(&app.state.config);
    for shown in [format!("{:?}", app.state.config), format!("{:#?}", app.state.config), format!("{site:?}")] {
        assert!(!shown.contains(&key), "{shown}");
        assert!(!shown.contains(ADMIN_PASSWORD), "{shown}");
    }
    // A PostgreSQL URL and an SMTP URL with passwords, as an operator would set them.
    let settings = parse_settings(&[
        "--database-url",
        "postgres://portal:pg-secret-word@db.example.com/portal",
        "--secret-key",
        &key,
        "--admin-password",
        ADMIN_PASSWORD,
        "--smtp-url",
        "smtps://mailer:smtp-secret-word@mail.example.com",
    ]);
    let config = Config::from_settings(&settings).unwrap();
    for shown in
        [format!("{settings:?}"), format!("{config:?}"), format!("{:?}", orgportal::mail::Site::from_config(&config))]
    {
        for secret in [key.as_str(), ADMIN_PASSWORD, "pg-secret-word", "smtp-secret-word"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}

fn parse_settings(args: &[&str]) -> Settings {
    use clap::Parser;
    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        settings: Settings,
    }
    Args::try_parse_from(std::iter::once("orgportal").chain(args.iter().copied())).expect("settings parse").settings
}

#[cfg(unix)]
mod modes {
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
    }

    /// Start on a data dir that does not exist yet, queue an email and deliver it.
    async fn start_and_mail(database: TestDatabase) -> TestApp {
        let mut app = TestApp::start(database, &[]);
        app.login_as_admin().await;
        add_org(&mut app, "Private Co", "private.admin@example.com").await;
        assert_eq!(mailbox::deliver_all(&app), 1);
        app
    }

    fn assert_mail_is_private(app: &TestApp) {
        let data = app.data_dir();
        assert_eq!(mode(&data), 0o700, "the data dir");
        assert_eq!(mode(&data.join("mail")), 0o700, "the mail folder");
        let files = mailbox::files(app);
        assert_eq!(files.len(), 1);
        assert_eq!(mode(&files[0]), 0o600, "the .eml file");
    }

    #[actix_web::test]
    async fn data_dir_database_mail_and_key_are_private_sqlite() {
        let mut database = TestDatabase::sqlite();
        // The default layout: the database in the data dir, which the start creates.
        let db_file = database.dir.path().join("data").join("orgportal.db");
        database.url = format!("sqlite://{}", db_file.display());
        let app = start_and_mail(database).await;
        assert_mail_is_private(&app);
        assert_eq!(mode(&db_file), 0o600, "the database");
        for suffix in ["-wal", "-shm"] {
            let file = format!("{}{suffix}", db_file.display());
            if Path::new(&file).exists() {
                assert_eq!(mode(Path::new(&file)), 0o600, "{file}");
            }
        }

        // The generated secret key (SQLite without ORGPORTAL_SECRET_KEY), in a fresh data dir.
        let fresh = app.database.dir.path().join("fresh-data");
        let settings = parse_settings(&["--data-dir", &fresh.display().to_string()]);
        let config = Config::from_settings(&settings).unwrap();
        config.load_secret_key().unwrap();
        assert_eq!(mode(&fresh), 0o700, "a data dir created for the key");
        assert_eq!(mode(&fresh.join("secret.key")), 0o600, "the key");
    }

    #[actix_web::test]
    async fn data_dir_and_mail_are_private_postgres() {
        let Some(database) = TestDatabase::postgres() else { return };
        let app = start_and_mail(database).await;
        assert_mail_is_private(&app);
    }
}
