//! The mail settings: transport, SMTP URL and sender.

use std::path::PathBuf;

use url::Url;

use crate::domain::EmailAddress;

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
pub(super) fn check_smtp_url(raw: &str) -> Result<(), String> {
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

pub(super) fn parse_mail_from(raw: &str) -> Result<MailFrom, String> {
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

pub(super) fn default_mail_from(base_url: &str) -> Result<MailFrom, String> {
    let host =
        Url::parse(base_url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_else(|| "localhost".into());
    let address = EmailAddress::parse(&format!("orgportal@{host}"))
        .map_err(|_| format!("orgportal@{host} is not a usable sender; set ORGPORTAL_MAIL_FROM"))?;
    Ok(MailFrom { name: Some("orgportal".into()), address })
}
