//! The outbox page's rows: newest first by `(created_at, id)`, one page read along an index
//! whatever the depth (`outbox_created`, `outbox_status_created`, `outbox_recipient_created`).

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Timestamp};

use super::params::{parse_time, Cursor, OutboxParams, TIME_FORMAT};
use crate::db::schema::outbox;
use crate::db::{Backend, DbConn};
use crate::web::list::{pager, Total};

/// Totals are counted up to this many messages; past it the page says "more than 10,000".
pub const COUNT_CAP: i64 = 10_000;

/// One row of the outbox page: metadata only, never the bodies.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: String,
    pub created_at: NaiveDateTime,
    pub next_attempt_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

impl OutboxRow {
    /// Where a page next to this row starts.
    pub(super) fn cursor(&self, after: bool, page: i64) -> Cursor {
        Cursor { after, key: self.created_at.format(TIME_FORMAT).to_string(), id: self.id, page }
    }
}

/// A page of rows and where it stands.
#[derive(Debug, Clone)]
pub struct OutboxPage {
    pub rows: Vec<OutboxRow>,
    pub total: Total,
    /// The page shown.
    pub page: i64,
    pub has_next: bool,
}

type OutboxQuery = outbox::BoxedQuery<'static, Backend>;

fn filtered(params: &OutboxParams) -> OutboxQuery {
    let mut query = outbox::table.into_boxed();
    if let Some(status) = params.status {
        query = query.filter(outbox::status.eq(status));
    }
    if !params.recipient.is_empty() {
        query = query.filter(outbox::recipient.eq(params.recipient.clone()));
    }
    query
}

/// Newest first; `forward` false reads oldest first (previous and last pages read backwards).
fn newest_first(query: OutboxQuery, forward: bool) -> OutboxQuery {
    if forward {
        query.order((outbox::created_at.desc(), outbox::id.desc()))
    } else {
        query.order((outbox::created_at.asc(), outbox::id.asc()))
    }
}

/// Rows strictly past the cursor's row in the direction read: a row-value condition the
/// `(…, created_at, id)` index answers by seeking, not by skipping rows.
fn past(cursor: &Cursor) -> Option<Box<dyn BoxableExpression<outbox::table, Backend, SqlType = Bool>>> {
    let at = parse_time(&cursor.key)?;
    let op = if cursor.after { "<" } else { ">" };
    Some(Box::new(
        sql::<Bool>(&format!("(outbox.created_at, outbox.id) {op} ("))
            .bind::<Timestamp, _>(at)
            .sql(", ")
            .bind::<BigInt, _>(cursor.id)
            .sql(")"),
    ))
}

/// The matching messages, counted up to `COUNT_CAP` (one more tells "more than").
fn capped_total(conn: &mut DbConn, params: &OutboxParams) -> QueryResult<Total> {
    // In the list's order, so each filter's `(…, created_at, id)` index answers it alone: without
    // an order, PostgreSQL expects the first 10,001 of a common status early in the table and
    // scans it (125,000 rows for 8% failed; 17 ms alone, 130 ms under load).
    let ids: Vec<i64> = newest_first(filtered(params), true).select(outbox::id).limit(COUNT_CAP + 1).load(conn)?;
    let found = ids.len() as i64;
    Ok(if found > COUNT_CAP { Total::MoreThan(COUNT_CAP) } else { Total::Exact(found) })
}

/// One page of the outbox. Next and previous pages come from keyset cursors, the last page
/// from the reversed order, and a typed page number (bounded to the counted window) skips
/// rows in the index before reading just the page's rows.
pub fn list(conn: &mut DbConn, params: &OutboxParams) -> QueryResult<OutboxPage> {
    let total = capped_total(conn, params)?;
    let per_page = params.per_page;
    // Reads one row more than the page: whether there is a next page, without counting.
    let read = |conn: &mut DbConn, query: OutboxQuery| -> QueryResult<(Vec<OutboxRow>, bool)> {
        let mut rows: Vec<OutboxRow> = query.select(OutboxRow::as_select()).limit(per_page + 1).load(conn)?;
        let more = rows.len() as i64 > per_page;
        rows.truncate(per_page as usize);
        Ok((rows, more))
    };
    let keyset = params.cursor.as_ref().and_then(|cursor| Some((cursor, past(cursor)?)));
    let (rows, page, has_next) = if let Some((cursor, condition)) = keyset {
        let (mut rows, more) = read(conn, newest_first(filtered(params).filter(condition), cursor.after))?;
        if cursor.after {
            (rows, cursor.page, more)
        } else {
            // Read backwards: the row the cursor came from follows this page.
            rows.reverse();
            (rows, cursor.page, true)
        }
    } else {
        let page = match total {
            Total::Exact(n) => pager::clamp_page(params.page, per_page, n),
            Total::MoreThan(_) => params.page.min(params.max_typed_page()),
        };
        let last_page = match total {
            Total::Exact(n) if page > 1 && page == pager::page_count(n, per_page) => Some(n),
            _ => None,
        };
        if page == 1 {
            let (rows, more) = read(conn, newest_first(filtered(params), true))?;
            (rows, page, more)
        } else if let Some(n) = last_page {
            let remainder = n - pager::offset(page, per_page);
            let mut rows: Vec<OutboxRow> = newest_first(filtered(params), false)
                .select(OutboxRow::as_select())
                .limit(remainder.max(0))
                .load(conn)?;
            rows.reverse();
            (rows, page, false)
        } else {
            // Skip rows in the index (a query that reads only the index), then read this page's.
            let ids: Vec<i64> = newest_first(filtered(params), true)
                .select(outbox::id)
                .limit(per_page + 1)
                .offset(pager::offset(page, per_page))
                .load(conn)?;
            let (rows, more) =
                read(conn, newest_first(outbox::table.into_boxed().filter(outbox::id.eq_any(ids)), true))?;
            (rows, page, more)
        }
    };
    Ok(OutboxPage { rows, total, page, has_next })
}
