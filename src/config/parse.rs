//! Checks of the single-valued settings.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use url::Url;

use super::redact_url;
use crate::db::DatabaseTarget;

/// The read replica: where it is, and how far behind the primary it may be and still serve.
#[derive(Clone, PartialEq, Eq)]
pub struct ReplicaSettings {
    pub url: String,
    pub max_lag: Duration,
}

impl std::fmt::Debug for ReplicaSettings {
    // The URL may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicaSettings").field("url", &redact_url(&self.url)).field("max_lag", &self.max_lag).finish()
    }
}

/// `DATABASE_REPLICA_URL` with `ORGPORTAL_REPLICA_MAX_LAG`: unset or blank is none. A replica
/// only makes sense beside a PostgreSQL primary; naming one with SQLite is a mistake, said at
/// start rather than ignored.
pub(super) fn parse_replica(
    url: Option<&str>,
    max_lag: &str,
    primary: Option<&DatabaseTarget>,
) -> Result<Option<ReplicaSettings>, String> {
    let lag_seconds = match max_lag.trim().parse::<u64>() {
        Ok(n) if (1..=3600).contains(&n) => n,
        _ => {
            return Err(format!(
                "ORGPORTAL_REPLICA_MAX_LAG: `{}` is not a whole number of seconds from 1 to 3600",
                max_lag.trim()
            ))
        }
    };
    let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    match DatabaseTarget::parse(url) {
        Ok(DatabaseTarget::Postgres(url)) => match primary {
            Some(DatabaseTarget::Sqlite(_)) => {
                Err("DATABASE_REPLICA_URL: a read replica needs a PostgreSQL primary (DATABASE_URL is SQLite)".into())
            }
            _ => Ok(Some(ReplicaSettings { url, max_lag: Duration::from_secs(lag_seconds) })),
        },
        Ok(DatabaseTarget::Sqlite(_)) => {
            Err("DATABASE_REPLICA_URL: must be a PostgreSQL URL (postgres://…), a streaming standby of the primary"
                .into())
        }
        Err(e) => Err(format!("DATABASE_REPLICA_URL: {e}")),
    }
}

pub(super) fn parse_base_url(raw: &str) -> Result<String, String> {
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

pub(super) fn parse_per_hour(raw: &str) -> Result<u32, String> {
    match raw.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{}` is not a whole number of at least 1", raw.trim())),
    }
}

pub(super) fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        other => Err(format!("`{other}` is not true or false")),
    }
}
