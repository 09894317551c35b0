//! The connection form: raw strings in, a typed `ConnectionSettings` or every field's error
//! out, decided once here at the edge.

use serde::Deserialize;

use crate::domain::{normalize, FieldErrors};

/// The form as submitted; a field left out is empty. `bind_password` is write-only: it is
/// never rendered back, nor shown by `Debug`.
#[derive(Clone, Default, Deserialize)]
pub struct ConnectionForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub starttls: String,
    #[serde(default)]
    pub bind_dn: String,
    #[serde(default)]
    pub bind_password: String,
    #[serde(default)]
    pub base_dn: String,
    #[serde(default)]
    pub user_filter: String,
    #[serde(default)]
    pub email_attr: String,
    #[serde(default)]
    pub name_attr: String,
    #[serde(default)]
    pub schedule_minutes: String,
    #[serde(default)]
    pub new_entry_status: String,
}

/// Only the name: the rest is on the page, and the password must never be in a log.
impl std::fmt::Debug for ConnectionForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionForm").field("name", &self.name).finish_non_exhaustive()
    }
}

impl ConnectionForm {
    /// What the Add form starts with: the usual attributes of an `inetOrgPerson` directory.
    pub fn blank() -> Self {
        Self {
            user_filter: "(objectClass=inetOrgPerson)".into(),
            email_attr: "mail".into(),
            name_attr: "cn".into(),
            new_entry_status: NewEntryStatus::Active.as_str().into(),
            ..Self::default()
        }
    }

    /// The form showing stored settings (the password stays empty).
    pub fn of(settings: &ConnectionSettings) -> Self {
        Self {
            name: settings.name.clone(),
            url: settings.url.clone(),
            starttls: if settings.starttls { "on".into() } else { String::new() },
            bind_dn: settings.bind_dn.clone(),
            bind_password: String::new(),
            base_dn: settings.base_dn.clone(),
            user_filter: settings.user_filter.clone(),
            email_attr: settings.email_attr.clone(),
            name_attr: settings.name_attr.clone(),
            schedule_minutes: settings.schedule_minutes.map(|m| m.to_string()).unwrap_or_default(),
            new_entry_status: settings.new_entry_status.as_str().into(),
        }
    }

    pub fn starttls_checked(&self) -> bool {
        self.starttls == "on"
    }

    pub fn awaiting_validation_checked(&self) -> bool {
        self.new_entry_status == NewEntryStatus::AwaitingValidation.as_str()
    }
}

/// The status a membership created from a directory entry starts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewEntryStatus {
    Active,
    AwaitingValidation,
}

/// The stored word: the CHECK constraint allows only the two, anything else reads as the default.
impl From<String> for NewEntryStatus {
    fn from(stored: String) -> Self {
        Self::parse(&stored).unwrap_or(Self::Active)
    }
}

impl NewEntryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::AwaitingValidation => "awaiting_validation",
        }
    }

    /// Empty is the default, `active`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim() {
            "" | "active" => Ok(Self::Active),
            "awaiting_validation" => Ok(Self::AwaitingValidation),
            _ => Err("Choose Active or Awaiting validation.".into()),
        }
    }
}

/// A checked connection, without its password (read from its row as checked before).
#[derive(Debug, Clone, PartialEq, Eq, diesel::Queryable)]
pub struct ConnectionSettings {
    pub name: String,
    pub url: String,
    pub starttls: bool,
    pub bind_dn: String,
    pub base_dn: String,
    pub user_filter: String,
    pub email_attr: String,
    pub name_attr: String,
    pub schedule_minutes: Option<i32>,
    #[diesel(deserialize_as = String)]
    pub new_entry_status: NewEntryStatus,
}

/// What a valid form gives: the settings, and the password when one was typed.
#[derive(Debug, Clone)]
pub struct ParsedForm {
    pub settings: ConnectionSettings,
    pub password: Option<String>,
}

const NAME_MAX: usize = 100;
const TEXT_MAX: usize = 1000;
const ATTRIBUTE_MAX: usize = 100;
const PASSWORD_MAX: usize = 1000;
pub const SCHEDULE_MIN: i32 = 5;
/// One week.
pub const SCHEDULE_MAX: i32 = 10_080;

/// Trimmed text without control characters, 1 to `max` characters.
fn text(raw: &str, when_empty: &str, max: usize) -> Result<String, String> {
    let value = normalize(raw).map_err(|e| e.to_string())?;
    if value.is_empty() {
        return Err(when_empty.into());
    }
    if value.chars().count() > max {
        return Err(format!("At most {max} characters."));
    }
    Ok(value)
}

/// `ldap://host[:port]` or `ldaps://host[:port]`, nothing after the host but an optional `/`.
fn ldap_url(raw: &str) -> Result<String, String> {
    let value = text(raw, "Enter the directory's URL, such as ldaps://ldap.example.com.", TEXT_MAX)?;
    let url = url::Url::parse(&value).map_err(|_| "Enter a URL such as ldap://ldap.example.com:389.".to_owned())?;
    if !matches!(url.scheme(), "ldap" | "ldaps") {
        return Err("The URL starts with ldap:// or ldaps://.".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("The URL names the directory's host, such as ldap://ldap.example.com.".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("Put the bind DN and password in their own fields, not in the URL.".into());
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err("Only the scheme, host and port: the base DN and filter have their own fields.".into());
    }
    Ok(value)
}

fn filter(raw: &str) -> Result<String, String> {
    let value = text(raw, "Enter a search filter, such as (objectClass=inetOrgPerson).", TEXT_MAX)?;
    if !(value.starts_with('(') && value.ends_with(')')) {
        return Err("A filter is written in parentheses, such as (objectClass=inetOrgPerson).".into());
    }
    // One parenthesised filter, not several side by side: `(a=b))(|(c=d)` would otherwise
    // escape the `(&…)` that sign-in wraps around it. A value's own parentheses are written
    // \28 and \29, so every literal one here is structure.
    let mut depth = 0usize;
    for (at, c) in value.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.checked_sub(1).ok_or_else(unbalanced)?,
            _ => {}
        }
        if depth == 0 && at + 1 < value.len() {
            return Err(unbalanced());
        }
    }
    if depth != 0 {
        return Err(unbalanced());
    }
    Ok(value)
}

fn unbalanced() -> String {
    "Write one filter whose parentheses balance, such as (&(objectClass=person)(mail=*)).".into()
}

/// An attribute name (`mail`, `displayName`) or OID (`0.9.2342.19200300.100.1.3`).
fn attribute(raw: &str, when_empty: &str) -> Result<String, String> {
    let value = text(raw, when_empty, ATTRIBUTE_MAX)?;
    let mut chars = value.chars();
    let name =
        chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '-');
    let oid = value.split('.').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    if name || oid {
        Ok(value)
    } else {
        Err("An attribute name is letters, digits and hyphens, starting with a letter (such as mail).".into())
    }
}

fn schedule(raw: &str) -> Result<Option<i32>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let message = format!("Enter whole minutes from {SCHEDULE_MIN} to {SCHEDULE_MAX} (one week), or leave it empty.");
    if !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(message);
    }
    match raw.parse::<i32>() {
        Ok(minutes) if (SCHEDULE_MIN..=SCHEDULE_MAX).contains(&minutes) => Ok(Some(minutes)),
        _ => Err(message),
    }
}

/// Any characters but control ones (kept as typed: no trimming), at most `PASSWORD_MAX`.
/// Empty is `None`: on Add a password is required, on Edit the stored one stays.
fn password(raw: &str, required: bool) -> Result<Option<String>, String> {
    if raw.is_empty() {
        return if required { Err("Enter the bind password.".into()) } else { Ok(None) };
    }
    if raw.chars().any(char::is_control) {
        return Err("Remove the control characters (such as tabs or line breaks).".into());
    }
    if raw.chars().count() > PASSWORD_MAX {
        return Err(format!("At most {PASSWORD_MAX} characters."));
    }
    Ok(Some(raw.to_owned()))
}

impl ParsedForm {
    /// `adding`: a new connection needs a password; an edit keeps the stored one when empty.
    pub fn parse(form: &ConnectionForm, adding: bool) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = errors.check("name", text(&form.name, "Enter a name.", NAME_MAX));
        let url = errors.check("url", ldap_url(&form.url));
        let starttls = match form.starttls.as_str() {
            "" => Some(false),
            "on" => Some(true),
            _ => errors.check("starttls", Err("Tick the box or leave it empty.".into())),
        };
        if starttls == Some(true) && url.as_deref().is_some_and(|u| u.starts_with("ldaps:")) {
            errors.add("starttls", "StartTLS is for ldap:// URLs; an ldaps:// connection is encrypted already.");
        }
        let bind_dn = errors.check("bind_dn", text(&form.bind_dn, "Enter the DN to bind as.", TEXT_MAX));
        let password = errors.check("bind_password", password(&form.bind_password, adding));
        let base_dn = errors.check("base_dn", text(&form.base_dn, "Enter the DN to search under.", TEXT_MAX));
        let user_filter = errors.check("user_filter", filter(&form.user_filter));
        let email_attr = errors.check("email_attr", attribute(&form.email_attr, "Enter the email attribute (mail)."));
        let name_attr = errors.check("name_attr", attribute(&form.name_attr, "Enter the name attribute (cn)."));
        let schedule_minutes = errors.check("schedule_minutes", schedule(&form.schedule_minutes));
        let new_entry_status = errors.check("new_entry_status", NewEntryStatus::parse(&form.new_entry_status));
        if !errors.is_empty() {
            return Err(errors);
        }
        // Every field is `Some` when no error was found.
        let all = || {
            let settings = ConnectionSettings {
                name: name?,
                url: url?,
                starttls: starttls?,
                bind_dn: bind_dn?,
                base_dn: base_dn?,
                user_filter: user_filter?,
                email_attr: email_attr?,
                name_attr: name_attr?,
                schedule_minutes: schedule_minutes?,
                new_entry_status: new_entry_status?,
            };
            Some(Self { settings, password: password? })
        };
        all().ok_or(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> ConnectionForm {
        ConnectionForm {
            name: " Corporate ".into(),
            url: "ldaps://ldap.example.com:636".into(),
            bind_dn: "cn=reader,dc=example,dc=com".into(),
            bind_password: " pw ".into(),
            base_dn: "dc=example,dc=com".into(),
            ..ConnectionForm::blank()
        }
    }

    #[test]
    fn a_valid_form_parses_with_the_defaults() {
        let parsed = ParsedForm::parse(&valid(), true).unwrap();
        assert_eq!(parsed.settings.name, "Corporate");
        assert_eq!(parsed.settings.new_entry_status, NewEntryStatus::Active);
        assert_eq!(parsed.settings.schedule_minutes, None);
        assert!(!parsed.settings.starttls);
        assert_eq!(parsed.password.as_deref(), Some(" pw "));
        assert_eq!(ConnectionForm::of(&parsed.settings).bind_password, "");
    }

    #[test]
    fn every_field_error_is_reported_at_once() {
        let form = ConnectionForm {
            name: String::new(),
            url: "http://ldap.example.com".into(),
            starttls: "yes".into(),
            bind_dn: "\u{7}".into(),
            bind_password: String::new(),
            base_dn: " ".into(),
            user_filter: "objectClass=*".into(),
            email_attr: "ma il".into(),
            name_attr: String::new(),
            schedule_minutes: "4".into(),
            new_entry_status: "invited".into(),
        };
        let errors = ParsedForm::parse(&form, true).unwrap_err();
        for field in [
            "name",
            "url",
            "starttls",
            "bind_dn",
            "bind_password",
            "base_dn",
            "user_filter",
            "email_attr",
            "name_attr",
            "schedule_minutes",
            "new_entry_status",
        ] {
            assert!(errors.get(field).is_some(), "{field} has no error");
        }
    }

    #[test]
    fn a_filter_is_one_balanced_parenthesised_filter() {
        for good in ["(objectClass=inetOrgPerson)", "(&(objectClass=person)(mail=*))", "(cn=a\\28b\\29)"] {
            assert_eq!(filter(good).as_deref(), Ok(good), "{good}");
        }
        for bad in ["(objectClass=*))(|(objectClass=*)", "(a=b)(c=d)", "((a=b)", "(a=b))", "(a=b)x)"] {
            assert!(filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_bind_password_never_shows_in_debug() {
        let form = ConnectionForm { bind_password: "Sekrit-Bind-9".into(), ..valid() };
        assert!(!format!("{form:?}").contains("Sekrit-Bind-9"));
    }

    #[test]
    fn urls_are_ldap_with_a_host_and_nothing_else() {
        for good in ["ldap://127.0.0.1:389", "ldaps://ldap.example.com", "ldap://[::1]:10389/"] {
            assert!(ldap_url(good).is_ok(), "{good}");
        }
        for bad in ["ldap://", "ldap:///dc=x", "ldapi://%2fsocket", "ldap://u:p@h", "ldap://h/dc=x", "ldap://h?x", "h"]
        {
            assert!(ldap_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_schedule_is_empty_or_5_to_10080_minutes() {
        assert_eq!(schedule(""), Ok(None));
        assert_eq!(schedule(" 5 "), Ok(Some(5)));
        assert_eq!(schedule("10080"), Ok(Some(10_080)));
        for bad in ["4", "10081", "-5", "+5", "1.5", "99999999999"] {
            assert!(schedule(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_empty_password_keeps_the_stored_one_on_edit_only() {
        assert!(password("", true).is_err());
        assert_eq!(password("", false), Ok(None));
        assert!(password("a\nb", false).is_err());
        let mut form = valid();
        form.starttls = "on".into();
        assert!(ParsedForm::parse(&form, true).unwrap_err().get("starttls").is_some());
        form.url = "ldap://ldap.example.com".into();
        assert!(ParsedForm::parse(&form, true).unwrap().settings.starttls);
    }
}
