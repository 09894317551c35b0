//! Settings: every one a flag with an environment fallback, checked at start so a mistake is
//! reported in one clear message before anything listens or writes.

mod flags;
mod mail;
mod metrics;
mod parse;
mod secret;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ipnet::IpNet;

pub use self::flags::Settings;
use self::mail::{check_smtp_url, default_mail_from, parse_mail_from};
pub use self::mail::{MailFrom, MailTransport, SmtpUrl};
use self::metrics::{parse_metrics_bind, parse_metrics_token};
pub use self::metrics::{MetricsToken, MIN_METRICS_TOKEN_LEN};
pub use self::parse::parse_trusted_proxies;
pub use self::parse::ReplicaSettings;
use self::parse::{parse_base_url, parse_bool, parse_per_hour, parse_replica};
pub use self::secret::{redact_url, SecretKey, MIN_SECRET_KEY_LEN, REDACTED};
use crate::db::DatabaseTarget;

/// Validated settings. `Debug` hides the admin password, the key and URL credentials.
#[derive(Clone)]
pub struct Config {
    pub database: DatabaseTarget,
    /// The streaming standby that serves list pages and exports (PostgreSQL only).
    pub replica: Option<ReplicaSettings>,
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
    /// A second listener serving only `/metrics`.
    pub metrics_bind: Option<SocketAddr>,
    /// Opens `/metrics` on the main listener; without it (or a second listener) it is hidden.
    pub metrics_token: Option<MetricsToken>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database", &self.database)
            .field("replica", &self.replica)
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
            .field("metrics_bind", &self.metrics_bind)
            .field("metrics_token", &self.metrics_token)
            .finish()
    }
}
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

        let replica =
            parse_replica(settings.database_replica_url.as_deref(), &settings.replica_max_lag, database.as_ref())
                .map_err(|e| problems.push(e))
                .unwrap_or_default();

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

        let metrics_bind = parse_metrics_bind(settings.metrics_bind.as_deref())
            .map_err(|e| problems.push(format!("ORGPORTAL_METRICS_BIND: {e}")))
            .unwrap_or_default();
        let metrics_token = parse_metrics_token(settings.metrics_token.as_deref())
            .map_err(|e| problems.push(format!("ORGPORTAL_METRICS_TOKEN: {e}")))
            .unwrap_or_default();
        if metrics_bind.is_some_and(|m| m.port() != 0 && Some(m) == bind) {
            problems.push("ORGPORTAL_METRICS_BIND: must differ from ORGPORTAL_BIND".into());
        }

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
                replica,
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
                metrics_bind,
                metrics_token,
            }),
            _ => Err(problems),
        }
    }
}
