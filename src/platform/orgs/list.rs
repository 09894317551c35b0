//! The Organizations page: search, sort and paging, with its query kept in this one place.

use std::collections::HashSet;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use base64::Engine;
use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text, Timestamp};
use serde::{Deserialize, Serialize};

use crate::auth::PlatformAdmin;
use crate::db::schema::{memberships, organizations};
use crate::db::search::{self, OrgField};
use crate::db::{org_index, Backend, Db, DbConn};
use crate::domain::{fold, group_thousands};
use crate::error::AppError;
use crate::web::layout::{Layout, Section};
use crate::web::pager::{self, PageLink, Pager, Total};
use crate::web::search_box::{Refused, SearchBox};
use crate::web::{render_with, urlencode};

/// Which fields the Search By box looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchField {
    All,
    Name,
    Contact,
}

impl SearchField {
    fn parse(raw: Option<&str>) -> Self {
        match raw {
            Some("name") => Self::Name,
            Some("contact") => Self::Contact,
            _ => Self::All,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Name => "name",
            Self::Contact => "contact",
        }
    }

    fn db_field(self) -> OrgField {
        match self {
            Self::All => OrgField::All,
            Self::Name => OrgField::Name,
            Self::Contact => OrgField::Contact,
        }
    }
}

/// A sortable column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Contact,
    Quota,
    Users,
    Created,
}

impl SortKey {
    pub const ALL: [SortKey; 5] = [Self::Name, Self::Contact, Self::Quota, Self::Users, Self::Created];

    fn parse(raw: Option<&str>) -> Option<Self> {
        Self::ALL.into_iter().find(|key| Some(key.as_str()) == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Contact => "contact",
            Self::Quota => "quota",
            Self::Users => "users",
            Self::Created => "created",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Name => "Name",
            Self::Contact => "Contact Person",
            Self::Quota => "Quota (GB)",
            Self::Users => "Users",
            Self::Created => "Created",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

impl Direction {
    fn parse(raw: Option<&str>) -> Self {
        if raw == Some("desc") {
            Self::Desc
        } else {
            Self::Asc
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        }
    }
}

/// The page's query string, read leniently: anything unknown or malformed is the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListParams {
    /// The search run (empty for none, also when it was refused).
    pub q: String,
    /// A search that was not run (control characters), shown back with why.
    pub refused: Option<Refused>,
    pub by: SearchField,
    /// `None` is the natural (creation) order.
    pub sort: Option<SortKey>,
    pub dir: Direction,
    pub per_page: i64,
    pub page: i64,
    /// A keyset position from a next/previous link; wins over `page` when it fits the sort.
    pub cursor: Option<Cursor>,
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

/// Where a next or previous page starts: just after (or before) a row, and which page that is,
/// so "Showing 26–50 of N" stays right without counting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// True for `after` (the next page), false for `before` (the previous one).
    #[serde(rename = "a")]
    pub after: bool,
    #[serde(rename = "k")]
    pub key: SortValue,
    #[serde(rename = "i")]
    pub id: i64,
    #[serde(rename = "p")]
    pub page: i64,
}

impl Cursor {
    /// Opaque text for a URL.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    /// `None` for anything that is not a cursor we made (or no longer fits the sort).
    fn decode(text: &str, after: bool, sort: Option<SortKey>) -> Option<Self> {
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
        let cursor: Self = serde_json::from_slice(&json).ok()?;
        let fits = match (&cursor.key, sort) {
            (SortValue::Id, None) => true,
            (SortValue::Text(key), Some(SortKey::Name | SortKey::Contact)) => is_sort_text(key),
            (SortValue::Int(_), Some(SortKey::Quota | SortKey::Users)) => true,
            (SortValue::Time(t), Some(SortKey::Created)) => parse_time(t).is_some(),
            _ => false,
        };
        // Out of range is malformed too: ids start at 1, and the page number is shown and
        // added to, so it stays within what a list can have.
        let in_range = cursor.id >= 1 && (1..=pager::MAX_PAGE).contains(&cursor.page);
        (fits && in_range && cursor.after == after).then_some(cursor)
    }
}

/// A text sort key as the list stores them (folded names and emails): no control characters,
/// which PostgreSQL may refuse in text (NUL), and no longer than any stored key.
fn is_sort_text(key: &str) -> bool {
    key.chars().count() <= 1_024 && !key.chars().any(char::is_control)
}

const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f";

/// A cursor's time, within the years both backends store (PostgreSQL refuses timestamps
/// before 4713 BC, and SQLite compares them as text, which needs four-digit years).
fn parse_time(text: &str) -> Option<NaiveDateTime> {
    use chrono::Datelike;
    NaiveDateTime::parse_from_str(text, TIME_FORMAT).ok().filter(|t| (1..=9999).contains(&t.year()))
}

impl ListParams {
    pub fn parse(query_string: &str) -> Self {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query_string.as_bytes()).into_owned().collect();
        let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let SearchBox { q, refused } = SearchBox::parse(get("q"));
        let sort = SortKey::parse(get("sort"));
        let cursor = get("after")
            .and_then(|c| Cursor::decode(c, true, sort))
            .or_else(|| get("before").and_then(|c| Cursor::decode(c, false, sort)));
        Self {
            q,
            refused,
            by: SearchField::parse(get("by")),
            sort,
            dir: Direction::parse(get("dir")),
            per_page: pager::parse_page_size(get("per_page")),
            page: pager::parse_page(get("page")),
            cursor,
        }
    }

    /// The text shown in the search box: what was typed, searched for or refused.
    pub fn shown_q(&self) -> &str {
        self.refused.as_ref().map_or(&self.q, |refused| &refused.typed)
    }

    /// The URL of the page next to a row: `after` it (the next page) or `before` it.
    pub fn cursor_href(&self, cursor: &Cursor) -> String {
        let base = self.href_with(self.sort, self.dir, 1);
        let separator = if base.contains('?') { '&' } else { '?' };
        let name = if cursor.after { "after" } else { "before" };
        format!("{base}{separator}{name}={}", cursor.encode())
    }

    /// The URL of this list at another page, leaving out defaults.
    pub fn href(&self, page: i64) -> String {
        self.href_with(self.sort, self.dir, page)
    }

    /// The CSV export of this list (`GET /admin/organizations.csv`): the same search and sort,
    /// every matching row.
    pub fn csv_href(&self) -> String {
        let parts = self.query_parts(self.sort, self.dir);
        if parts.is_empty() {
            "/admin/organizations.csv".into()
        } else {
            format!("/admin/organizations.csv?{}", parts.join("&"))
        }
    }

    /// The search and sort of the query string, leaving out defaults.
    fn query_parts(&self, sort: Option<SortKey>, dir: Direction) -> Vec<String> {
        let mut parts = Vec::new();
        if !self.q.is_empty() {
            parts.push(format!("q={}", urlencode(&self.q)));
            if self.by != SearchField::All {
                parts.push(format!("by={}", self.by.as_str()));
            }
        }
        if let Some(sort) = sort {
            parts.push(format!("sort={}&dir={}", sort.as_str(), dir.as_str()));
        }
        parts
    }

    fn href_with(&self, sort: Option<SortKey>, dir: Direction, page: i64) -> String {
        let mut parts = self.query_parts(sort, dir);
        if self.per_page != pager::DEFAULT_PAGE_SIZE {
            parts.push(format!("per_page={}", self.per_page));
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        if parts.is_empty() {
            "/admin/organizations".into()
        } else {
            format!("/admin/organizations?{}", parts.join("&"))
        }
    }

    /// Clicking a header sorts by it ascending; clicking the sorted one toggles the direction.
    pub fn sort_href(&self, key: SortKey) -> String {
        let dir = match (self.sort, self.dir) {
            (Some(current), Direction::Asc) if current == key => Direction::Desc,
            _ => Direction::Asc,
        };
        self.href_with(Some(key), dir, 1)
    }
}

/// One row of the Organizations page.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organizations)]
pub struct OrgRow {
    pub id: i64,
    pub name: String,
    pub name_key: String,
    pub contact_email: String,
    pub contact_key: String,
    pub quota_gb: i64,
    pub member_count: i64,
    pub created_at: NaiveDateTime,
}

impl OrgRow {
    pub(crate) fn sort_value(&self, sort: Option<SortKey>) -> SortValue {
        match sort {
            None => SortValue::Id,
            Some(SortKey::Name) => SortValue::Text(self.name_key.clone()),
            Some(SortKey::Contact) => SortValue::Text(self.contact_key.clone()),
            Some(SortKey::Quota) => SortValue::Int(self.quota_gb),
            Some(SortKey::Users) => SortValue::Int(self.member_count),
            Some(SortKey::Created) => SortValue::Time(self.created_at.format(TIME_FORMAT).to_string()),
        }
    }
}

/// A filtered total is counted only up to here; past it the page says "more than 10,000".
pub const COUNT_CAP: i64 = 10_000;
/// Up to this many matches, a search fetches exactly those rows and sorts them; beyond, it
/// reads in sort order and checks each row (which stops after a page).
const FEW_MATCHES: i64 = 1_000;

/// A page of rows and where it stands.
#[derive(Debug, Clone)]
pub struct OrgPage {
    pub rows: Vec<OrgRow>,
    pub total: Total,
    /// The page shown (a page past the end shows the last one).
    pub page: i64,
    pub has_next: bool,
}

type OrgQuery = organizations::BoxedQuery<'static, Backend>;
type Condition = Box<dyn diesel::expression::BoxableExpression<organizations::table, Backend, SqlType = Bool>>;

/// How the rows of a search are found, decided once per request from the (capped) count.
enum Matching {
    /// No search.
    Everything,
    /// SQLite, a term with few matches: exactly these ids.
    Ids(Vec<i64>),
    /// SQLite, a common term in natural order: this page's ids, already read from the trigram
    /// index at the page's position (no offset or cursor applies any more).
    Window(Vec<i64>),
    /// SQLite, a common term: scan in sort order, checking each row in the trigram index.
    Probe(String),
    /// PostgreSQL (its trigram indexes answer `LIKE`), or a term too short for trigrams.
    Like(OrgField, String),
}

fn filtered(matching: &Matching) -> OrgQuery {
    let query = organizations::table.into_boxed();
    match matching {
        Matching::Everything => query,
        Matching::Ids(ids) | Matching::Window(ids) => query.filter(organizations::id.eq_any(ids.clone())),
        Matching::Probe(fts_match) => query.filter(search::fts_probe(fts_match)),
        Matching::Like(field, folded) => query.filter(search::like_filter(*field, folded)),
    }
}

/// The sort column's SQL name (for row-value comparisons), `None` in natural order.
fn sort_column(sort: Option<SortKey>) -> Option<&'static str> {
    sort.map(|key| match key {
        SortKey::Name => "organizations.name_key",
        SortKey::Contact => "organizations.contact_key",
        SortKey::Quota => "organizations.quota_gb",
        SortKey::Users => "organizations.member_count",
        SortKey::Created => "organizations.created_at",
    })
}

/// Order by the sort key then the id, so rows with equal keys keep one order across pages.
/// `forward` false gives the reverse order (previous and last pages read backwards).
fn sorted(query: OrgQuery, sort: Option<SortKey>, dir: Direction, forward: bool) -> OrgQuery {
    use organizations::*;
    let ascending = match sort {
        None => forward,
        Some(_) => (dir == Direction::Asc) == forward,
    };
    match (sort, ascending) {
        (None, true) => query.order(id.asc()),
        (None, false) => query.order(id.desc()),
        (Some(SortKey::Name), true) => query.order((name_key.asc(), id.asc())),
        (Some(SortKey::Name), false) => query.order((name_key.desc(), id.desc())),
        (Some(SortKey::Contact), true) => query.order((contact_key.asc(), id.asc())),
        (Some(SortKey::Contact), false) => query.order((contact_key.desc(), id.desc())),
        (Some(SortKey::Quota), true) => query.order((quota_gb.asc(), id.asc())),
        (Some(SortKey::Quota), false) => query.order((quota_gb.desc(), id.desc())),
        (Some(SortKey::Users), true) => query.order((member_count.asc(), id.asc())),
        (Some(SortKey::Users), false) => query.order((member_count.desc(), id.desc())),
        (Some(SortKey::Created), true) => query.order((created_at.asc(), id.asc())),
        (Some(SortKey::Created), false) => query.order((created_at.desc(), id.desc())),
    }
}

/// Rows strictly past the cursor's row in the direction read (a keyset condition over
/// `(sort key, id)`, which the sort index answers without skipping rows).
fn past(cursor: &Cursor, sort: Option<SortKey>, dir: Direction) -> Option<Condition> {
    let ascending = match sort {
        None => cursor.after,
        Some(_) => (dir == Direction::Asc) == cursor.after,
    };
    let op = if ascending { ">" } else { "<" };
    let Some(column) = sort_column(sort) else {
        return Some(Box::new(sql::<Bool>(&format!("organizations.id {op} ")).bind::<BigInt, _>(cursor.id)));
    };
    let head = format!("({column}, organizations.id) {op} (");
    let condition: Condition = match &cursor.key {
        SortValue::Text(key) => {
            Box::new(sql::<Bool>(&head).bind::<Text, _>(key.clone()).sql(", ").bind::<BigInt, _>(cursor.id).sql(")"))
        }
        SortValue::Int(key) => {
            Box::new(sql::<Bool>(&head).bind::<BigInt, _>(*key).sql(", ").bind::<BigInt, _>(cursor.id).sql(")"))
        }
        SortValue::Time(key) => Box::new(
            sql::<Bool>(&head).bind::<Timestamp, _>(parse_time(key)?).sql(", ").bind::<BigInt, _>(cursor.id).sql(")"),
        ),
        SortValue::Id => return None,
    };
    Some(condition)
}

/// Searches known to match more than `COUNT_CAP` organizations, and when that was counted.
/// Counting past the cap is the one costly part of such a search (15 ms on PostgreSQL at a
/// million) and its outcome only changes after mass removals, so each application instance
/// remembers it for half a minute; exact totals are always counted.
#[derive(Default)]
pub struct CommonTerms(std::sync::Mutex<std::collections::HashMap<(OrgField, String), std::time::Instant>>);

impl CommonTerms {
    const TTL: std::time::Duration = std::time::Duration::from_secs(30);
    const KEPT: usize = 1_000;

    fn known(&self, field: OrgField, folded: &str) -> bool {
        let Ok(terms) = self.0.lock() else { return false };
        terms.get(&(field, folded.to_owned())).is_some_and(|counted| counted.elapsed() < Self::TTL)
    }

    fn remember(&self, field: OrgField, folded: &str, found: i64) {
        if found <= COUNT_CAP {
            return;
        }
        if let Ok(mut terms) = self.0.lock() {
            if terms.len() >= Self::KEPT {
                terms.retain(|_, counted| counted.elapsed() < Self::TTL);
                if terms.len() >= Self::KEPT {
                    terms.clear();
                }
            }
            terms.insert((field, folded.to_owned()), std::time::Instant::now());
        }
    }
}

/// The total and how to find the rows: the counter when unfiltered, else the matches counted
/// up to the cap (on SQLite straight from the trigram index).
fn plan(conn: &mut DbConn, params: &ListParams, common: &CommonTerms) -> QueryResult<(Total, Matching)> {
    if params.q.is_empty() {
        return Ok((Total::Exact(org_index::count(conn)?), Matching::Everything));
    }
    let folded = fold(&params.q);
    let field = params.by.db_field();
    let capped = |found: usize| {
        let found = found as i64;
        if found > COUNT_CAP {
            Total::MoreThan(COUNT_CAP)
        } else {
            Total::Exact(found)
        }
    };
    if let Some(fts_match) = search::fts_match(conn, field, &folded) {
        let found =
            if common.known(field, &folded) { COUNT_CAP + 1 } else { search::fts_count(conn, &fts_match, COUNT_CAP)? };
        common.remember(field, &folded, found);
        let total = capped(found as usize);
        if found <= FEW_MATCHES {
            return Ok((total, Matching::Ids(search::fts_ids(conn, &fts_match, FEW_MATCHES)?)));
        }
        if params.sort.is_none() {
            // Natural order is the index's own order: read just this page's ids from it.
            let from = params.cursor.as_ref().map(|c| (c.id, c.after));
            let page = match total {
                Total::Exact(n) => pager::clamp_page(params.page, params.per_page, n),
                Total::MoreThan(_) => params.page,
            };
            let offset = if from.is_some() { 0 } else { pager::offset(page, params.per_page) };
            let window = search::fts_window(conn, &fts_match, from, offset, params.per_page)?;
            if window.is_empty() && from.is_none() && page > 1 {
                // A page number past the end of a total not counted: count it after all (only
                // for this odd request) and show the last real page.
                let found = search::fts_count(conn, &fts_match, UNCAPPED)?;
                let last = pager::page_count(found, params.per_page);
                let offset = pager::offset(last, params.per_page);
                let window = search::fts_window(conn, &fts_match, None, offset, params.per_page)?;
                return Ok((Total::Exact(found), Matching::Window(window)));
            }
            return Ok((total, Matching::Window(window)));
        }
        return Ok((total, Matching::Probe(fts_match)));
    }
    let found =
        if common.known(field, &folded) { COUNT_CAP + 1 } else { search::like_count(conn, field, &folded, COUNT_CAP)? };
    common.remember(field, &folded, found);
    Ok((capped(found as usize), Matching::Like(field, folded)))
}

/// A cap no count reaches: `fts_count`/`like_count` count up to `cap + 1`.
const UNCAPPED: i64 = i64::MAX - 1;

/// Every match, counted: only for a page number past the end of a capped total.
fn count_all(conn: &mut DbConn, matching: &Matching) -> QueryResult<i64> {
    match matching {
        Matching::Everything => org_index::count(conn),
        Matching::Ids(ids) | Matching::Window(ids) => Ok(ids.len() as i64),
        Matching::Probe(fts_match) => search::fts_count(conn, fts_match, UNCAPPED),
        Matching::Like(field, folded) => search::like_count(conn, *field, folded, UNCAPPED),
    }
}

/// One page of rows. The cost does not grow with the table: the total comes from a counter (or
/// a capped count), next and previous pages from keyset cursors, the last page from the
/// reversed order, and a page number typed into the URL skips rows in a covering index.
pub fn list(conn: &mut DbConn, params: &ListParams, common: &CommonTerms) -> QueryResult<OrgPage> {
    let (total, matching) = plan(conn, params, common)?;
    let per_page = params.per_page;
    let (sort, dir) = (params.sort, params.dir);
    let read = |conn: &mut DbConn, query: OrgQuery, limit: i64| -> QueryResult<Vec<OrgRow>> {
        query.select(OrgRow::as_select()).limit(limit).load(conn)
    };

    let keyset = params.cursor.as_ref().and_then(|cursor| Some((cursor, past(cursor, sort, dir)?)));
    let mut total = total;
    let (rows, page) = if let Matching::Window(_) = matching {
        let numbered = match total {
            Total::Exact(n) => pager::clamp_page(params.page, per_page, n),
            Total::MoreThan(_) => params.page,
        };
        let page = params.cursor.as_ref().map_or(numbered, |cursor| cursor.page);
        (read(conn, sorted(filtered(&matching), None, dir, true), per_page)?, page)
    } else if let Some((cursor, condition)) = keyset {
        let query = sorted(filtered(&matching).filter(condition), sort, dir, cursor.after);
        let mut rows = read(conn, query, per_page)?;
        if !cursor.after {
            rows.reverse();
        }
        (rows, cursor.page)
    } else {
        let page = match total {
            Total::Exact(n) => pager::clamp_page(params.page, per_page, n),
            Total::MoreThan(_) => params.page,
        };
        let last_page = match total {
            Total::Exact(n) if page > 1 => (page == pager::page_count(n, per_page)).then_some(n),
            _ => None,
        };
        if page == 1 && sort.is_none() && matches!(matching, Matching::Everything) {
            // The page everyone opens first: a static query, so its prepared statement is
            // cached instead of being parsed again on every request.
            let rows = organizations::table
                .order(organizations::id.asc())
                .select(OrgRow::as_select())
                .limit(per_page)
                .load(conn)?;
            (rows, page)
        } else if page == 1 {
            (read(conn, sorted(filtered(&matching), sort, dir, true), per_page)?, page)
        } else if let Some(n) = last_page {
            (last_rows(conn, &matching, sort, dir, per_page, n)?, page)
        } else {
            // A page number typed into the URL: skip rows in the sort index (a query that reads
            // only the index), then fetch just this page's rows by id.
            let skipped: Vec<i64> = sorted(filtered(&matching), sort, dir, true)
                .select(organizations::id)
                .limit(per_page)
                .offset(pager::offset(page, per_page))
                .load(conn)?;
            if skipped.is_empty() {
                // Past the end of a total not counted: count it after all (only for this odd
                // request) and show the last real page.
                let n = count_all(conn, &matching)?;
                total = Total::Exact(n);
                (last_rows(conn, &matching, sort, dir, per_page, n)?, pager::page_count(n, per_page))
            } else {
                let query = sorted(
                    organizations::table.into_boxed().filter(organizations::id.eq_any(skipped)),
                    sort,
                    dir,
                    true,
                );
                (read(conn, query, per_page)?, page)
            }
        }
    };
    let has_next = match total {
        Total::Exact(n) => page < pager::page_count(n, per_page),
        Total::MoreThan(_) => rows.len() as i64 == per_page,
    };
    Ok(OrgPage { rows, total, page, has_next })
}

/// The last page of `n` matching rows, read backwards: only the remainder, however deep it is.
fn last_rows(
    conn: &mut DbConn,
    matching: &Matching,
    sort: Option<SortKey>,
    dir: Direction,
    per_page: i64,
    n: i64,
) -> QueryResult<Vec<OrgRow>> {
    let remainder = n - pager::offset(pager::page_count(n, per_page), per_page);
    let mut rows =
        sorted(filtered(matching), sort, dir, false).select(OrgRow::as_select()).limit(remainder.max(0)).load(conn)?;
    rows.reverse();
    Ok(rows)
}

/// Of `org_ids`, those the account administers (their rows get a Manage link).
pub fn administered_among(conn: &mut DbConn, account_id: i64, org_ids: &[i64]) -> QueryResult<HashSet<i64>> {
    let ids: Vec<i64> = memberships::table
        .filter(memberships::account_id.eq(account_id))
        .filter(memberships::status.eq("active"))
        .filter(memberships::is_delegate.eq(true))
        .filter(memberships::organization_id.eq_any(org_ids))
        .select(memberships::organization_id)
        .load(conn)?;
    Ok(ids.into_iter().collect())
}

/// A column header: its link and how it is sorted now.
pub struct SortHeader {
    pub label: &'static str,
    pub href: String,
    /// `ascending`/`descending` on the sorted column, else `None`.
    pub aria_sort: Option<&'static str>,
    pub arrow: &'static str,
    /// Right-aligned like the figures under it.
    pub numeric: bool,
}

pub struct OrgRowView {
    pub id: i64,
    pub name: String,
    pub contact_email: String,
    pub quota: String,
    pub users: String,
    pub created: String,
    pub created_iso: String,
    pub manage: bool,
    /// The Removal Status this viewer reads; empty without a request.
    pub removal_status: String,
}

#[derive(Template)]
#[template(path = "orgs/list.html")]
pub struct OrgListPage {
    pub layout: Layout,
    pub params: ListParams,
    pub headers: Vec<SortHeader>,
    pub rows: Vec<OrgRowView>,
    pub pager: Pager,
    pub page_sizes: [i64; 4],
    /// This page's address, so the toolbar can come back to it.
    pub back: String,
}

impl OrgListPage {
    fn search_by_options(&self) -> [(&'static str, &'static str, bool); 3] {
        let by = self.params.by;
        [
            ("all", "All", by == SearchField::All),
            ("name", "Name", by == SearchField::Name),
            ("contact", "Contact Person", by == SearchField::Contact),
        ]
    }
}

// Dates straight from their fields: chrono's format strings are parsed on every call, which
// showed up in the page's profile.
fn day(at: NaiveDateTime) -> String {
    use chrono::Datelike;
    format!("{:04}-{:02}-{:02}", at.year(), at.month(), at.day())
}

pub(crate) fn iso_time(at: NaiveDateTime) -> String {
    use chrono::Timelike;
    format!("{}T{:02}:{:02}:{:02}Z", day(at), at.hour(), at.minute(), at.second())
}

/// `GET /admin/organizations`
pub async fn show(
    admin: PlatformAdmin,
    db: web::Data<Db>,
    common: web::Data<CommonTerms>,
    clock: web::Data<crate::clock::Clock>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let params = ListParams::parse(req.query_string());
    let account_id = admin.id();
    let query = params.clone();
    let (page, administered, requests) = db
        .run(move |conn| -> QueryResult<_> {
            let page = list(conn, &query, &common)?;
            let ids: Vec<i64> = page.rows.iter().map(|r| r.id).collect();
            let administered = administered_among(conn, account_id, &ids)?;
            let requests = crate::platform::removal::queries::requests_among(conn, &ids)?;
            Ok((page, administered, requests))
        })
        .await?;
    let now = clock.now();

    let headers = SortKey::ALL
        .into_iter()
        .map(|key| {
            let sorted_here = params.sort == Some(key);
            SortHeader {
                label: key.label(),
                href: params.sort_href(key),
                aria_sort: sorted_here.then_some(match params.dir {
                    Direction::Asc => "ascending",
                    Direction::Desc => "descending",
                }),
                numeric: matches!(key, SortKey::Quota | SortKey::Users),
                arrow: match (sorted_here, params.dir) {
                    (false, _) => "",
                    (true, Direction::Asc) => "▲",
                    (true, Direction::Desc) => "▼",
                },
            }
        })
        .collect();
    let shown_page = page.page;
    let mut links = Vec::new();
    if shown_page > 1 {
        links.push(PageLink { rel: "first", label: "« First", href: params.href(1) });
        let prev = match page.rows.first() {
            Some(row) => params.cursor_href(&Cursor {
                after: false,
                key: row.sort_value(params.sort),
                id: row.id,
                page: shown_page - 1,
            }),
            None => params.href(shown_page - 1),
        };
        links.push(PageLink { rel: "prev", label: "‹ Previous", href: prev });
    }
    if let (true, Some(row)) = (page.has_next, page.rows.last()) {
        let cursor = Cursor { after: true, key: row.sort_value(params.sort), id: row.id, page: shown_page + 1 };
        links.push(PageLink { rel: "next", label: "Next ›", href: params.cursor_href(&cursor) });
    }
    if let Total::Exact(n) = page.total {
        let pages = pager::page_count(n, params.per_page);
        if shown_page < pages {
            links.push(PageLink { rel: "last", label: "Last »", href: params.href(pages) });
        }
    }
    let pager = Pager::with_links(shown_page, params.per_page, page.rows.len() as i64, page.total, links);
    // A refused search still shows the list (unfiltered), with the reason beside the box.
    let status = if params.refused.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let rows = page
        .rows
        .into_iter()
        .map(|row| OrgRowView {
            manage: administered.contains(&row.id),
            removal_status: crate::platform::removal::state::status(requests.get(&row.id), account_id, now),
            id: row.id,
            name: row.name,
            contact_email: row.contact_email,
            quota: group_thousands(row.quota_gb),
            users: group_thousands(row.member_count),
            created: day(row.created_at),
            created_iso: iso_time(row.created_at),
        })
        .collect();
    render_with(
        status,
        &OrgListPage {
            layout: admin.layout("Organizations", Section::Platform)?,
            params: ListParams { page: shown_page, ..params },
            headers,
            rows,
            pager,
            page_sizes: pager::PAGE_SIZES,
            back: format!(
                "/admin/organizations{}",
                if req.query_string().is_empty() { String::new() } else { format!("?{}", req.query_string()) }
            ),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_totals_past_the_cap_are_remembered() {
        let terms = CommonTerms::default();
        terms.remember(OrgField::All, "abc", COUNT_CAP);
        assert!(!terms.known(OrgField::All, "abc"), "an exact total is always counted again");
        terms.remember(OrgField::All, "abc", COUNT_CAP + 1);
        assert!(terms.known(OrgField::All, "abc"));
        assert!(!terms.known(OrgField::Name, "abc"), "per search field");
        assert!(!CommonTerms::default().known(OrgField::All, "abc"), "per application instance");
    }

    #[test]
    fn junk_parameters_fall_back_to_defaults() {
        let params = ListParams::parse("q=%ZZ&by=bogus&sort=drop+table&dir=sideways&per_page=7&page=-3&page=9");
        assert_eq!(params.by, SearchField::All);
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
        assert_eq!(params.href(2), "/admin/organizations?sort=name&dir=asc&page=2");
        assert_eq!(params.csv_href(), "/admin/organizations.csv?sort=name&dir=asc");
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
        let decode = |text: &str, sort| Cursor::decode(text, true, sort);
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
        for json in [r#"{"a":true,"k":"Id","i":1e309,"p":2}"#, "null", "[".repeat(10_000).as_str()] {
            assert!(decode(&URL_SAFE_NO_PAD.encode(json), None).is_none(), "{json:.40}");
        }
        assert!(decode("%%%", None).is_none());
    }

    #[test]
    fn clicking_the_sorted_header_toggles_direction() {
        let params = ListParams::parse("sort=name&dir=asc&q=ab&by=name&page=3");
        assert_eq!(params.sort_href(SortKey::Name), "/admin/organizations?q=ab&by=name&sort=name&dir=desc");
        assert_eq!(params.sort_href(SortKey::Quota), "/admin/organizations?q=ab&by=name&sort=quota&dir=asc");
        let desc = ListParams::parse("sort=name&dir=desc");
        assert_eq!(desc.sort_href(SortKey::Name), "/admin/organizations?sort=name&dir=asc");
    }

    #[test]
    fn hrefs_leave_out_defaults_and_encode_the_search() {
        let params = ListParams::parse("q=a%26b+c&per_page=25");
        assert_eq!(params.href(1), "/admin/organizations?q=a%26b+c");
        assert_eq!(params.href(2), "/admin/organizations?q=a%26b+c&page=2");
        assert_eq!(ListParams::parse("").href(1), "/admin/organizations");
    }

    #[test]
    fn the_csv_link_keeps_search_and_sort_but_not_paging() {
        let params = ListParams::parse("q=a%26b&by=name&sort=quota&dir=desc&per_page=50&page=3");
        assert_eq!(params.csv_href(), "/admin/organizations.csv?q=a%26b&by=name&sort=quota&dir=desc");
        assert_eq!(ListParams::parse("per_page=50").csv_href(), "/admin/organizations.csv");
    }
}
