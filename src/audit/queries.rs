//! Reading the audit trails, newest first by `(occurred_at, id)`: the time an event happened is
//! the order a reader expects and what the date filters bound, while ids follow insertion
//! (bulk-loaded or replayed events are not inserted in time order); the id only breaks ties
//! between events of the same instant. Every filter is an equality or a time range that one of
//! the `(…, occurred_at, id)` indexes answers in this order, so a page reads a page of index
//! entries, never the whole trail.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Timestamp};

use super::filter::Filter;
use super::params::{parse_time_key, Cursor, TrailParams};
use crate::db::count::CountOf;
use crate::db::schema::audit_events;
use crate::db::{Backend, DbConn};
use crate::domain::OrgId;
use crate::web::list::{pager, Total};

/// Matches counted at most; past it the page says "more than 10,000".
pub const COUNT_CAP: i64 = 10_000;

#[derive(Debug, Clone, Queryable)]
pub struct EventRow {
    pub id: i64,
    pub occurred_at: NaiveDateTime,
    pub actor_email: String,
    pub organization_id: Option<i64>,
    pub organization_name: String,
    pub action: String,
    pub target: String,
    pub details: String,
    pub client_addr: String,
}

type Columns = (
    audit_events::id,
    audit_events::occurred_at,
    audit_events::actor_email,
    audit_events::organization_id,
    audit_events::organization_name,
    audit_events::action,
    audit_events::target,
    audit_events::details,
    audit_events::client_addr,
);

const COLUMNS: Columns = (
    audit_events::id,
    audit_events::occurred_at,
    audit_events::actor_email,
    audit_events::organization_id,
    audit_events::organization_name,
    audit_events::action,
    audit_events::target,
    audit_events::details,
    audit_events::client_addr,
);

/// Platform-level events, or one organization's own events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trail {
    Platform,
    Organization(OrgId),
}

impl Trail {
    /// The trail's page.
    pub fn path(self) -> String {
        match self {
            Trail::Platform => crate::platform::paths::AUDIT.to_owned(),
            Trail::Organization(id) => crate::org_admin::paths::audit(id),
        }
    }

    /// The trail's CSV export.
    pub fn csv_path(self) -> String {
        match self {
            Trail::Platform => crate::platform::paths::AUDIT_CSV.to_owned(),
            Trail::Organization(id) => crate::org_admin::paths::audit_csv(id),
        }
    }
}

type EventQuery = audit_events::BoxedQuery<'static, Backend>;

/// The trail's events that pass the filter. The trail's rule comes first and a filter only
/// narrows it: platform events never include an organization's own, and an organization's
/// trail never reads `org`.
fn filtered(trail: Trail, filter: &Filter) -> EventQuery {
    let mut query = match trail {
        Trail::Platform => {
            let query = audit_events::table.filter(audit_events::scope.eq("platform")).into_boxed();
            match filter.org {
                Some(org) => query.filter(audit_events::organization_id.assume_not_null().eq(org)),
                None => query,
            }
        }
        Trail::Organization(id) => audit_events::table
            .filter(audit_events::organization_id.assume_not_null().eq(id.get()))
            .filter(audit_events::scope.eq("organization"))
            .into_boxed(),
    };
    if let Some(actor) = &filter.actor {
        query = query.filter(audit_events::actor_email.eq(actor.clone()));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_events::action.eq(action.clone()));
    }
    if let Some(target) = &filter.target {
        query = query.filter(audit_events::target.eq(target.clone()));
    }
    if let Some(since) = filter.since() {
        query = query.filter(audit_events::occurred_at.ge(since));
    }
    if let Some(until) = filter.until() {
        query = query.filter(audit_events::occurred_at.lt(until));
    }
    query
}

/// Newest first (`newest` false: oldest first, for reading a page backwards).
fn ordered(query: EventQuery, newest: bool) -> EventQuery {
    if newest {
        query.order((audit_events::occurred_at.desc(), audit_events::id.desc()))
    } else {
        query.order((audit_events::occurred_at.asc(), audit_events::id.asc()))
    }
}

/// Events strictly older (`older`) or newer than `(at, id)`: one row-value comparison, which
/// the index answers as a range instead of an OR of two conditions.
fn past(query: EventQuery, at: NaiveDateTime, id: i64, older: bool) -> EventQuery {
    let op = if older { "<" } else { ">" };
    let condition = sql::<Bool>(&format!("(audit_events.occurred_at, audit_events.id) {op} ("))
        .bind::<Timestamp, _>(at)
        .sql(", ")
        .bind::<BigInt, _>(id)
        .sql(")");
    query.filter(condition)
}

/// How many events pass the filter, counted up to `cap + 1` (so `> cap` means "more").
pub fn count_up_to(conn: &mut DbConn, trail: Trail, filter: &Filter, cap: i64) -> QueryResult<i64> {
    let inner = filtered(trail, filter).select(sql::<Integer>("1")).limit(cap.saturating_add(1));
    CountOf(inner).get_result(conn)
}

/// The trail's total as the page shows it.
fn capped_total(conn: &mut DbConn, trail: Trail, filter: &Filter) -> QueryResult<Total> {
    let found = count_up_to(conn, trail, filter, COUNT_CAP)?;
    Ok(if found > COUNT_CAP { Total::MoreThan(COUNT_CAP) } else { Total::Exact(found) })
}

/// A page of events and where it stands.
#[derive(Debug, Clone)]
pub struct EventPage {
    pub rows: Vec<EventRow>,
    pub total: Total,
    /// The page shown (a page past the end shows the last one).
    pub page: i64,
    pub has_next: bool,
}

/// `limit` events after (older than) a position, newest first; all from the newest without
/// one. The CSV export reads its chunks with this.
pub fn older_than(
    conn: &mut DbConn,
    trail: Trail,
    filter: &Filter,
    from: Option<(NaiveDateTime, i64)>,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    let query = filtered(trail, filter);
    let query = match from {
        Some((at, id)) => past(query, at, id, true),
        None => query,
    };
    ordered(query, true).select(COLUMNS).limit(limit).load(conn)
}

/// The newest `limit` events of a trail (the organization's home).
pub fn recent(conn: &mut DbConn, trail: Trail, limit: i64) -> QueryResult<Vec<EventRow>> {
    older_than(conn, trail, &Filter::default(), None, limit)
}

/// One page of a trail. Its cost does not grow with the trail: a capped count, next and
/// previous pages by keyset cursor, the last page read backwards, and a page number typed into
/// the URL skipping rows in the index (reading ids only) before its rows are fetched by id.
pub fn list(conn: &mut DbConn, params: &TrailParams) -> QueryResult<EventPage> {
    let (trail, filter, per_page) = (params.trail, &params.filter, params.per_page);
    let total = capped_total(conn, trail, filter)?;
    let keyset = params.cursor.as_ref().and_then(|c| Some((c, parse_time_key(&c.key)?)));
    if let Some((cursor, at)) = keyset {
        return by_cursor(conn, params, total, cursor, at);
    }
    let page = total.clamp(params.page, per_page);
    let newest =
        |conn: &mut DbConn, limit| ordered(filtered(trail, filter), true).select(COLUMNS).limit(limit).load(conn);
    if page == 1 {
        let mut rows: Vec<EventRow> = newest(conn, per_page + 1)?;
        let has_next = rows.len() as i64 > per_page;
        rows.truncate(per_page as usize);
        return Ok(EventPage { rows, total, page, has_next });
    }
    if let Total::Exact(n) = total {
        if page == pager::page_count(n, per_page) {
            let rows = last_rows(conn, trail, filter, per_page, n)?;
            return Ok(EventPage { rows, total, page, has_next: false });
        }
    }
    let mut ids: Vec<i64> = ordered(filtered(trail, filter), true)
        .select(audit_events::id)
        .limit(per_page + 1)
        .offset(pager::offset(page, per_page))
        .load(conn)?;
    if ids.is_empty() {
        // Past the end of a total not counted: count it after all (only for this odd request)
        // and show the last real page.
        let n = count_up_to(conn, trail, filter, i64::MAX - 1)?;
        let rows = last_rows(conn, trail, filter, per_page, n)?;
        return Ok(EventPage { rows, total: Total::Exact(n), page: pager::page_count(n, per_page), has_next: false });
    }
    let has_next = ids.len() as i64 > per_page;
    ids.truncate(per_page as usize);
    let rows = ordered(audit_events::table.filter(audit_events::id.eq_any(ids)).into_boxed(), true)
        .select(COLUMNS)
        .load(conn)?;
    Ok(EventPage { rows, total, page, has_next })
}

/// The page next to a cursor's row. One row more than a page is read, to know whether the walk
/// goes on in that direction; walking back to the newest event is page 1, whatever the cursor
/// said (events added since shift the numbers, and the first page must say it is the first).
fn by_cursor(
    conn: &mut DbConn,
    params: &TrailParams,
    total: Total,
    cursor: &Cursor,
    at: NaiveDateTime,
) -> QueryResult<EventPage> {
    let per_page = params.per_page;
    let query = past(filtered(params.trail, &params.filter), at, cursor.id, cursor.after);
    let mut rows: Vec<EventRow> = ordered(query, cursor.after).select(COLUMNS).limit(per_page + 1).load(conn)?;
    let more = rows.len() as i64 > per_page;
    rows.truncate(per_page as usize);
    if cursor.after {
        return Ok(EventPage { rows, total, page: cursor.page, has_next: more });
    }
    rows.reverse();
    let page = if more { cursor.page.max(2) } else { 1 };
    Ok(EventPage { rows, total, page, has_next: true })
}

/// The last page of `n` matching events, read backwards: only the remainder, however deep.
fn last_rows(conn: &mut DbConn, trail: Trail, filter: &Filter, per_page: i64, n: i64) -> QueryResult<Vec<EventRow>> {
    let remainder = n - pager::offset(pager::page_count(n, per_page), per_page);
    let mut rows: Vec<EventRow> =
        ordered(filtered(trail, filter), false).select(COLUMNS).limit(remainder.max(0)).load(conn)?;
    rows.reverse();
    Ok(rows)
}
