//! Where operators read `/metrics`: a second address, a bearer token on the main one, or
//! nowhere (the default, so a fresh install publishes nothing about itself).

use std::net::SocketAddr;

use subtle::ConstantTimeEq;

/// Shorter tokens are refused at start: the main address may face the internet.
pub const MIN_METRICS_TOKEN_LEN: usize = 32;

/// The bearer token that opens `/metrics` on the main address. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(String);

impl MetricsToken {
    /// Whether an `Authorization` header value is `Bearer <this token>`, compared in constant
    /// time so the answer's timing tells nothing about how much of a guess was right.
    pub fn opens(&self, authorization: &[u8]) -> bool {
        let Some(given) = authorization.strip_prefix(b"Bearer ") else {
            return false;
        };
        given.ct_eq(self.0.as_bytes()).into()
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(…)")
    }
}

/// `ORGPORTAL_METRICS_BIND`: unset or blank is none.
pub(super) fn parse_metrics_bind(raw: Option<&str>) -> Result<Option<SocketAddr>, String> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => {
            text.parse().map(Some).map_err(|_| format!("`{text}` is not an address and port such as 127.0.0.1:9090"))
        }
    }
}

/// `ORGPORTAL_METRICS_TOKEN`: unset or empty is none; a short one is a mistake, not a default.
pub(super) fn parse_metrics_token(raw: Option<&str>) -> Result<Option<MetricsToken>, String> {
    match raw {
        None | Some("") => Ok(None),
        Some(token) if token.chars().any(|c| c.is_control() || c == ' ') => {
            Err("must not contain spaces or control characters".into())
        }
        Some(token) if token.chars().count() < MIN_METRICS_TOKEN_LEN => Err(format!(
            "must be at least {MIN_METRICS_TOKEN_LEN} characters (it has {}), e.g. from `openssl rand -hex 24`",
            token.chars().count()
        )),
        Some(token) => Ok(Some(MetricsToken(token.to_owned()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_settings_mean_no_metrics_access() {
        assert_eq!(parse_metrics_bind(None), Ok(None));
        assert_eq!(parse_metrics_bind(Some("  ")), Ok(None));
        assert_eq!(parse_metrics_token(None), Ok(None));
        assert_eq!(parse_metrics_token(Some("")), Ok(None));
    }

    #[test]
    fn a_bind_address_needs_a_port() {
        assert_eq!(parse_metrics_bind(Some("127.0.0.1:9090")), Ok(Some("127.0.0.1:9090".parse().unwrap())));
        assert!(parse_metrics_bind(Some("127.0.0.1")).unwrap_err().contains("127.0.0.1"));
        assert!(parse_metrics_bind(Some("localhost:99999")).is_err());
    }

    #[test]
    fn short_or_odd_tokens_are_refused() {
        let short = "a".repeat(MIN_METRICS_TOKEN_LEN - 1);
        assert!(parse_metrics_token(Some(&short)).unwrap_err().contains("at least 32"));
        let spaced = format!("{} b", "a".repeat(MIN_METRICS_TOKEN_LEN));
        assert!(parse_metrics_token(Some(&spaced)).is_err());
        assert!(parse_metrics_token(Some(&"a\0".repeat(20))).is_err());
    }

    #[test]
    fn only_the_exact_bearer_token_opens() {
        let secret = "s".repeat(MIN_METRICS_TOKEN_LEN);
        let token = parse_metrics_token(Some(&secret)).unwrap().unwrap();
        assert!(token.opens(format!("Bearer {secret}").as_bytes()));
        assert!(!token.opens(secret.as_bytes()));
        assert!(!token.opens(format!("Bearer {secret}x").as_bytes()));
        assert!(!token.opens(format!("Bearer {}", &secret[1..]).as_bytes()));
        assert!(!token.opens(format!("Basic {secret}").as_bytes()));
        assert!(!token.opens(b""));
        assert!(!format!("{token:?}").contains(&secret));
    }
}
