//! Settings: every one a flag with an environment fallback, checked at start so a mistake is
//! reported in one clear message before anything listens or writes.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use clap::Args;
use ipnet::IpNet;
use url::Url;

use crate::db::DatabaseTarget;
use crate::domain::EmailAddress;

/// The raw settings as clap reads them (shared by every subcommand). `Debug` hides the
/// passwords, the key and the credentials in URLs.
#[derive(Clone, Args)]
pub struct Settings {
    /// Database: postgres://… or postgresql://…, sqlite://PATH or a plain file path
    /// [default: DATA_DIR/orgportal.db]
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Folder for the SQLite database, the generated secret key and emails written as files
    #[arg(long, env = "ORGPORTAL_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// Address and port to listen on
    #[arg(long, env = "ORGPORTAL_BIND", default_value = "127.0.0.1:8080", global = true)]
    pub bind: String,

    /// Public address of the portal, the only source of links in emails [default: http://BIND]
    #[arg(long, env = "ORGPORTAL_BASE_URL", global = true)]
    pub base_url: Option<String>,

    /// Key for session cookies, 64+ characters; generated into DATA_DIR on SQLite when unset,
    /// required with PostgreSQL
    #[arg(long, env = "ORGPORTAL_SECRET_KEY", global = true, hide_env_values = true)]
    pub secret_key: Option<String>,

    /// Password of admin@default.com when an empty database is first set up
    #[arg(long, env = "ORGPORTAL_ADMIN_PASSWORD", global = true, hide_env_values = true)]
    pub admin_password: Option<String>,

    /// Outgoing mail server: smtps://[user:password@]host[:port] (TLS), or smtp://… (STARTTLS
    /// required; `?tls=none` for a local relay without it); unset: emails are written as .eml
    /// files to DATA_DIR/mail/
    #[arg(long, env = "ORGPORTAL_SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Sender of the portal's emails, e.g. "Org Portal <portal@example.com>"
    /// [default: orgportal@ the base URL's host]
    #[arg(long, env = "ORGPORTAL_MAIL_FROM", global = true)]
    pub mail_from: Option<String>,

    /// Comma-separated addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For
    /// is believed
    #[arg(long, env = "ORGPORTAL_TRUSTED_PROXIES", global = true, default_value = "")]
    pub trusted_proxies: String,

    /// Require platform administrators to use a second factor (takes effect with second factors)
    #[arg(long, env = "ORGPORTAL_REQUIRE_ADMIN_2FA", global = true, default_value = "true")]
    pub require_admin_2fa: String,

    /// Invitation emails (Add user, Resend invitation) one organization may send per hour
    #[arg(long, env = "ORGPORTAL_INVITATIONS_PER_HOUR", global = true, default_value = "100")]
    pub invitations_per_hour: String,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &self.database_url.as_deref().map(redact_url))
            .field("data_dir", &self.data_dir)
            .field("bind", &self.bind)
            .field("base_url", &self.base_url.as_deref().map(redact_url))
            .field("secret_key", &self.secret_key.as_ref().map(|_| REDACTED))
            .field("admin_password", &self.admin_password.as_ref().map(|_| REDACTED))
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("mail_from", &self.mail_from)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("require_admin_2fa", &self.require_admin_2fa)
            .field("invitations_per_hour", &self.invitations_per_hour)
            .finish()
    }
}

/// What `Debug` output shows in place of a secret.
pub const REDACTED: &str = "<redacted>";

/// `url` with its password and query replaced by `<redacted>`, for logs and `Debug` output.
/// A plain file path (no scheme) is shown as it is; anything else that is not a URL is hidden.
pub fn redact_url(raw: &str) -> String {
    match Url::parse(raw.trim()) {
        Ok(mut url) => {
            let had_query = url.query().is_some();
            url.set_query(None);
            let had_password = url.password().is_some();
            let mut shown = if had_password && url.set_password(None).is_ok() {
                url.to_string().replacen('@', &format!(":{REDACTED}@"), 1)
            } else {
                url.to_string()
            };
            if had_query {
                shown.push('?');
                shown.push_str(REDACTED);
            }
            shown
        }
        Err(_) if !raw.contains("://") && !raw.contains('@') => raw.to_owned(),
        Err(_) => REDACTED.to_owned(),
    }
}

/// How outgoing email leaves the portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailTransport {
    /// `.eml` files in this folder.
    Files(PathBuf),
    /// An SMTP server; the URL is kept whole for lettre (it may carry credentials).
    Smtp(SmtpUrl),
}

/// A checked SMTP URL. Debug output hides it, since it may hold a password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl(pub String);

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmtpUrl(…)")
    }
}

/// A sender: an optional display name and an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFrom {
    pub name: Option<String>,
    pub address: EmailAddress,
}

/// Validated settings. `Debug` hides the admin password, the key and URL credentials.
#[derive(Clone)]
pub struct Config {
    pub database: DatabaseTarget,
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    /// Without a trailing slash.
    pub base_url: String,
    pub secure_cookies: bool,
    pub secret_key: SecretKey,
    pub admin_password: Option<String>,
    pub mail_transport: MailTransport,
    pub mail_from: MailFrom,
    pub trusted_proxies: Vec<IpNet>,
    pub require_admin_2fa: bool,
    /// Invitation emails one organization may send in any hour (at least 1).
    pub invitations_per_hour: u32,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database", &self.database)
            .field("data_dir", &self.data_dir)
            .field("bind", &self.bind)
            .field("base_url", &self.base_url)
            .field("secure_cookies", &self.secure_cookies)
            .field("secret_key", &self.secret_key)
            .field("admin_password", &self.admin_password.as_ref().map(|_| REDACTED))
            .field("mail_transport", &self.mail_transport)
            .field("mail_from", &self.mail_from)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("require_admin_2fa", &self.require_admin_2fa)
            .field("invitations_per_hour", &self.invitations_per_hour)
            .finish()
    }
}

/// Where the key comes from: given, or read from (first generated into) the data dir, once;
/// every clone of the settings shares what was read.
#[derive(Clone)]
pub enum SecretKey {
    Given(Vec<u8>),
    InDataDir(Arc<OnceLock<Vec<u8>>>),
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

pub const MIN_SECRET_KEY_LEN: usize = 64;

impl Config {
    /// Check every setting and report all mistakes together.
    pub fn from_settings(settings: &Settings) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();

        let database_url = settings.database_url.clone().filter(|u| !u.trim().is_empty());
        let database = match database_url {
            Some(url) => DatabaseTarget::parse(&url).map_err(|e| format!("DATABASE_URL: {e}")),
            None => Ok(DatabaseTarget::Sqlite(settings.data_dir.join("orgportal.db"))),
        }
        .map_err(|e| problems.push(e))
        .ok();

        let bind = settings
            .bind
            .trim()
            .parse::<SocketAddr>()
            .map_err(|_| {
                problems.push(format!(
                    "ORGPORTAL_BIND: `{}` is not an address and port such as 127.0.0.1:8080",
                    settings.bind
                ))
            })
            .ok();

        let base_url = match (&settings.base_url, bind) {
            (Some(raw), _) if !raw.trim().is_empty() => {
                parse_base_url(raw).map_err(|e| problems.push(format!("ORGPORTAL_BASE_URL: {e}"))).ok()
            }
            (_, Some(bind)) => Some(format!("http://{bind}")),
            _ => None,
        };

        let secret_key = match settings.secret_key.as_deref() {
            Some(key) if !key.is_empty() => {
                if key.chars().count() < MIN_SECRET_KEY_LEN {
                    problems.push(format!(
                        "ORGPORTAL_SECRET_KEY: must be at least {MIN_SECRET_KEY_LEN} characters (it has {})",
                        key.chars().count()
                    ));
                }
                SecretKey::Given(key.as_bytes().to_vec())
            }
            _ => {
                if matches!(database, Some(DatabaseTarget::Postgres(_))) {
                    problems.push(
                        "ORGPORTAL_SECRET_KEY: required with PostgreSQL, since every instance must share it \
                         (64+ characters, e.g. from `openssl rand -base64 48`)"
                            .into(),
                    );
                }
                SecretKey::InDataDir(Arc::default())
            }
        };

        let admin_password = settings.admin_password.clone().filter(|p| !p.is_empty());
        if let Some(password) = &admin_password {
            if let Err(why) = crate::auth::password::check_policy(password, crate::bootstrap::ADMIN_EMAIL) {
                problems.push(format!("ORGPORTAL_ADMIN_PASSWORD: {why}"));
            }
        }

        let mail_transport = match settings.smtp_url.as_deref().map(str::trim) {
            Some(raw) if !raw.is_empty() => check_smtp_url(raw)
                .map(|()| MailTransport::Smtp(SmtpUrl(raw.to_owned())))
                .map_err(|e| problems.push(format!("ORGPORTAL_SMTP_URL: {e}")))
                .ok(),
            _ => Some(MailTransport::Files(settings.data_dir.join("mail"))),
        };

        let mail_from = match settings.mail_from.as_deref().map(str::trim) {
            Some(raw) if !raw.is_empty() => {
                parse_mail_from(raw).map_err(|e| problems.push(format!("ORGPORTAL_MAIL_FROM: {e}"))).ok()
            }
            _ => base_url.as_deref().and_then(|url| {
                default_mail_from(url).map_err(|e| problems.push(format!("ORGPORTAL_MAIL_FROM: {e}"))).ok()
            }),
        };

        let trusted_proxies = parse_trusted_proxies(&settings.trusted_proxies)
            .map_err(|e| problems.push(format!("ORGPORTAL_TRUSTED_PROXIES: {e}")))
            .ok();

        let require_admin_2fa = parse_bool(&settings.require_admin_2fa)
            .map_err(|e| problems.push(format!("ORGPORTAL_REQUIRE_ADMIN_2FA: {e}")))
            .ok();

        let invitations_per_hour = parse_per_hour(&settings.invitations_per_hour)
            .map_err(|e| problems.push(format!("ORGPORTAL_INVITATIONS_PER_HOUR: {e}")))
            .ok();

        match (
            database,
            bind,
            base_url,
            mail_transport,
            mail_from,
            trusted_proxies,
            require_admin_2fa,
            invitations_per_hour,
        ) {
            (
                Some(database),
                Some(bind),
                Some(base_url),
                Some(mail_transport),
                Some(mail_from),
                Some(trusted_proxies),
                Some(require_admin_2fa),
                Some(invitations_per_hour),
            ) if problems.is_empty() => Ok(Self {
                database,
                data_dir: settings.data_dir.clone(),
                bind,
                secure_cookies: base_url.starts_with("https://"),
                base_url,
                secret_key,
                admin_password,
                mail_transport,
                mail_from,
                trusted_proxies,
                require_admin_2fa,
                invitations_per_hour,
            }),
            _ => Err(problems),
        }
    }

    /// The secret key's bytes: given, or read from (first generated into) the data dir. The
    /// file is read once; later calls, on any clone of these settings, reuse what was read.
    pub fn load_secret_key(&self) -> anyhow::Result<Vec<u8>> {
        match &self.secret_key {
            SecretKey::Given(bytes) => Ok(bytes.clone()),
            SecretKey::InDataDir(loaded) => {
                if let Some(bytes) = loaded.get() {
                    return Ok(bytes.clone());
                }
                let bytes = load_or_create_key_file(&self.data_dir.join("secret.key"))?;
                Ok(loaded.get_or_init(|| bytes).clone())
            }
        }
    }
}

fn parse_base_url(raw: &str) -> Result<String, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("`{raw}` is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{raw}` must start with http:// or https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{raw}` has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{raw}` must not have a query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn check_smtp_url(raw: &str) -> Result<(), String> {
    // Never echo the URL: it may hold the SMTP password.
    let url = Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "smtp" | "smtps") {
        return Err("must start with smtps:// (TLS) or smtp:// (STARTTLS required)".into());
    }
    let tls: Vec<String> =
        url.query_pairs().filter(|(key, _)| key == "tls").map(|(_, value)| value.into_owned()).collect();
    if tls.len() > 1 {
        return Err("names ?tls= more than once".into());
    }
    match (url.scheme(), tls.first().map(String::as_str)) {
        (_, None) | ("smtp", Some("none" | "required")) => {}
        ("smtps", Some(_)) => return Err("smtps:// is always encrypted: leave out ?tls=".into()),
        ("smtp", Some("opportunistic")) => {
            return Err("?tls=opportunistic would send the password and every link in clear to a server that does \
                        not offer STARTTLS (or to an attacker who strips it); leave ?tls= out to require STARTTLS, \
                        or use ?tls=none only for a relay on this machine"
                .into())
        }
        _ => return Err("?tls= takes `none` (a local relay without STARTTLS) or `required` (the default)".into()),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no mail server host".into());
    }
    if !url.username().is_empty() && url.password().is_none() {
        return Err("names a user but no password (smtp://user:password@host)".into());
    }
    Ok(())
}

fn parse_mail_from(raw: &str) -> Result<MailFrom, String> {
    let (name, address) = match raw.rsplit_once('<') {
        Some((name, rest)) => {
            let address = rest
                .strip_suffix('>')
                .ok_or_else(|| format!("`{raw}`: a name form is written Name <address@example.com>"))?;
            let name = name.trim().trim_matches('"').trim();
            (Some(name.to_owned()).filter(|n| !n.is_empty()), address)
        }
        None => (None, raw),
    };
    if let Some(name) = &name {
        crate::domain::normalize(name).map_err(|e| format!("sender name: {e}"))?;
    }
    let address = EmailAddress::parse(address).map_err(|e| format!("`{raw}`: {e}"))?;
    Ok(MailFrom { name, address })
}

fn default_mail_from(base_url: &str) -> Result<MailFrom, String> {
    let host =
        Url::parse(base_url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_else(|| "localhost".into());
    let address = EmailAddress::parse(&format!("orgportal@{host}"))
        .map_err(|_| format!("orgportal@{host} is not a usable sender; set ORGPORTAL_MAIL_FROM"))?;
    Ok(MailFrom { name: Some("orgportal".into()), address })
}

pub fn parse_trusted_proxies(raw: &str) -> Result<Vec<IpNet>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<IpNet>()
                .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("`{part}` is not an IP address or network such as 10.0.0.0/8"))
        })
        .collect()
}

fn parse_per_hour(raw: &str) -> Result<u32, String> {
    match raw.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{}` is not a whole number of at least 1", raw.trim())),
    }
}

fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        other => Err(format!("`{other}` is not true or false")),
    }
}

fn load_or_create_key_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    use anyhow::Context;
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = text.trim();
            anyhow::ensure!(
                key.chars().count() >= MIN_SECRET_KEY_LEN,
                "the secret key in {} is shorter than {MIN_SECRET_KEY_LEN} characters; delete it to generate a new one",
                path.display()
            );
            Ok(key.as_bytes().to_vec())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                crate::private_fs::create_dir(parent)
                    .with_context(|| format!("cannot create data folder {}", parent.display()))?;
            }
            let key = crate::auth::random_token(72);
            write_private_file(path, &key).with_context(|| format!("cannot write {}", path.display()))?;
            Ok(key.into_bytes())
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = crate::private_fs::open_options().write(true).create_new(true).open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")
}

#[cfg(test)]
mod tests {
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
}
