//! The audit trails' filters (`actor`, `action`, `target`, `org`, `from`, `to`), read from the
//! query string. A value that cannot be what was meant (a control character, a date that does
//! not exist, `from` after `to`) is refused beside its field and left out of the filter; the
//! other filters still apply (as the Organizations search shows its list unfiltered).
//!
//! Matching is exact, because each filter is an equality an index answers:
//! - `actor` and `target` as shown in the table, except that an email address matches in any
//!   case: addresses are stored lowercase, so a typed address is folded the same way;
//! - `action` in any case (action names are lowercase);
//! - `org` is the organization's id: it names the same organization after a rename or a
//!   removal, which a name would not (events keep the name of their time);
//! - `from`/`to` are UTC calendar days, both included.

use chrono::{Datelike, NaiveDate, NaiveDateTime};

use crate::domain::{normalize, EmailAddress, FieldErrors};
use crate::web::list::Query;

/// The longest text filter looked at: the longest email address; no actor or target is longer.
pub const MAX_TEXT_CHARS: usize = 254;

/// The filters applied (each `None` when left empty or refused).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    /// Platform trail only; the organization trail never reads it.
    pub org: Option<i64>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// What was typed into each field (trimmed), shown back in the form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Typed {
    pub actor: String,
    pub action: String,
    pub target: String,
    pub org: String,
    pub from: String,
    pub to: String,
}

/// The filters of a query string: applied, as typed, and why any was refused.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub filter: Filter,
    pub typed: Typed,
    pub errors: FieldErrors,
}

impl Filters {
    /// `with_org`: whether this trail offers the organization filter (the platform's).
    pub fn parse(query: &Query, with_org: bool) -> Self {
        let typed_of = |name: &str| -> String {
            // Shown back in the form: bounded, so a huge value cannot make a huge page.
            query.get(name).unwrap_or_default().trim().chars().take(MAX_TEXT_CHARS + 1).collect()
        };
        let typed = Typed {
            actor: typed_of("actor"),
            action: typed_of("action"),
            target: typed_of("target"),
            org: if with_org { typed_of("org") } else { String::new() },
            from: typed_of("from"),
            to: typed_of("to"),
        };
        let mut errors = FieldErrors::default();
        let mut filter = Filter {
            actor: errors.check("actor", identity(&typed.actor)).flatten(),
            action: errors.check("action", action(&typed.action)).flatten(),
            target: errors.check("target", identity(&typed.target)).flatten(),
            org: errors.check("org", org_id(&typed.org)).flatten(),
            from: errors.check("from", day(&typed.from)).flatten(),
            to: errors.check("to", day(&typed.to)).flatten(),
        };
        if let (Some(from), Some(to)) = (filter.from, filter.to) {
            if from > to {
                errors.add("to", "The end date is before the start date: enter a To date on or after From.");
                filter.from = None;
                filter.to = None;
            }
        }
        Self { filter, typed, errors }
    }
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The first instant of `from`, included.
    pub fn since(&self) -> Option<NaiveDateTime> {
        self.from.and_then(|day| day.and_hms_opt(0, 0, 0))
    }

    /// The first instant after `to`, excluded; `None` past the year 9999, where no event is
    /// (and where SQLite, comparing times as text, would misread a five-digit year).
    pub fn until(&self) -> Option<NaiveDateTime> {
        self.to
            .and_then(|day| day.succ_opt())
            .filter(|next| next.year() <= 9999)
            .and_then(|next| next.and_hms_opt(0, 0, 0))
    }
}

fn refused_text(text: &str) -> Result<String, String> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(format!("At most {MAX_TEXT_CHARS} characters."));
    }
    normalize(text).map_err(|_| {
        let hidden = text.chars().find(|c| is_hidden(*c)).unwrap_or('\0');
        format!(
            "Not applied: it holds an invisible or control character (U+{:04X}), such as a tab or a line break. \
             Remove it and filter again.",
            u32::from(hidden)
        )
    })
}

/// A control (Cc) or format (Cf) character: what `domain::normalize` refuses.
fn is_hidden(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    matches!(c.general_category(), GeneralCategory::Control | GeneralCategory::Format)
}

/// An actor or a target: exact, but an email address in any case (stored lowercase).
fn identity(text: &str) -> Result<Option<String>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let normalized = refused_text(text)?;
    Ok(Some(match EmailAddress::parse(&normalized) {
        Ok(email) => email.as_str().to_owned(),
        Err(_) => normalized,
    }))
}

/// An action name, in any case.
fn action(text: &str) -> Result<Option<String>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    Ok(Some(refused_text(text)?.to_lowercase()))
}

fn org_id(text: &str) -> Result<Option<i64>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<i64>() {
        Ok(id) if id >= 1 => Ok(Some(id)),
        _ => Err("Enter the organization's id, a whole number such as 42 (as in its address /orgs/42).".into()),
    }
}

/// `YYYY-MM-DD`, a day that exists, in years 1 to 9999.
fn day(text: &str) -> Result<Option<NaiveDate>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    shaped
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
        .filter(|date| date.year() >= 1)
        .map(Some)
        .ok_or_else(|| "Enter a date as YYYY-MM-DD, such as 2026-03-01.".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Filters {
        Filters::parse(&Query::parse(query), true)
    }

    #[test]
    fn empty_and_absent_fields_filter_nothing() {
        let filters = parse("actor=&action=+&from=");
        assert!(filters.filter.is_empty());
        assert!(filters.errors.is_empty());
        assert!(parse("").filter.is_empty());
    }

    #[test]
    fn emails_fold_other_text_stays_exact() {
        let filters = parse("actor=+Admin%40Default.COM+&target=Acme+GmbH&action=Organization.Updated");
        assert_eq!(filters.filter.actor.as_deref(), Some("admin@default.com"));
        assert_eq!(filters.filter.target.as_deref(), Some("Acme GmbH"));
        assert_eq!(filters.filter.action.as_deref(), Some("organization.updated"));
        assert_eq!(parse("actor=command+line").filter.actor.as_deref(), Some("command line"));
        // NFC: a decomposed é is the composed one.
        assert_eq!(parse("target=Cafe%CC%81").filter.target.as_deref(), Some("Café"));
    }

    #[test]
    fn control_characters_are_refused_beside_their_field_and_shown_back() {
        let filters = parse("actor=%00&target=a%0Db&action=x%E2%80%AEy&from=2026-01-01");
        assert_eq!(filters.filter, Filter { from: NaiveDate::from_ymd_opt(2026, 1, 1), ..Filter::default() });
        assert!(filters.errors.get("actor").is_some_and(|m| m.contains("U+0000")), "{:?}", filters.errors);
        assert!(filters.errors.get("target").is_some_and(|m| m.contains("U+000D")));
        assert!(filters.errors.get("action").is_some_and(|m| m.contains("U+202E")));
        assert_eq!(filters.typed.target, "a\rb");
    }

    #[test]
    fn long_text_is_refused() {
        let filters = parse(&format!("target={}", "x".repeat(10_000)));
        assert!(filters.errors.get("target").is_some());
        assert_eq!(filters.typed.target.chars().count(), MAX_TEXT_CHARS + 1, "shown back, shortened");
        assert_eq!(
            parse(&format!("target={}", "é".repeat(MAX_TEXT_CHARS))).filter.target.map(|t| t.chars().count()),
            Some(254)
        );
    }

    #[test]
    fn dates_are_strict_days_and_to_is_inclusive() {
        let filters = parse("from=2026-02-28&to=2026-02-28");
        assert_eq!(filters.filter.since().map(|t| t.to_string()).as_deref(), Some("2026-02-28 00:00:00"));
        assert_eq!(filters.filter.until().map(|t| t.to_string()).as_deref(), Some("2026-03-01 00:00:00"));
        for bad in
            ["2026-13-45", "2026-02-29", "2026-2-1", "26-02-01", "0000-01-01", "%2B2026-01-01", "2026-01-01T00", "%00"]
        {
            let filters = parse(&format!("from={bad}"));
            assert_eq!(filters.filter.from, None, "{bad}");
            assert!(filters.errors.get("from").is_some(), "{bad}");
        }
        assert_eq!(parse("to=9999-12-31").filter.until(), None, "no bound past the last day");
        assert!(parse("to=9999-12-31").errors.is_empty());
    }

    #[test]
    fn from_after_to_is_refused_and_neither_applies() {
        let filters = parse("from=2026-03-02&to=2026-03-01&actor=a%40b.example");
        assert!(filters.errors.get("to").is_some());
        assert_eq!((filters.filter.from, filters.filter.to), (None, None));
        assert_eq!(filters.filter.actor.as_deref(), Some("a@b.example"));
        assert_eq!((filters.typed.from.as_str(), filters.typed.to.as_str()), ("2026-03-02", "2026-03-01"));
    }

    #[test]
    fn org_is_an_id_and_only_on_the_platform_trail() {
        assert_eq!(parse("org=42").filter.org, Some(42));
        for bad in ["0", "-1", "abc", "99999999999999999999", "4 2"] {
            assert!(parse(&format!("org={bad}")).errors.get("org").is_some(), "{bad}");
        }
        let org_trail = Filters::parse(&Query::parse("org=2"), false);
        assert_eq!((org_trail.filter.org, org_trail.typed.org.as_str()), (None, ""));
        assert!(Filters::parse(&Query::parse("org=junk"), false).errors.is_empty());
    }
}
