//! The flags, each with an environment fallback, as clap reads them.

use std::path::PathBuf;

use clap::Args;

use super::{redact_url, REDACTED};

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

    /// Read replica for list pages and exports: a PostgreSQL streaming standby, postgres://…
    /// (PostgreSQL primary only) [default: none, everything reads the primary]
    #[arg(long, env = "DATABASE_REPLICA_URL", global = true, hide_env_values = true)]
    pub database_replica_url: Option<String>,

    /// Seconds the read replica may lag behind the primary before reads skip it
    #[arg(long, env = "ORGPORTAL_REPLICA_MAX_LAG", global = true, default_value = "5")]
    pub replica_max_lag: String,

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

    /// Second address and port serving only /metrics, e.g. 127.0.0.1:9090 [default: none]
    #[arg(long, env = "ORGPORTAL_METRICS_BIND", global = true)]
    pub metrics_bind: Option<String>,

    /// Bearer token (32+ characters) that opens /metrics on the main address [default: none,
    /// /metrics there answers 404]
    #[arg(long, env = "ORGPORTAL_METRICS_TOKEN", global = true, hide_env_values = true)]
    pub metrics_token: Option<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &self.database_url.as_deref().map(redact_url))
            .field("database_replica_url", &self.database_replica_url.as_deref().map(redact_url))
            .field("replica_max_lag", &self.replica_max_lag)
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
            .field("metrics_bind", &self.metrics_bind)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| REDACTED))
            .finish()
    }
}
