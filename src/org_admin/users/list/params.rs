//! The users list's query string: search, status filter, sort, paging and a keyset cursor,
//! read leniently, and the links back to the list with them.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::domain::OrgId;
use crate::org_admin::paths;
use crate::web::list::{self, Direction, Href, Query, Refused, SearchBox};

/// The membership statuses, in the status filter's order.
pub const STATUSES: [&str; 4] = ["invited", "awaiting_validation", "active", "removed"];

list::sort::sort_keys! {
    /// A sortable column, in the table's order.
    pub enum UserSort {
        Email => "email", "Username (email)";
        Name => "name", "Name";
        Status => "status", "Status";
        Quota => "quota", "Account Quota (GB)", numeric;
        Added => "added", "Added";
        Flags => "flags", "Flags";
        Plan => "plan", "Plan";
    }
}

/// The value of the sort key at a row, as a cursor carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortValue {
    Text(String),
    Int(i64),
    /// `%Y-%m-%dT%H:%M:%S%.6f`
    Time(String),
}

/// Where a next or previous page of the users list starts.
pub type Cursor = list::Cursor<SortValue>;

/// The sort the rows are read in: no `sort` parameter is the natural order, when they were
/// added, oldest first.
pub fn effective(sort: Option<UserSort>, dir: Direction) -> (UserSort, Direction) {
    match sort {
        Some(key) => (key, dir),
        None => (UserSort::Added, Direction::Asc),
    }
}

/// Whether a cursor's key is one this sort makes (a cursor of another sort is ignored).
fn fits(sort: Option<UserSort>) -> impl Fn(&SortValue) -> bool {
    move |key| match (key, effective(sort, Direction::Asc).0) {
        (SortValue::Text(text), UserSort::Email | UserSort::Name | UserSort::Status | UserSort::Plan) => {
            is_sort_text(text)
        }
        (SortValue::Int(_), UserSort::Quota | UserSort::Flags) => true,
        (SortValue::Time(time), UserSort::Added) => parse_time(time).is_some(),
        _ => false,
    }
}

/// A text sort key as the list stores them (emails and folded names): no control characters,
/// which PostgreSQL may refuse in text (NUL), and no longer than any stored key.
fn is_sort_text(key: &str) -> bool {
    key.chars().count() <= 1_024 && !key.chars().any(char::is_control)
}

pub const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f";

/// A cursor's time, within the years both backends store (PostgreSQL refuses timestamps
/// before 4713 BC, and SQLite compares them as text, which needs four-digit years).
pub fn parse_time(text: &str) -> Option<NaiveDateTime> {
    use chrono::Datelike;
    NaiveDateTime::parse_from_str(text, TIME_FORMAT).ok().filter(|t| (1..=9999).contains(&t.year()))
}

/// The list's query string, read leniently: anything unknown falls back to the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserParams {
    /// The search run (empty for none, also when it was refused).
    pub q: String,
    /// A search that was not run (control characters), shown back with why.
    pub refused: Option<Refused>,
    /// `None`: every membership not removed.
    pub status: Option<&'static str>,
    /// `None` is the natural order (when added).
    pub sort: Option<UserSort>,
    pub dir: Direction,
    pub per_page: i64,
    pub page: i64,
    /// A keyset position from a next/previous link; wins over `page` when it fits the sort.
    pub cursor: Option<Cursor>,
}

impl UserParams {
    pub fn parse(query_string: &str) -> Self {
        let query = Query::parse(query_string);
        let SearchBox { q, refused } = query.search();
        let sort = query.sort();
        let paging = query.paging();
        Self {
            q,
            refused,
            status: STATUSES.into_iter().find(|s| Some(*s) == query.get("status")),
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

    /// `base` with this list's search, status filter and the given sort, leaving out defaults.
    fn filtered(&self, base: &str, sort: Option<UserSort>, dir: Direction) -> Href {
        let href = Href::new(base).search(&self.q);
        let href = match self.status {
            Some(status) => href.pair("status", status),
            None => href,
        };
        href.sort(sort, dir)
    }

    fn list(&self, org_id: OrgId, sort: Option<UserSort>, dir: Direction, page: i64) -> Href {
        self.filtered(&paths::users(org_id), sort, dir).paging(self.per_page, page)
    }

    /// The URL of this list at another page.
    pub fn href(&self, org_id: OrgId, page: i64) -> String {
        self.list(org_id, self.sort, self.dir, page).build()
    }

    /// The URL of the page next to a row: `after` it (the next page) or `before` it.
    pub fn cursor_href(&self, org_id: OrgId, cursor: &Cursor) -> String {
        cursor.href(self.list(org_id, self.sort, self.dir, 1))
    }

    /// The column headers; clicking the sorted column again toggles its direction.
    pub fn headers(&self, org_id: OrgId) -> Vec<list::SortHeader> {
        list::sort::headers(self.sort, self.dir, |key, dir| self.list(org_id, key, dir, 1).build())
    }

    /// The same filter and sort as CSV.
    pub fn csv_href(&self, org_id: OrgId) -> String {
        self.filtered(&paths::users_csv(org_id), self.sort, self.dir).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::list::pager;

    const ORG: OrgId = OrgId(7);

    #[test]
    fn a_search_with_control_characters_is_refused_and_no_link_repeats_it() {
        let params = UserParams::parse("q=a%0Db&status=active&sort=email");
        assert_eq!(params.q, "");
        assert_eq!(params.shown_q(), "a\rb");
        assert!(params.refused.as_ref().is_some_and(|r| r.message.contains("U+000D")));
        assert_eq!(params.href(ORG, 2), "/orgs/7/users?status=active&sort=email&dir=asc&page=2");
        assert_eq!(params.csv_href(ORG), "/orgs/7/users.csv?status=active&sort=email&dir=asc");
        let plain = UserParams::parse("q=+Anna+");
        assert_eq!((plain.q.as_str(), plain.refused), ("Anna", None));
    }

    #[test]
    fn junk_and_huge_paging_input_falls_back() {
        let params =
            UserParams::parse("page=99999999999999999999&per_page=7&status=%00&sort=%FF&dir=up&after=%%%&before=x");
        assert_eq!(params.page, pager::MAX_PAGE, "clamped to the last page when the total is known");
        assert_eq!(params.per_page, pager::DEFAULT_PAGE_SIZE);
        assert_eq!((params.status, params.sort, params.dir, params.cursor), (None, None, Direction::Asc, None));
    }

    #[test]
    fn flags_and_plan_are_sort_keys() {
        assert_eq!(UserParams::parse("sort=flags&dir=desc").sort, Some(UserSort::Flags));
        assert_eq!(UserParams::parse("sort=plan").sort, Some(UserSort::Plan));
    }

    fn encoded(key: SortValue) -> String {
        Cursor { after: true, key, id: 9, page: 2 }.encode()
    }

    #[test]
    fn a_cursor_is_read_only_for_the_sort_that_made_it() {
        let text = encoded(SortValue::Text("anna@example.com".into()));
        assert!(UserParams::parse(&format!("sort=email&after={text}")).cursor.is_some());
        assert!(UserParams::parse(&format!("sort=plan&after={text}")).cursor.is_some());
        assert!(UserParams::parse(&format!("sort=quota&after={text}")).cursor.is_none());
        assert!(UserParams::parse(&format!("after={text}")).cursor.is_none(), "natural order is by time");
        let time = encoded(SortValue::Time("2026-01-02T03:04:05.000000".into()));
        assert!(UserParams::parse(&format!("after={time}")).cursor.is_some());
        assert!(UserParams::parse(&format!("sort=added&dir=desc&after={time}")).cursor.is_some());
        for junk in
            [SortValue::Time("0000-01-01T00:00:00.000000".into()), SortValue::Time("2024-02-30T00:00:00.000000".into())]
        {
            assert!(UserParams::parse(&format!("after={}", encoded(junk))).cursor.is_none());
        }
        let nul = encoded(SortValue::Text("a\0b".into()));
        assert!(UserParams::parse(&format!("sort=name&after={nul}")).cursor.is_none());
        let flags = encoded(SortValue::Int(i64::MIN));
        assert!(UserParams::parse(&format!("sort=flags&after={flags}")).cursor.is_some());
    }

    #[test]
    fn a_cursor_link_keeps_search_status_sort_and_page_size() {
        let params = UserParams::parse("q=a+b&status=invited&sort=quota&dir=desc&per_page=50&page=4");
        let next = Cursor { after: true, key: SortValue::Int(3), id: 9, page: 5 };
        let href = params.cursor_href(ORG, &next);
        assert_eq!(
            href,
            format!("/orgs/7/users?q=a+b&status=invited&sort=quota&dir=desc&per_page=50&after={}", next.encode())
        );
        let back = UserParams::parse(href.split_once('?').map_or("", |(_, query)| query));
        assert_eq!(back.cursor, Some(next));
    }
}
