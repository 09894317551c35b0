use std::net::IpAddr;

use super::*;
use clap::Parser;

#[derive(Parser)]
struct TestCli {
    #[command(flatten)]
    settings: Settings,
}

fn settings(args: &[&str]) -> Settings {
    TestCli::parse_from(std::iter::once("orgportal").chain(args.iter().copied())).settings
}

#[test]
fn defaults_are_valid_and_use_sqlite_in_the_data_dir() {
    let config = Config::from_settings(&settings(&["--data-dir", "/tmp/x"])).unwrap();
    assert_eq!(config.database, DatabaseTarget::Sqlite(PathBuf::from("/tmp/x/orgportal.db")));
    assert_eq!(config.base_url, "http://127.0.0.1:8080");
    assert!(!config.secure_cookies);
    assert_eq!(config.mail_transport, MailTransport::Files(PathBuf::from("/tmp/x/mail")));
}

#[test]
fn every_problem_is_reported_at_once() {
    let problems = Config::from_settings(&settings(&[
        "--database-url",
        "postgres://h/db",
        "--bind",
        "nowhere",
        "--smtp-url",
        "http://mail",
        "--trusted-proxies",
        "10.0.0.1, bogus",
        "--require-admin-2fa",
        "maybe",
    ]))
    .unwrap_err();
    let all = problems.join("\n");
    for needle in ["ORGPORTAL_SECRET_KEY", "ORGPORTAL_BIND", "ORGPORTAL_SMTP_URL", "bogus", "maybe"] {
        assert!(all.contains(needle), "{needle} missing from {all}");
    }
}

#[test]
fn short_secret_key_is_refused() {
    let problems = Config::from_settings(&settings(&["--secret-key", "short"])).unwrap_err();
    assert!(problems[0].contains("at least 64"));
}

#[test]
fn https_base_url_makes_cookies_secure() {
    let config = Config::from_settings(&settings(&["--base-url", "https://portal.example.com/"])).unwrap();
    assert!(config.secure_cookies);
    assert_eq!(config.base_url, "https://portal.example.com");
    assert_eq!(config.mail_from.address.as_str(), "orgportal@portal.example.com");
}

#[test]
fn mail_from_accepts_a_display_name() {
    let from = parse_mail_from("Org Portal <Portal@Example.com>").unwrap();
    assert_eq!(from.name.as_deref(), Some("Org Portal"));
    assert_eq!(from.address.as_str(), "portal@example.com");
    assert!(parse_mail_from("Org Portal <portal@example.com").is_err());
}

#[test]
fn trusted_proxies_take_addresses_and_networks() {
    let nets = parse_trusted_proxies("10.0.0.0/8, ::1,192.168.1.5").unwrap();
    assert_eq!(nets.len(), 3);
    assert!(nets[0].contains(&"10.1.2.3".parse::<IpAddr>().unwrap()));
    assert!(parse_trusted_proxies("").unwrap().is_empty());
}

#[test]
fn weak_admin_password_is_refused_at_start() {
    let problems = Config::from_settings(&settings(&["--admin-password", "short"])).unwrap_err();
    assert!(problems[0].starts_with("ORGPORTAL_ADMIN_PASSWORD"));
    // Long enough, but a common password: the same policy as the pages, with its reason.
    let problems = Config::from_settings(&settings(&["--admin-password", "1qaz2wsx3edc4rfv"])).unwrap_err();
    assert!(problems[0].starts_with("ORGPORTAL_ADMIN_PASSWORD: This password is too common"), "{problems:?}");
    // A password built on the administrator's email is refused too.
    let problems = Config::from_settings(&settings(&["--admin-password", "Admin@Default.com!"])).unwrap_err();
    assert!(problems[0].starts_with("ORGPORTAL_ADMIN_PASSWORD"), "{problems:?}");
    assert!(Config::from_settings(&settings(&["--admin-password", "violet-harbour-92-kettle"])).is_ok());
}

#[test]
fn smtp_requires_starttls_unless_the_url_says_tls_none() {
    for good in [
        "smtp://mail.example.com",
        "smtp://u:p@mail.example.com:587?tls=required",
        "smtp://127.0.0.1:25?tls=none",
        "smtps://u:p@mail.example.com",
    ] {
        assert!(check_smtp_url(good).is_ok(), "{good}");
    }
    let opportunistic = check_smtp_url("smtp://u:secret@mail.example.com?tls=opportunistic").unwrap_err();
    assert!(opportunistic.contains("in clear") && !opportunistic.contains("secret"), "{opportunistic}");
    assert!(check_smtp_url("smtp://mail.example.com?tls=maybe").unwrap_err().contains("none"));
    assert!(check_smtp_url("smtps://mail.example.com?tls=none").is_err());
    assert!(check_smtp_url("smtp://mail.example.com?tls=none&tls=required").is_err());
}

#[test]
fn invitations_per_hour_defaults_to_100_and_must_be_positive() {
    assert_eq!(Config::from_settings(&settings(&[])).unwrap().invitations_per_hour, 100);
    let config = Config::from_settings(&settings(&["--invitations-per-hour", " 5 "])).unwrap();
    assert_eq!(config.invitations_per_hour, 5);
    for bad in ["0", "-1", "many", ""] {
        let flag = format!("--invitations-per-hour={bad}");
        let problems = Config::from_settings(&settings(&[&flag])).unwrap_err();
        assert!(problems[0].starts_with("ORGPORTAL_INVITATIONS_PER_HOUR"), "{bad}: {problems:?}");
    }
}

#[test]
fn debug_output_hides_every_secret() {
    let args = [
        "--database-url",
        "postgres://portal:db-secret-1@db.example.com/portal?password=db-secret-2",
        "--secret-key",
        "key-secret-0123456789012345678901234567890123456789012345678901234567890123",
        "--admin-password",
        "admin-secret-violet-harbour-92",
        "--smtp-url",
        "smtps://mailer:smtp-secret@mail.example.com",
    ];
    let raw = settings(&args);
    let config = Config::from_settings(&raw).unwrap();
    for shown in [format!("{raw:?}"), format!("{raw:#?}"), format!("{config:?}"), format!("{config:#?}")] {
        for secret in ["db-secret-1", "db-secret-2", "key-secret", "admin-secret", "smtp-secret"] {
            assert!(!shown.contains(secret), "{secret} shown in {shown}");
        }
        assert!(shown.contains("data_dir"), "{shown}");
    }
    assert!(format!("{raw:?}").contains("postgres://portal:<redacted>@db.example.com/portal?<redacted>"));
    assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
    assert_eq!(redact_url("/var/lib/orgportal.db"), "/var/lib/orgportal.db");
    assert_eq!(redact_url("not a url but user:pw@host"), REDACTED);
}

#[test]
fn the_key_file_is_read_once_and_shared_by_clones() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = Config::from_settings(&settings(&["--data-dir", data.to_str().unwrap()])).unwrap();
    let copy = config.clone();
    let key = config.load_secret_key().unwrap();
    assert!(key.len() >= MIN_SECRET_KEY_LEN);
    std::fs::remove_file(data.join("secret.key")).unwrap();
    assert_eq!(copy.load_secret_key().unwrap(), key, "read once, not again");
}

#[test]
fn metrics_settings_are_checked_at_start() {
    let problems = Config::from_settings(&settings(&[
        "--metrics-token",
        "too-short",
        "--metrics-bind",
        "127.0.0.1:8080",
        "--bind",
        "127.0.0.1:8080",
    ]))
    .unwrap_err()
    .join("\n");
    assert!(problems.contains("ORGPORTAL_METRICS_TOKEN: must be at least 32 characters (it has 9)"), "{problems}");
    assert!(problems.contains("ORGPORTAL_METRICS_BIND: must differ from ORGPORTAL_BIND"), "{problems}");
    let token = "t".repeat(MIN_METRICS_TOKEN_LEN);
    let config =
        Config::from_settings(&settings(&["--metrics-token", &token, "--metrics-bind", "127.0.0.1:9090"])).unwrap();
    assert_eq!(config.metrics_bind, Some("127.0.0.1:9090".parse().unwrap()));
    assert!(config.metrics_token.is_some());
    assert!(!format!("{config:?}").contains(&token));
    let defaults = Config::from_settings(&settings(&[])).unwrap();
    assert_eq!((defaults.metrics_bind, defaults.metrics_token), (None, None));
}

#[test]
fn a_read_replica_needs_a_postgres_primary_and_a_postgres_url() {
    let key = "k".repeat(64);
    let pg = ["--database-url", "postgres://h/db", "--secret-key", key.as_str()];
    let with = |extra: &[&str]| Config::from_settings(&settings(&[&pg[..], extra].concat()));

    let config = with(&["--database-replica-url", "postgres://standby/db"]).unwrap();
    let replica = config.replica.expect("a replica");
    assert_eq!(replica.url, "postgres://standby/db");
    assert_eq!(replica.max_lag, std::time::Duration::from_secs(5));
    assert!(with(&[]).unwrap().replica.is_none());
    assert!(with(&["--database-replica-url", "  "]).unwrap().replica.is_none());

    let problems = with(&["--database-replica-url", "sqlite://x.db"]).unwrap_err().join("\n");
    assert!(problems.contains("DATABASE_REPLICA_URL: must be a PostgreSQL URL"), "{problems}");
    let problems = with(&["--database-replica-url", "mysql://h/db"]).unwrap_err().join("\n");
    assert!(problems.contains("DATABASE_REPLICA_URL: unsupported database scheme"), "{problems}");
    for lag in ["0", "soon", "3601", "99999999999999999999"] {
        let problems = with(&["--replica-max-lag", lag]).unwrap_err().join("\n");
        assert!(problems.contains("ORGPORTAL_REPLICA_MAX_LAG"), "{lag}: {problems}");
    }
    assert_eq!(
        with(&["--database-replica-url", "postgres://s/db", "--replica-max-lag", "30"])
            .unwrap()
            .replica
            .unwrap()
            .max_lag,
        std::time::Duration::from_secs(30)
    );

    let problems =
        Config::from_settings(&settings(&["--database-replica-url", "postgres://standby/db"])).unwrap_err().join("\n");
    assert!(problems.contains("needs a PostgreSQL primary"), "{problems}");
}

#[test]
fn the_replica_password_is_never_printed() {
    let key = "k".repeat(64);
    let config = Config::from_settings(&settings(&[
        "--database-url",
        "postgres://h/db",
        "--secret-key",
        &key,
        "--database-replica-url",
        "postgres://reader:hunter2@standby/db",
    ]))
    .unwrap();
    assert!(!format!("{config:?}").contains("hunter2"));
}
