//! The Organizations page's query string: search, sort, paging and a keyset cursor, read
//! leniently, and the links back to the page with them.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::db::search::OrgField;
use crate::platform::paths;
use crate::web::list::{self, Direction, Href, Query, Refused, SearchBox};

list::sort::sort_keys! {
    /// A sortable column.
    pub enum SortKey {
        Name => "name", "Name";
        Contact => "contact", "Contact Person";
        Quota => "quota", "Quota (GB)", numeric;
        Users => "users", "Users", numeric;
        Created => "created", "Created";
    }
}

/// The value of the sort key at a row, as a cursor carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortValue {
    /// Natural order: the id alone.
    Id,
    Text(String),
    Int(i64),
    /// `%Y-%m-%dT%H:%M:%S%.6f`
    Time(String),
}

/// Where a next or previous page of the Organizations page starts.
pub type Cursor = list::Cursor<SortValue>;

/// Whether a cursor's key is one this sort makes (a cursor of another sort is ignored).
pub(super) fn fits(sort: Option<SortKey>) -> impl Fn(&SortValue) -> bool {
    move |key| match (key, sort) {
        (SortValue::Id, None) => true,
        (SortValue::Text(key), Some(SortKey::Name | SortKey::Contact)) => is_sort_text(key),
        (SortValue::Int(_), Some(SortKey::Quota | SortKey::Users)) => true,
        (SortValue::Time(t), Some(SortKey::Created)) => parse_time(t).is_some(),
        _ => false,
    }
}

/// A text sort key as the list stores them (folded names and emails): no control characters,
/// which PostgreSQL may refuse in text (NUL), and no longer than any stored key.
fn is_sort_text(key: &str) -> bool {
    key.chars().count() <= 1_024 && !key.chars().any(char::is_control)
}

pub(super) const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f";

/// A cursor's time, within the years both backends store (PostgreSQL refuses timestamps
/// before 4713 BC, and SQLite compares them as text, which needs four-digit years).
pub(super) fn parse_time(text: &str) -> Option<NaiveDateTime> {
    use chrono::Datelike;
    NaiveDateTime::parse_from_str(text, TIME_FORMAT).ok().filter(|t| (1..=9999).contains(&t.year()))
}

/// The page's query string, read leniently: anything unknown or malformed is the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListParams {
    /// The search run (empty for none, also when it was refused).
    pub q: String,
    /// A search that was not run (control characters), shown back with why.
    pub refused: Option<Refused>,
    pub by: OrgField,
    /// `None` is the natural (creation) order.
    pub sort: Option<SortKey>,
    pub dir: Direction,
    pub per_page: i64,
    pub page: i64,
    /// A keyset position from a next/previous link; wins over `page` when it fits the sort.
    pub cursor: Option<Cursor>,
}

impl ListParams {
    pub fn parse(query_string: &str) -> Self {
        let query = Query::parse(query_string);
        let SearchBox { q, refused } = query.search();
        let sort = query.sort();
        let paging = query.paging();
        Self {
            q,
            refused,
            by: OrgField::parse(query.get("by")),
            sort,
            dir: query.dir(),
            per_page: paging.per_page,
            page: paging.page,
            cursor: Cursor::read(&query, fits(sort)),
        }
    }

    /// The text shown in the search box: what was typed, searched for or refused.
    pub fn shown_q(&self) -> &str {
        self.refused.as_ref().map_or(&self.q, |refused| &refused.typed)
    }

    /// The URL of the page next to a row: `after` it (the next page) or `before` it.
    pub fn cursor_href(&self, cursor: &Cursor) -> String {
        cursor.href(self.list(self.sort, self.dir, 1))
    }

    /// The URL of this list at another page, leaving out defaults.
    pub fn href(&self, page: i64) -> String {
        self.list(self.sort, self.dir, page).build()
    }

    /// The CSV export of this list (`GET /admin/organizations.csv`): the same search and sort,
    /// every matching row.
    pub fn csv_href(&self) -> String {
        self.searched(Href::new(paths::ORGANIZATIONS_CSV), self.sort, self.dir).build()
    }

    /// Clicking a header sorts by it ascending; clicking the sorted one toggles the direction.
    pub fn sort_href(&self, key: SortKey) -> String {
        self.list(Some(key), Direction::on_click(self.sort, self.dir, key), 1).build()
    }

    /// The column headers, each linking to its sort.
    pub fn headers(&self) -> Vec<list::SortHeader> {
        list::sort::headers(self.sort, self.dir, |key, dir| self.list(key, dir, 1).build())
    }

    /// The search and sort of the query string, leaving out defaults.
    fn searched(&self, href: Href, sort: Option<SortKey>, dir: Direction) -> Href {
        let href = href.search(&self.q);
        let href = if self.q.is_empty() || self.by == OrgField::All { href } else { href.pair("by", self.by.as_str()) };
        href.sort(sort, dir)
    }

    fn list(&self, sort: Option<SortKey>, dir: Direction, page: i64) -> Href {
        self.searched(Href::new(paths::ORGANIZATIONS), sort, dir).paging(self.per_page, page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // The path itself is pinned in `paths`; these pin the query strings.
    use crate::platform::paths::{ORGANIZATIONS, ORGANIZATIONS_CSV};
    use crate::web::list::pager;

    #[test]
    fn junk_parameters_fall_back_to_defaults() {
        let params = ListParams::parse("q=%ZZ&by=bogus&sort=drop+table&dir=sideways&per_page=7&page=-3&page=9");
        assert_eq!(params.by, OrgField::All);
        assert_eq!(params.sort, None);
        assert_eq!(params.dir, Direction::Asc);
        assert_eq!(params.per_page, 25);
        assert_eq!(params.page, 1);
    }

    #[test]
    fn a_search_with_control_characters_is_refused_and_no_link_repeats_it() {
        let params = ListParams::parse("q=abc%00&by=name&sort=name&page=2");
        assert_eq!(params.q, "", "nothing is searched for");
        assert_eq!(params.shown_q(), "abc\0", "what was typed is shown back");
        assert!(params.refused.as_ref().is_some_and(|r| r.message.contains("U+0000")));
        assert_eq!(params.href(2), format!("{ORGANIZATIONS}?sort=name&dir=asc&page=2"));
        assert_eq!(params.csv_href(), format!("{ORGANIZATIONS_CSV}?sort=name&dir=asc"));
        let plain = ListParams::parse("q=%0Aacme%0D%0A");
        assert_eq!((plain.q.as_str(), plain.refused), ("acme", None), "surrounding line breaks are trimmed");
    }

    #[test]
    fn huge_page_numbers_are_kept_within_the_last_possible_page() {
        assert_eq!(ListParams::parse("page=9223372036854775807").page, pager::MAX_PAGE);
        assert_eq!(ListParams::parse("page=99999999999999999999999").page, pager::MAX_PAGE);
        assert_eq!(ListParams::parse("page=-9223372036854775808").page, 1);
    }

    fn cursor(key: SortValue, id: i64, page: i64) -> String {
        Cursor { after: true, key, id, page }.encode()
    }

    #[test]
    fn cursors_out_of_range_are_malformed() {
        let decode = |text: &str, sort| Cursor::decode(text, true, fits(sort));
        let name = Some(SortKey::Name);
        let quota = Some(SortKey::Quota);
        let created = Some(SortKey::Created);
        // What the list makes, and the edges of what a sort key holds.
        assert!(decode(&cursor(SortValue::Id, 1, 2), None).is_some());
        assert!(decode(&cursor(SortValue::Id, i64::MAX, pager::MAX_PAGE), None).is_some());
        assert!(decode(&cursor(SortValue::Int(i64::MIN), 1, 2), quota).is_some());
        assert!(decode(&cursor(SortValue::Text("müller gmbh".into()), 7, 2), name).is_some());
        assert!(decode(&cursor(SortValue::Time("2024-02-29T23:59:59.999999".into()), 7, 2), created).is_some());
        // Page numbers and ids no list has.
        assert!(decode(&cursor(SortValue::Id, 1, pager::MAX_PAGE + 1), None).is_none());
        assert!(decode(&cursor(SortValue::Id, 1, i64::MAX), None).is_none());
        assert!(decode(&cursor(SortValue::Id, 1, 0), None).is_none());
        assert!(decode(&cursor(SortValue::Id, 0, 2), None).is_none());
        assert!(decode(&cursor(SortValue::Id, i64::MIN, 2), None).is_none());
        // Text PostgreSQL refuses, or longer than any key.
        assert!(decode(&cursor(SortValue::Text("a\0b".into()), 1, 2), name).is_none());
        assert!(decode(&cursor(SortValue::Text("x".repeat(1_025)), 1, 2), name).is_none());
        // Times outside four-digit years, or not times.
        for time in ["0000-01-01T00:00:00.000000", "+262143-12-31T23:59:59.999999", "2024-02-30T00:00:00.000000", ""] {
            assert!(decode(&cursor(SortValue::Time(time.into()), 1, 2), created).is_none(), "{time}");
        }
        // Not JSON of a cursor at all.
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        for json in [r#"{"a":true,"k":"Id","i":1e309,"p":2}"#, "null", "[".repeat(10_000).as_str()] {
            assert!(decode(&URL_SAFE_NO_PAD.encode(json), None).is_none(), "{json:.40}");
        }
        assert!(decode("%%%", None).is_none());
    }

    #[test]
    fn a_cursor_link_keeps_search_sort_and_page_size() {
        let params = ListParams::parse("q=a+b&sort=quota&dir=desc&per_page=50&page=4");
        let next = Cursor { after: true, key: SortValue::Int(3), id: 9, page: 5 };
        let href = params.cursor_href(&next);
        assert_eq!(href, format!("{ORGANIZATIONS}?q=a+b&sort=quota&dir=desc&per_page=50&after={}", next.encode()));
        let back = ListParams::parse(href.split_once('?').map_or("", |(_, query)| query));
        assert_eq!(back.cursor, Some(next));
    }

    #[test]
    fn clicking_the_sorted_header_toggles_direction() {
        let params = ListParams::parse("sort=name&dir=asc&q=ab&by=name&page=3");
        assert_eq!(params.sort_href(SortKey::Name), format!("{ORGANIZATIONS}?q=ab&by=name&sort=name&dir=desc"));
        assert_eq!(params.sort_href(SortKey::Quota), format!("{ORGANIZATIONS}?q=ab&by=name&sort=quota&dir=asc"));
        let desc = ListParams::parse("sort=name&dir=desc");
        assert_eq!(desc.sort_href(SortKey::Name), format!("{ORGANIZATIONS}?sort=name&dir=asc"));
        let hrefs: Vec<String> = params.headers().into_iter().map(|h| h.href).collect();
        assert_eq!(hrefs[0], params.sort_href(SortKey::Name));
        assert_eq!(hrefs[2], params.sort_href(SortKey::Quota));
    }

    #[test]
    fn hrefs_leave_out_defaults_and_encode_the_search() {
        let params = ListParams::parse("q=a%26b+c&per_page=25");
        assert_eq!(params.href(1), format!("{ORGANIZATIONS}?q=a%26b+c"));
        assert_eq!(params.href(2), format!("{ORGANIZATIONS}?q=a%26b+c&page=2"));
        assert_eq!(ListParams::parse("").href(1), ORGANIZATIONS);
    }

    #[test]
    fn the_csv_link_keeps_search_and_sort_but_not_paging() {
        let params = ListParams::parse("q=a%26b&by=name&sort=quota&dir=desc&per_page=50&page=3");
        assert_eq!(params.csv_href(), format!("{ORGANIZATIONS_CSV}?q=a%26b&by=name&sort=quota&dir=desc"));
        assert_eq!(ListParams::parse("per_page=50").csv_href(), ORGANIZATIONS_CSV);
    }
}
