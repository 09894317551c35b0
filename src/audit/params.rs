//! An audit trail's query string: its filters, paging and keyset cursor, read leniently, and
//! the links back to the trail (and its CSV) that keep the filters applied.

use chrono::NaiveDateTime;

use super::filter::{Filter, Filters, Typed};
use super::queries::Trail;
use crate::domain::FieldErrors;
use crate::web::list::{self, Href, Query};
use crate::web::urlencode;

/// Where a next or previous page starts: the key is the row's `occurred_at` as `TIME_FORMAT`.
pub type Cursor = list::Cursor<String>;

/// Full precision: a key cut short would fall between two rows of the same second.
const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.f";

pub fn time_key(at: NaiveDateTime) -> String {
    at.format(TIME_FORMAT).to_string()
}

/// A cursor's time, within the years both backends store (PostgreSQL refuses timestamps
/// before 4713 BC, and SQLite compares them as text, which needs four-digit years).
pub fn parse_time_key(text: &str) -> Option<NaiveDateTime> {
    use chrono::Datelike;
    NaiveDateTime::parse_from_str(text, TIME_FORMAT).ok().filter(|t| (1..=9999).contains(&t.year()))
}

/// The trail's query string.
#[derive(Debug, Clone)]
pub struct TrailParams {
    pub trail: Trail,
    /// The filters applied (refused ones left out).
    pub filter: Filter,
    /// What was typed, for the form.
    pub typed: Typed,
    /// Why a filter was refused, by field.
    pub errors: FieldErrors,
    pub per_page: i64,
    pub page: i64,
    /// A keyset position from a next/previous link; wins over `page`.
    pub cursor: Option<Cursor>,
}

impl TrailParams {
    pub fn parse(trail: Trail, query_string: &str) -> Self {
        let query = Query::parse(query_string);
        let Filters { filter, typed, errors } = Filters::parse(&query, matches!(trail, Trail::Platform));
        let paging = query.paging();
        let cursor = Cursor::read(&query, |key: &String| parse_time_key(key).is_some());
        Self { trail, filter, typed, errors, per_page: paging.per_page, page: paging.page, cursor }
    }

    /// `base` with the filters applied (never a refused one), leaving out empty ones.
    fn filtered(&self, base: &str, filter: &Filter) -> Href {
        let mut href = Href::new(base);
        let text = [("actor", &filter.actor), ("action", &filter.action), ("target", &filter.target)];
        for (name, value) in text {
            if let Some(value) = value {
                href = href.pair(name, urlencode(value));
            }
        }
        if let (Trail::Platform, Some(org)) = (self.trail, filter.org) {
            href = href.pair("org", org);
        }
        for (name, day) in [("from", filter.from), ("to", filter.to)] {
            if let Some(day) = day {
                href = href.pair(name, day.format("%Y-%m-%d"));
            }
        }
        href
    }

    /// This trail, these filters, page size kept, first page.
    fn list(&self) -> Href {
        self.filtered(&self.trail.path(), &self.filter).per_page(self.per_page)
    }

    /// A numbered page of the trail.
    pub fn href(&self, page: i64) -> String {
        self.filtered(&self.trail.path(), &self.filter).paging(self.per_page, page).build()
    }

    /// The page next to a row (`after` it, older; `before` it, newer).
    pub fn cursor_href(&self, cursor: &Cursor) -> String {
        cursor.href(self.list())
    }

    /// The CSV of the same filters (every matching event, paging left out).
    pub fn csv_href(&self) -> String {
        self.filtered(&self.trail.csv_path(), &self.filter).build()
    }

    /// The trail narrowed further: the current filters with one more (a click on a cell).
    pub fn narrowed(&self, narrow: impl FnOnce(&mut Filter)) -> String {
        let mut filter = self.filter.clone();
        narrow(&mut filter);
        self.filtered(&self.trail.path(), &filter).per_page(self.per_page).build()
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OrgId;
    use crate::web::list::pager;

    #[test]
    fn links_keep_applied_filters_only() {
        let params = TrailParams::parse(
            Trail::Platform,
            "actor=A%40B.example&target=x%26y+z&org=7&from=2026-01-01&to=%00&per_page=50",
        );
        assert_eq!(
            params.href(2),
            "/admin/audit?actor=a%40b.example&target=x%26y+z&org=7&from=2026-01-01&per_page=50&page=2"
        );
        assert_eq!(params.csv_href(), "/admin/audit.csv?actor=a%40b.example&target=x%26y+z&org=7&from=2026-01-01");
        let org = TrailParams::parse(Trail::Organization(OrgId(3)), "org=7&action=plan.created");
        assert_eq!(org.href(1), "/orgs/3/audit?action=plan.created");
        assert_eq!(org.csv_href(), "/orgs/3/audit.csv?action=plan.created");
        assert_eq!(org.narrowed(|f| f.actor = Some("a@b".into())), "/orgs/3/audit?actor=a%40b&action=plan.created");
    }

    #[test]
    fn a_cursor_comes_back_through_its_link() {
        let params = TrailParams::parse(Trail::Platform, "action=organization.updated");
        let at = NaiveDateTime::parse_from_str("2026-02-03 04:05:06.789012", "%Y-%m-%d %H:%M:%S%.f").unwrap();
        let next = Cursor { after: true, key: time_key(at), id: 9, page: 2 };
        let href = params.cursor_href(&next);
        let back = TrailParams::parse(Trail::Platform, href.split_once('?').map_or("", |(_, q)| q));
        assert_eq!(back.cursor, Some(next));
        assert_eq!(back.filter.action.as_deref(), Some("organization.updated"));
        assert_eq!(parse_time_key(&time_key(at)), Some(at));
    }

    #[test]
    fn junk_cursors_and_pages_fall_back() {
        let params = TrailParams::parse(Trail::Platform, "after=junk&before=%00&page=99999999999999999999&per_page=7");
        assert_eq!(params.cursor, None);
        assert_eq!((params.page, params.per_page), (pager::MAX_PAGE, pager::DEFAULT_PAGE_SIZE));
        let bad_time = Cursor { after: true, key: "0000-01-01T00:00:00".into(), id: 1, page: 2 };
        assert_eq!(TrailParams::parse(Trail::Platform, &format!("after={}", bad_time.encode())).cursor, None);
    }
}
