//! The outbox page's query string: the status and recipient filters, paging and a keyset
//! cursor, read leniently (junk is the default; a recipient that cannot be an address is shown
//! back with why), and the links back to the page with them.

use chrono::NaiveDateTime;

use crate::domain::fold;
use crate::platform::paths;
use crate::web::list::{self, pager, Href, Query, SearchBox};

/// The statuses the outbox stores (its `CHECK` constraint and `mail::worker`), with the words
/// the page shows.
pub const STATUSES: [(&str, &str); 5] =
    [("queued", "Queued"), ("sending", "Sending"), ("sent", "Sent"), ("failed", "Failed"), ("cancelled", "Cancelled")];

/// The longest email address (RFC 5321's path limit); nothing longer is stored.
const MAX_ADDRESS_CHARS: usize = 254;

/// Where a next or previous page starts: the row's `created_at` (`TIME_FORMAT`) and id.
pub type Cursor = list::Cursor<String>;

pub(super) const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f";

/// A cursor's time, within the years both backends store (PostgreSQL refuses timestamps
/// before 4713 BC, and SQLite compares them as text, which needs four-digit years).
pub(super) fn parse_time(text: &str) -> Option<NaiveDateTime> {
    use chrono::Datelike;
    NaiveDateTime::parse_from_str(text, TIME_FORMAT).ok().filter(|t| (1..=9999).contains(&t.year()))
}

/// The page's query string, read once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxParams {
    /// One of `STATUSES`, or every status.
    pub status: Option<&'static str>,
    /// The address filtered by, folded as addresses are stored; empty for none (also when refused).
    pub recipient: String,
    /// What was typed into the recipient box, shown back (trimmed).
    pub recipient_typed: String,
    /// Why the typed recipient was not filtered by (the page answers 422 and shows it).
    pub recipient_error: Option<String>,
    pub per_page: i64,
    pub page: i64,
    /// A keyset position from a next/previous link; wins over `page`.
    pub cursor: Option<Cursor>,
}

impl OutboxParams {
    pub fn parse(query_string: &str) -> Self {
        let query = Query::parse(query_string);
        let status = query.get("status").and_then(|raw| STATUSES.iter().find(|(word, _)| *word == raw.trim()));
        let (recipient_typed, recipient) = read_recipient(query.get("recipient"));
        let paging = query.paging();
        let (recipient, recipient_error) = match recipient {
            Ok(address) => (address, None),
            Err(why) => (String::new(), Some(why)),
        };
        Self {
            status: status.map(|(word, _)| *word),
            recipient,
            recipient_typed,
            recipient_error,
            per_page: paging.per_page,
            page: paging.page,
            cursor: Cursor::read(&query, |key| parse_time(key).is_some()),
        }
    }

    /// True when the list is narrowed (a Clear link is offered).
    pub fn is_filtered(&self) -> bool {
        self.status.is_some() || !self.recipient_typed.is_empty()
    }

    /// The status select's options: `(value, label, selected)`, every status first.
    pub fn status_options(&self) -> Vec<(&'static str, &'static str, bool)> {
        std::iter::once(("", "All statuses", self.status.is_none()))
            .chain(STATUSES.iter().map(|&(word, label)| (word, label, self.status == Some(word))))
            .collect()
    }

    /// The URL of this list at page `page`, leaving out defaults.
    pub fn href(&self, page: i64) -> String {
        self.filtered().paging(self.per_page, page).build()
    }

    /// The URL of the page next to a row: `after` it (older messages) or `before` it.
    pub fn cursor_href(&self, cursor: &Cursor) -> String {
        cursor.href(self.filtered().per_page(self.per_page))
    }

    /// The filters in force (a refused recipient is not repeated).
    fn filtered(&self) -> Href {
        let mut href = Href::new(paths::OUTBOX);
        if let Some(status) = self.status {
            href = href.pair("status", status);
        }
        if !self.recipient.is_empty() {
            href = href.pair("recipient", crate::web::urlencode(&self.recipient));
        }
        href
    }

    /// The highest page a typed page number reaches: the counted window of `list::COUNT_CAP`
    /// rows, so skipping rows by number stays cheap; next links go on past it.
    pub fn max_typed_page(&self) -> i64 {
        pager::page_count(super::queries::COUNT_CAP, self.per_page)
    }
}

/// The recipient box: `(typed, address or why not)`. Empty is no filter. An address is
/// matched whole, upper and lower case alike (addresses are stored folded).
fn read_recipient(raw: Option<&str>) -> (String, Result<String, String>) {
    let raw = raw.unwrap_or_default().trim();
    // Shortened before anything else looks at it; what is shown back is escaped by the template.
    let typed: String = raw.chars().take(MAX_ADDRESS_CHARS + 1).collect();
    if typed.is_empty() {
        return (typed, Ok(String::new()));
    }
    let checked = SearchBox::parse(Some(&typed));
    if let Some(why) = checked.error() {
        return (typed, Err(why.replace("The search was not run", "The address was not searched for")));
    }
    if typed.chars().count() > MAX_ADDRESS_CHARS {
        return (typed, Err(format!("An email address has at most {MAX_ADDRESS_CHARS} characters.")));
    }
    if !typed.contains('@') {
        return (typed, Err("Type a whole email address, such as name@example.com.".into()));
    }
    let address = fold(&typed);
    (typed, Ok(address))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_parameters_fall_back_to_defaults() {
        let params = OutboxParams::parse("status=SENT&status=sent&per_page=7&page=-3&after=%ZZ&before=x");
        assert_eq!(params.status, None, "only a known status word, first value wins");
        assert_eq!((params.per_page, params.page), (25, 1));
        assert_eq!(params.cursor, None);
        assert_eq!(params.recipient_error, None);
        assert!(!params.is_filtered());
        assert_eq!(params.href(1), paths::OUTBOX);
    }

    #[test]
    fn every_status_the_outbox_stores_is_a_filter() {
        for (word, _) in STATUSES {
            let params = OutboxParams::parse(&format!("status={word}"));
            assert_eq!(params.status, Some(word));
            assert_eq!(params.href(2), format!("/admin/outbox?status={word}&page=2"));
        }
        let options = OutboxParams::parse("status=failed").status_options();
        assert_eq!(options.iter().filter(|(_, _, selected)| *selected).count(), 1);
        assert!(options.contains(&("failed", "Failed", true)));
    }

    #[test]
    fn a_recipient_is_matched_whole_and_folded() {
        let params = OutboxParams::parse("recipient=%20Ann.Lee%2Btag%40Example.COM%20&status=sent");
        assert_eq!(params.recipient, "ann.lee+tag@example.com");
        assert_eq!(params.recipient_typed, "Ann.Lee+tag@Example.COM");
        assert_eq!(params.href(1), "/admin/outbox?status=sent&recipient=ann.lee%2Btag%40example.com");
        assert_eq!(OutboxParams::parse("recipient=%C3%89MILE%40EXAMPLE.COM").recipient, "émile@example.com");
    }

    #[test]
    fn a_recipient_that_cannot_be_an_address_is_refused_with_why_and_not_repeated() {
        for (raw, says) in [
            ("abc%00%40x.org", "U+0000"),
            ("a%0Ab%40x.org", "U+000A"),
            ("a%E2%80%AEb%40x.org", "U+202E"),
            ("no-at-sign", "whole email address"),
            (&format!("{}%40x.org", "a".repeat(300)), "254"),
        ] {
            let params = OutboxParams::parse(&format!("recipient={raw}&status=failed"));
            assert_eq!(params.recipient, "", "{raw}");
            let why = params.recipient_error.clone().unwrap_or_default();
            assert!(why.contains(says), "{raw}: {why}");
            assert!(params.recipient_typed.chars().count() <= MAX_ADDRESS_CHARS + 1);
            assert_eq!(params.href(1), "/admin/outbox?status=failed", "{raw}");
        }
        // Broken percent-encoding arrives as U+FFFD: an ordinary character, no match.
        assert_eq!(OutboxParams::parse("recipient=%FF%40x.org").recipient_error, None);
    }

    #[test]
    fn cursors_carry_a_time_both_backends_store() {
        let decode = |text: &str| Cursor::decode(text, true, |key| parse_time(key).is_some());
        let made = |key: &str| Cursor { after: true, key: key.to_owned(), id: 7, page: 2 }.encode();
        assert!(decode(&made("2026-01-31T23:59:59.999999")).is_some());
        assert!(decode(&made("+10000-01-01T00:00:00.000000")).is_none());
        assert!(decode(&made("0000-01-01T00:00:00.000000")).is_none());
        assert!(decode(&made("yesterday")).is_none());
        assert!(decode(&made("2026-01-31T23:59:59.999999\0")).is_none());
        assert!(decode(&Cursor { after: true, key: "2026-01-01T00:00:00.000000".into(), id: 0, page: 2 }.encode())
            .is_none());
        let params = OutboxParams::parse(&format!("after={}", made("2026-01-31T23:59:59.999999")));
        assert_eq!(params.cursor.map(|c| (c.id, c.page)), Some((7, 2)));
    }

    #[test]
    fn typed_pages_reach_the_counted_window() {
        assert_eq!(OutboxParams::parse("").max_typed_page(), 400);
        assert_eq!(OutboxParams::parse("per_page=100").max_typed_page(), 100);
        assert_eq!(OutboxParams::parse("page=99999999999999999999").page, pager::MAX_PAGE);
    }
}
