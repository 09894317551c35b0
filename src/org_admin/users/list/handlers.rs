//! The users page around one read of the list.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;

use super::super::awaiting::COUNT_CAP as AWAITING_CAP;
use super::params::{UserParams, STATUSES};
use super::queries::{list, UserPage, UserRow};
use crate::auth::OrgAdminRead;
use crate::db::search::CommonTerms;
use crate::domain::{membership_status_label, OrgId};
use crate::error::AppError;
use crate::org_admin::users::awaiting::{awaiting, AwaitingRow};
use crate::web::layout::{Layout, Section};
// `SortKey`: the template calls `sort.as_str()` on the sorted column.
use crate::web::list::{pager, Pager, SortHeader, SortKey as _};
use crate::web::render_with;

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
    pub awaiting: Vec<AwaitingRow>,
    pub awaiting_total: i64,
    /// The clock's now, to tell an expired link from a live one.
    pub now: NaiveDateTime,
}

impl UsersPage {
    fn csv_href(&self) -> String {
        self.params.csv_href(OrgId(self.org_id))
    }

    fn status_options(&self) -> Vec<(&'static str, &'static str, bool)> {
        let mut options = vec![("", "Not removed", self.params.status.is_none())];
        options.extend(STATUSES.into_iter().map(|s| (s, membership_status_label(s), self.params.status == Some(s))));
        options
    }

    /// How many await validation, as the heading says it ("more than 1,000" past the cap).
    fn awaiting_count(&self) -> String {
        if self.awaiting_total > AWAITING_CAP {
            format!("more than {}", crate::domain::group_thousands(AWAITING_CAP))
        } else {
            crate::domain::group_thousands(self.awaiting_total)
        }
    }
}

/// `GET /orgs/{id}/users`
pub async fn show(
    admin: OrgAdminRead,
    common: web::Data<CommonTerms>,
    clock: web::Data<crate::clock::Clock>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let params = UserParams::parse(req.query_string());
    let query = params.clone();
    // The Delegate check and the page's reads in one blocking hop, on one connection.
    let (admin, (page, (awaiting, awaiting_total), org_name)) = admin
        .read(move |conn, org_id| {
            Ok((
                list(conn, org_id.get(), &query, &common)?,
                awaiting(conn, org_id)?,
                crate::org_admin::name_of(conn, org_id)?,
            ))
        })
        .await?;
    let org_id = admin.org_id;
    let headers = params.headers(org_id);
    let pager = pager_of(org_id, &params, &page);
    // A refused search still shows the list (unfiltered), with the reason beside the box.
    let status = if params.refused.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    render_with(
        status,
        &UsersPage {
            layout: admin.layout("Users", Section::Organization)?.in_org(org_id, org_name),
            org_id: org_id.get(),
            params: UserParams { page: page.page, ..params },
            headers,
            rows: page.rows,
            pager,
            page_sizes: pager::PAGE_SIZES,
            awaiting,
            awaiting_total,
            now: clock.now(),
        },
    )
}

fn pager_of(org_id: OrgId, params: &UserParams, page: &UserPage) -> Pager {
    let href = |n| params.href(org_id, n);
    let cursor_href = |row: &UserRow, after, n| params.cursor_href(org_id, &row.cursor(params.sort, after, n));
    pager::keyset(page.page, params.per_page, &page.rows, page.total, page.has_next, href, cursor_href)
}
