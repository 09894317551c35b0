//! The users list's rows: one page read in the sort order, whatever its depth, and the CSV
//! export's chunks.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::expression::SqlLiteral;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};

use super::params::{effective, parse_time, Cursor, SortValue, UserParams, UserSort, TIME_FORMAT};
use super::plan::{count_all, plan, Matching};
use crate::db::account_index::{like_filter, sort_keys_like, status_condition, MemberFilter};
use crate::db::schema::{accounts, memberships, plans};
use crate::db::search::CommonTerms;
use crate::db::{Backend, DbConn};
use crate::domain::{group_thousands, membership_status_label};
use crate::org_admin::users::queries::StoredSettings;
use crate::web::list::{pager, Direction, Total};

#[derive(Debug, Clone, Queryable)]
pub struct UserRow {
    pub membership_id: i64,
    pub account_id: i64,
    pub email: String,
    pub display_name: String,
    pub status: String,
    pub settings: StoredSettings,
    pub plan_name: Option<String>,
    pub created_at: NaiveDateTime,
    pub account_status: String,
    /// When this organization's live link to the person expires (invited memberships only).
    pub link_expires_at: Option<NaiveDateTime>,
    /// The sort keys kept on the membership (see the migration `users_scale`).
    pub sort_email: String,
    pub sort_name: String,
    pub sort_plan: String,
    pub sort_flags: i64,
}

impl UserRow {
    pub fn status_label(&self) -> &'static str {
        membership_status_label(&self.status)
    }

    /// The flags that are set, as readable badges.
    pub fn flags(&self) -> Vec<&'static str> {
        self.settings.badges()
    }

    /// The flags that are set as (short badge, full name): short so that a row with every
    /// flag keeps them on one line; the full name is what a screen reader and a tooltip say.
    pub fn flag_badges(&self) -> Vec<(&'static str, &'static str)> {
        self.flags()
            .into_iter()
            .map(|long| {
                let short = match long {
                    "Unsigned Containers" => "Unsigned",
                    "Release Protections" => "Release",
                    "No 2nd Factor" => "No 2FA",
                    other => other,
                };
                (short, long)
            })
            .collect()
    }

    pub fn quota(&self) -> String {
        group_thousands(self.settings.quota_gb)
    }

    /// Any invitation not yet accepted, whether or not the address had an account before
    /// (the list must not tell the two apart).
    pub fn can_resend(&self) -> bool {
        self.status == "invited"
    }

    /// An invitation not yet used can be revoked (Remove is for everyone past it).
    pub fn can_revoke(&self) -> bool {
        self.status == "invited"
    }

    /// The expiry of the invitation link, for an invited membership that has one.
    pub fn link_expiry(&self) -> Option<NaiveDateTime> {
        self.link_expires_at.filter(|_| self.status == "invited")
    }

    /// Whether the invitation's link has expired at `now` (or there is none left).
    pub fn link_expired(&self, now: &NaiveDateTime) -> bool {
        self.status == "invited" && self.link_expires_at.is_none_or(|at| at <= *now)
    }

    /// This row's value of the list's sort key.
    pub fn sort_value(&self, sort: Option<UserSort>) -> SortValue {
        match effective(sort, Direction::Asc).0 {
            UserSort::Email => SortValue::Text(self.sort_email.clone()),
            UserSort::Name => SortValue::Text(self.sort_name.clone()),
            UserSort::Status => SortValue::Text(self.status.clone()),
            UserSort::Quota => SortValue::Int(self.settings.quota_gb),
            UserSort::Added => SortValue::Time(self.created_at.format(TIME_FORMAT).to_string()),
            UserSort::Flags => SortValue::Int(self.sort_flags),
            UserSort::Plan => SortValue::Text(self.sort_plan.clone()),
        }
    }

    /// The cursor of the page next to this row (`after` it) or before it.
    pub fn cursor(&self, sort: Option<UserSort>, after: bool, page: i64) -> Cursor {
        Cursor { after, key: self.sort_value(sort), id: self.membership_id, page }
    }
}

/// A page of rows and where it stands.
#[derive(Debug, Clone)]
pub struct UserPage {
    pub rows: Vec<UserRow>,
    pub total: Total,
    /// The page shown (a page past the end shows the last one).
    pub page: i64,
    pub has_next: bool,
}

/// The expiry of the live link this row's organization sent this row's account: a correlated
/// subquery in the list's one query, never a query per row.
fn link_expires_at() -> SqlLiteral<Nullable<Timestamp>> {
    sql("(SELECT MAX(invitations.expires_at) FROM invitations \
         WHERE invitations.account_id = memberships.account_id \
         AND invitations.organization_id = memberships.organization_id)")
}

type RowQuery = diesel::dsl::IntoBoxed<
    'static,
    diesel::dsl::LeftJoin<diesel::dsl::InnerJoin<memberships::table, accounts::table>, plans::table>,
    Backend,
>;

/// The sort column's SQL, for `ORDER BY` and row-value comparisons.
fn sort_column(key: UserSort) -> &'static str {
    match key {
        UserSort::Email => "memberships.sort_email",
        UserSort::Name => "memberships.sort_name",
        UserSort::Status => "memberships.status",
        UserSort::Quota => "memberships.quota_gb",
        UserSort::Added => "memberships.created_at",
        UserSort::Flags => "memberships.sort_flags",
        UserSort::Plan => "memberships.sort_plan",
    }
}

/// `ORDER BY key, id`, both one way: ties are broken by the membership id, so the order is
/// total and pages never overlap. `forward` false reads backwards (previous and last pages).
fn order(params: &UserParams, forward: bool) -> SqlLiteral<Text> {
    let (key, dir) = effective(params.sort, params.dir);
    let way = if (dir == Direction::Asc) == forward { "ASC" } else { "DESC" };
    sql(&format!("{} {way}, memberships.id {way}", sort_column(key)))
}

/// Rows strictly past the cursor's row in the direction read: a keyset condition over
/// `(key, id)`, which the sort index answers without skipping rows. `None` for a time that
/// cannot be read (the cursor was checked when parsed, so only in theory).
fn past<QS>(params: &UserParams, cursor: &Cursor) -> Option<MemberFilter<QS>> {
    let (key, dir) = effective(params.sort, params.dir);
    let op = if (dir == Direction::Asc) == cursor.after { ">" } else { "<" };
    let head = format!("({}, memberships.id) {op} (", sort_column(key));
    let id = cursor.id;
    Some(match &cursor.key {
        SortValue::Text(text) => {
            Box::new(sql::<Bool>(&head).bind::<Text, _>(text.clone()).sql(", ").bind::<BigInt, _>(id).sql(")"))
        }
        SortValue::Int(n) => {
            Box::new(sql::<Bool>(&head).bind::<BigInt, _>(*n).sql(", ").bind::<BigInt, _>(id).sql(")"))
        }
        SortValue::Time(time) => Box::new(
            sql::<Bool>(&head).bind::<Timestamp, _>(parse_time(time)?).sql(", ").bind::<BigInt, _>(id).sql(")"),
        ),
    })
}

/// Applies the organization, the status filter and the search to a query over memberships.
macro_rules! narrowed {
    ($query:expr, $org_id:expr, $params:expr, $matching:expr) => {{
        let query = $query;
        let in_org = sql::<Bool>(status_condition($params.status));
        match $matching {
            Matching::Everything => query.filter(memberships::organization_id.eq($org_id)).filter(in_org),
            // These ids were found in this organization and status filter already. Looking them
            // up by id (then sorting a few rows) beats walking the organization's sort index and
            // checking each row, which SQLite's planner prefers when it may use that index.
            Matching::Ids(ids) => query
                .filter(memberships::id.eq_any(ids.clone()))
                .filter(sql::<Bool>("+memberships.organization_id = ").bind::<BigInt, _>($org_id)),
            Matching::Probe { folded, .. } => {
                query.filter(memberships::organization_id.eq($org_id)).filter(in_org).filter(sort_keys_like(folded))
            }
            Matching::Like(folded) => {
                query.filter(memberships::organization_id.eq($org_id)).filter(in_org).filter(like_filter(folded))
            }
        }
    }};
}

fn row_query() -> RowQuery {
    memberships::table.inner_join(accounts::table).left_join(plans::table).into_boxed()
}

/// `limit` rows of `query` in the list's order (`forward` false: backwards).
fn read(
    conn: &mut DbConn,
    query: RowQuery,
    params: &UserParams,
    forward: bool,
    limit: i64,
) -> QueryResult<Vec<UserRow>> {
    let mut rows: Vec<UserRow> = query
        .order(order(params, forward))
        .select((
            memberships::id,
            memberships::account_id,
            accounts::email,
            accounts::display_name,
            memberships::status,
            StoredSettings::as_select(),
            plans::name.nullable(),
            memberships::created_at,
            accounts::status,
            link_expires_at(),
            // Not in `schema.rs` (diesel's tables stop at 16 columns); see `users_scale`.
            sql::<Text>("memberships.sort_email"),
            sql::<Text>("memberships.sort_name"),
            sql::<Text>("memberships.sort_plan"),
            sql::<BigInt>("memberships.sort_flags"),
        ))
        .limit(limit.max(0))
        .load(conn)?;
    if !forward {
        rows.reverse();
    }
    Ok(rows)
}

/// One page of rows. The cost does not grow with the organization: the total comes from the
/// seat counter (or a capped count), next and previous pages from keyset cursors, the last page
/// from the reversed order, and a page number typed into the URL skips rows in a covering index.
pub fn list(conn: &mut DbConn, org_id: i64, params: &UserParams, common: &CommonTerms) -> QueryResult<UserPage> {
    let (mut total, matching) = plan(conn, org_id, params, common)?;
    let per_page = params.per_page;
    let all = || narrowed!(row_query(), org_id, params, &matching);

    let keyset = params.cursor.as_ref().and_then(|cursor| Some((cursor, past(params, cursor)?)));
    let (rows, page) = if let Some((cursor, condition)) = keyset {
        (read(conn, all().filter(condition), params, cursor.after, per_page)?, cursor.page)
    } else {
        let page = total.clamp(params.page, per_page);
        let last_page = match total {
            Total::Exact(n) if page > 1 => (page == pager::page_count(n, per_page)).then_some(n),
            _ => None,
        };
        if page == 1 {
            (read(conn, all(), params, true, per_page)?, page)
        } else if let Some(n) = last_page {
            (last_rows(conn, all(), params, n)?, page)
        } else {
            let skipped = skip(conn, org_id, params, &matching, pager::offset(page, per_page))?;
            if skipped.is_empty() {
                // Past the end of a total not counted: count it after all (only for this odd
                // request) and show the last real page.
                let n = count_all(conn, org_id, params, &matching)?;
                total = Total::Exact(n);
                (last_rows(conn, all(), params, n)?, pager::page_count(n, per_page))
            } else {
                let query = row_query().filter(memberships::id.eq_any(skipped));
                (read(conn, query, params, true, per_page)?, page)
            }
        }
    };
    let has_next = match total {
        Total::Exact(n) => page < pager::page_count(n, per_page),
        Total::MoreThan(_) => rows.len() as i64 == per_page,
    };
    Ok(UserPage { rows, total, page, has_next })
}

/// A page number typed into the URL: the ids of that page, found by skipping `offset` rows of
/// the sort index in a query that reads only the index (unless the search needs `accounts`).
fn skip(
    conn: &mut DbConn,
    org_id: i64,
    params: &UserParams,
    matching: &Matching,
    offset: i64,
) -> QueryResult<Vec<i64>> {
    if matching.needs_accounts() {
        return narrowed!(row_query(), org_id, params, matching)
            .order(order(params, true))
            .select(memberships::id)
            .limit(params.per_page)
            .offset(offset)
            .load(conn);
    }
    narrowed!(memberships::table.into_boxed::<Backend>(), org_id, params, matching)
        .order(order(params, true))
        .select(memberships::id)
        .limit(params.per_page)
        .offset(offset)
        .load(conn)
}

/// The last page of `n` matching rows, read backwards: only the remainder, however deep it is.
fn last_rows(conn: &mut DbConn, query: RowQuery, params: &UserParams, n: i64) -> QueryResult<Vec<UserRow>> {
    let remainder = n - pager::offset(pager::page_count(n, params.per_page), params.per_page);
    read(conn, query, params, false, remainder)
}

/// The CSV export's next `limit` rows after `after` (from the start when `None`), in the list's
/// order.
pub fn export_chunk(
    conn: &mut DbConn,
    org_id: i64,
    params: &UserParams,
    after: Option<&Cursor>,
    limit: i64,
) -> QueryResult<Vec<UserRow>> {
    let matching = super::plan::export_matching(conn, params);
    let query = narrowed!(row_query(), org_id, params, &matching);
    let query = match after.map(|cursor| past(params, cursor)) {
        Some(Some(condition)) => query.filter(condition),
        // A position that cannot be bound must not start the walk over.
        Some(None) => return Ok(Vec::new()),
        None => query,
    };
    read(conn, query, params, true, limit)
}
