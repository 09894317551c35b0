//! The Organizations page's rows: one page read in the sort order, whatever its depth.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text, Timestamp};

use super::params::{parse_time, Cursor, ListParams, SortKey, SortValue, TIME_FORMAT};
use super::plan::{count_all, filtered, plan, Matching};
use crate::db::schema::{memberships, organizations};
use crate::db::search::{CommonTerms, OrgFilter};
use crate::db::{Backend, DbConn};
use crate::web::list::pager;
use crate::web::list::sort::order_by;
use crate::web::list::{Direction, Total};

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

/// A page of rows and where it stands.
#[derive(Debug, Clone)]
pub struct OrgPage {
    pub rows: Vec<OrgRow>,
    pub total: Total,
    /// The page shown (a page past the end shows the last one).
    pub page: i64,
    pub has_next: bool,
}

pub(super) type OrgQuery = organizations::BoxedQuery<'static, Backend>;

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
    let Some(key) = sort else {
        return if forward { query.order(id.asc()) } else { query.order(id.desc()) };
    };
    let ascending = (dir == Direction::Asc) == forward;
    match key {
        SortKey::Name => order_by(query, name_key, id, ascending),
        SortKey::Contact => order_by(query, contact_key, id, ascending),
        SortKey::Quota => order_by(query, quota_gb, id, ascending),
        SortKey::Users => order_by(query, member_count, id, ascending),
        SortKey::Created => order_by(query, created_at, id, ascending),
    }
}

/// Rows strictly past the cursor's row in the direction read (a keyset condition over
/// `(sort key, id)`, which the sort index answers without skipping rows).
fn past(cursor: &Cursor, sort: Option<SortKey>, dir: Direction) -> Option<OrgFilter> {
    let ascending = match sort {
        None => cursor.after,
        Some(_) => (dir == Direction::Asc) == cursor.after,
    };
    let op = if ascending { ">" } else { "<" };
    let Some(column) = sort_column(sort) else {
        return Some(Box::new(sql::<Bool>(&format!("organizations.id {op} ")).bind::<BigInt, _>(cursor.id)));
    };
    let head = format!("({column}, organizations.id) {op} (");
    let condition: OrgFilter = match &cursor.key {
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
        let numbered = total.clamp(params.page, per_page);
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
        let page = total.clamp(params.page, per_page);
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
    let (Some(&low), Some(&high)) = (org_ids.iter().min(), org_ids.iter().max()) else {
        return Ok(HashSet::new());
    };
    // A range rather than `IN (…)`, so the statement is prepared once per connection; the
    // account's memberships in the range but not on the page are dropped below.
    let ids: Vec<i64> = memberships::table
        .filter(memberships::account_id.eq(account_id))
        .filter(memberships::status.eq("active"))
        .filter(memberships::is_delegate.eq(true))
        .filter(memberships::organization_id.between(low, high))
        .select(memberships::organization_id)
        .load(conn)?;
    Ok(ids.into_iter().filter(|id| org_ids.contains(id)).collect())
}
