//! `GET /orgs/{id}/users`: one organization's memberships with search (email, name), a status
//! filter, sort toggles on every column and the shared pager. Without a status filter the
//! removed memberships are left out.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::queries::StoredSettings;
use crate::auth::OrgAdmin;
use crate::db::schema::{accounts, memberships, plans};
use crate::db::{like_contains, Backend, Db, DbConn};
use crate::domain::{fold, group_thousands, membership_status_label, OrgId};
use crate::error::AppError;
use crate::org_admin::paths;
use crate::web::layout::{Layout, Section};
use crate::web::list::sort::{self, order_by};
use crate::web::list::{pager, Direction, Href, Pager, Paging, Query, Refused, SearchBox, SortHeader, SortKey};
use crate::web::render_with;

pub const STATUSES: [&str; 4] = ["invited", "awaiting_validation", "active", "removed"];

sort::sort_keys! {
    pub enum UserSort {
        Email => "email", "Username (email)";
        Name => "name", "Name";
        Status => "status", "Status";
        Quota => "quota", "Account Quota (GB)", numeric;
        Added => "added", "Added";
    }
}

/// The list's query string, read leniently: anything unknown falls back to the default.
#[derive(Debug, Clone)]
pub struct UserParams {
    /// The search run (empty for none, also when it was refused).
    pub q: String,
    /// A search that was not run (control characters), shown back with why.
    pub refused: Option<Refused>,
    pub status: Option<&'static str>,
    pub sort: Option<UserSort>,
    pub dir: Direction,
    pub per_page: i64,
    pub page: i64,
}

impl UserParams {
    pub fn parse(query_string: &str) -> Self {
        let query = Query::parse(query_string);
        let SearchBox { q, refused } = query.search();
        let Paging { per_page, page } = query.paging();
        Self {
            q,
            refused,
            status: STATUSES.into_iter().find(|s| Some(*s) == query.get("status")),
            sort: query.sort(),
            dir: query.dir(),
            per_page,
            page,
        }
    }

    /// The text shown in the search box: what was typed, searched for or refused.
    pub fn shown_q(&self) -> &str {
        self.refused.as_ref().map_or(&self.q, |refused| &refused.typed)
    }

    /// `base` with this list's search, status filter, sort and page size, leaving out defaults.
    fn query(&self, base: &str, sort: Option<UserSort>, dir: Direction, page: i64) -> String {
        let href = Href::new(base).search(&self.q);
        let href = match self.status {
            Some(status) => href.pair("status", status),
            None => href,
        };
        href.sort(sort, dir).paging(self.per_page, page).build()
    }

    pub fn href(&self, org_id: i64, page: i64) -> String {
        self.query(&paths::users(OrgId(org_id)), self.sort, self.dir, page)
    }

    /// The column headers; clicking the sorted column again toggles its direction.
    pub fn headers(&self, org_id: i64) -> Vec<SortHeader> {
        let base = paths::users(OrgId(org_id));
        sort::headers(self.sort, self.dir, |key, dir| self.query(&base, Some(key), dir, 1))
    }

    /// The same filter and sort as CSV.
    pub fn csv_href(&self, org_id: i64) -> String {
        self.query(&paths::users_csv(OrgId(org_id)), self.sort, self.dir, 1)
    }
}

#[derive(Debug, Clone, Queryable)]
pub struct UserRow {
    pub membership_id: i64,
    pub account_id: i64,
    pub email: String,
    pub display_name: String,
    pub name_key: String,
    pub status: String,
    pub settings: StoredSettings,
    pub plan_name: Option<String>,
    pub created_at: NaiveDateTime,
    pub account_status: String,
    /// When this organization's live link to the person expires (invited memberships only).
    pub link_expires_at: Option<NaiveDateTime>,
}

impl UserRow {
    pub fn status_label(&self) -> &'static str {
        membership_status_label(&self.status)
    }

    /// The flags that are set, as readable badges.
    pub fn flags(&self) -> Vec<&'static str> {
        self.settings.badges()
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
}

/// The expiry of the live link this row's organization sent this row's account: a correlated
/// subquery in the list's one query, never a query per row.
fn link_expires_at() -> diesel::expression::SqlLiteral<diesel::sql_types::Nullable<diesel::sql_types::Timestamp>> {
    diesel::dsl::sql(
        "(SELECT MAX(invitations.expires_at) FROM invitations \
         WHERE invitations.account_id = memberships.account_id \
         AND invitations.organization_id = memberships.organization_id)",
    )
}

type UserQuery<'a> = diesel::dsl::IntoBoxed<
    'a,
    diesel::dsl::LeftJoin<diesel::dsl::InnerJoin<memberships::table, accounts::table>, plans::table>,
    Backend,
>;

fn filtered(org_id: i64, params: &UserParams) -> UserQuery<'static> {
    let mut query = memberships::table
        .inner_join(accounts::table)
        .left_join(plans::table)
        .filter(memberships::organization_id.eq(org_id))
        .into_boxed();
    query = match params.status {
        Some(status) => query.filter(memberships::status.eq(status)),
        None => query.filter(memberships::status.ne("removed")),
    };
    if !params.q.is_empty() {
        let pattern = like_contains(&fold(&params.q));
        query = query.filter(
            accounts::email.like(pattern.clone()).escape('\\').or(accounts::name_key.like(pattern).escape('\\')),
        );
    }
    query
}

/// One page of rows, the total and the page shown (clamped to the last).
pub fn page_of(conn: &mut DbConn, org_id: i64, params: &UserParams) -> QueryResult<(Vec<UserRow>, i64, i64)> {
    let total: i64 = filtered(org_id, params).count().get_result(conn)?;
    let (page, offset) = Paging { per_page: params.per_page, page: params.page }.place(total);
    let rows = rows_after(conn, org_id, params, offset, params.per_page)?;
    Ok((rows, total, page))
}

/// Where a keyset walk of the list stands: the last row's sort value and membership id.
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    Text(String),
    Number(i64),
    Time(NaiveDateTime),
}

#[derive(Debug, Clone, PartialEq)]
pub struct After {
    pub value: SortValue,
    pub id: i64,
}

impl UserRow {
    /// This row's value of the list's sort column (natural order: when it was added).
    pub fn sort_value(&self, sort: Option<UserSort>) -> SortValue {
        match sort {
            Some(UserSort::Email) => SortValue::Text(self.email.clone()),
            Some(UserSort::Name) => SortValue::Text(self.name_key.clone()),
            Some(UserSort::Status) => SortValue::Text(self.status.clone()),
            Some(UserSort::Quota) => SortValue::Number(self.settings.quota_gb),
            Some(UserSort::Added) | None => SortValue::Time(self.created_at),
        }
    }
}

/// Rows strictly after `after` in the list's order: (sort value, membership id) compared as a
/// pair, so a walk in chunks sees every row once without OFFSET.
fn past(query: UserQuery<'static>, params: &UserParams, after: &After) -> UserQuery<'static> {
    let id = after.id;
    let asc = params.dir == Direction::Asc;
    macro_rules! beyond {
        ($column:expr, $value:expr) => {
            if asc {
                query.filter($column.gt($value.clone()).or($column.eq($value.clone()).and(memberships::id.gt(id))))
            } else {
                query.filter($column.lt($value.clone()).or($column.eq($value.clone()).and(memberships::id.lt(id))))
            }
        };
    }
    match (params.sort, &after.value) {
        (Some(UserSort::Email), SortValue::Text(v)) => beyond!(accounts::email, v),
        (Some(UserSort::Name), SortValue::Text(v)) => beyond!(accounts::name_key, v),
        (Some(UserSort::Status), SortValue::Text(v)) => beyond!(memberships::status, v),
        (Some(UserSort::Quota), SortValue::Number(v)) => beyond!(memberships::quota_gb, v),
        (Some(UserSort::Added) | None, SortValue::Time(v)) => beyond!(memberships::created_at, v),
        // A cursor of another sort cannot come from this walk; start over rather than guess.
        _ => query,
    }
}

/// `limit` rows from `offset` in the list's order (the pages).
pub fn rows_after(
    conn: &mut DbConn,
    org_id: i64,
    params: &UserParams,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<UserRow>> {
    load(conn, filtered(org_id, params), params, offset, limit)
}

/// `limit` rows after a keyset cursor (the CSV export's chunks).
pub fn rows_past(
    conn: &mut DbConn,
    org_id: i64,
    params: &UserParams,
    after: Option<&After>,
    limit: i64,
) -> QueryResult<Vec<UserRow>> {
    let query = filtered(org_id, params);
    let query = match after {
        Some(after) => past(query, params, after),
        None => query,
    };
    load(conn, query, params, 0, limit)
}

/// `limit` rows of `query` from `offset`, in the list's order.
fn load(
    conn: &mut DbConn,
    query: UserQuery<'static>,
    params: &UserParams,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<UserRow>> {
    let asc = params.dir == Direction::Asc;
    // Ties are broken by the membership id, so the order is total and pages never overlap.
    let query = match params.sort {
        Some(UserSort::Email) => order_by(query, accounts::email, memberships::id, asc),
        Some(UserSort::Name) => order_by(query, accounts::name_key, memberships::id, asc),
        Some(UserSort::Status) => order_by(query, memberships::status, memberships::id, asc),
        Some(UserSort::Quota) => order_by(query, memberships::quota_gb, memberships::id, asc),
        Some(UserSort::Added) | None => order_by(query, memberships::created_at, memberships::id, asc),
    };
    query
        .select((
            memberships::id,
            memberships::account_id,
            accounts::email,
            accounts::display_name,
            accounts::name_key,
            memberships::status,
            StoredSettings::as_select(),
            plans::name.nullable(),
            memberships::created_at,
            accounts::status,
            link_expires_at(),
        ))
        .offset(offset)
        .limit(limit)
        .load(conn)
}

#[derive(Template)]
#[template(path = "users/list.html")]
pub struct UsersPage {
    pub layout: Layout,
    pub org_id: i64,
    pub params: UserParams,
    pub headers: Vec<SortHeader>,
    pub rows: Vec<UserRow>,
    pub pager: Pager,
    pub page_sizes: [i64; 4],
    /// Who awaits validation, longest waiting first (above the table), and how many in all.
    pub awaiting: Vec<super::awaiting::AwaitingRow>,
    pub awaiting_total: i64,
    /// The clock's now, to tell an expired link from a live one.
    pub now: NaiveDateTime,
}

impl UsersPage {
    fn csv_href(&self) -> String {
        self.params.csv_href(self.org_id)
    }

    fn status_options(&self) -> Vec<(&'static str, &'static str, bool)> {
        let mut options = vec![("", "Not removed", self.params.status.is_none())];
        options.extend(STATUSES.into_iter().map(|s| (s, membership_status_label(s), self.params.status == Some(s))));
        options
    }
}

/// `GET /orgs/{id}/users`
pub async fn show(
    admin: OrgAdmin,
    db: web::Data<Db>,
    clock: web::Data<crate::clock::Clock>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let org_id = admin.org_id.get();
    let params = UserParams::parse(req.query_string());
    let query = params.clone();
    let ((rows, total, page), (awaiting, awaiting_total)) = db
        .run(move |conn| {
            Ok::<_, diesel::result::Error>((
                page_of(conn, org_id, &query)?,
                super::awaiting::awaiting(conn, crate::domain::OrgId(org_id))?,
            ))
        })
        .await?;
    let params = UserParams { page, ..params };
    let headers = params.headers(org_id);
    let pager = Pager::new(page, params.per_page, rows.len() as i64, total, |n| params.href(org_id, n));
    // A refused search still shows the list (unfiltered), with the reason beside the box.
    let status = if params.refused.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    render_with(
        status,
        &UsersPage {
            layout: admin.layout("Users", Section::Organization)?,
            org_id,
            params,
            headers,
            rows,
            pager,
            page_sizes: pager::PAGE_SIZES,
            awaiting,
            awaiting_total,
            now: clock.now(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_with_control_characters_is_refused_and_no_link_repeats_it() {
        let params = UserParams::parse("q=a%0Db&status=active&sort=email");
        assert_eq!(params.q, "");
        assert_eq!(params.shown_q(), "a\rb");
        assert!(params.refused.as_ref().is_some_and(|r| r.message.contains("U+000D")));
        assert_eq!(params.href(7, 2), "/orgs/7/users?status=active&sort=email&dir=asc&page=2");
        assert_eq!(params.csv_href(7), "/orgs/7/users.csv?status=active&sort=email&dir=asc");
        let plain = UserParams::parse("q=+Anna+");
        assert_eq!((plain.q.as_str(), plain.refused), ("Anna", None));
    }

    #[test]
    fn junk_and_huge_paging_input_falls_back() {
        let params = UserParams::parse("page=99999999999999999999&per_page=7&status=%00&sort=%FF&dir=up");
        assert_eq!(params.page, pager::MAX_PAGE, "clamped to the last page when the total is known");
        assert_eq!(params.per_page, pager::DEFAULT_PAGE_SIZE);
        assert_eq!((params.status, params.sort, params.dir), (None, None, Direction::Asc));
        assert_eq!(pager::clamp_page(params.page, params.per_page, 60), 3);
    }
}
