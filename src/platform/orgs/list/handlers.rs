//! `GET /admin/organizations`: the page around one read of the list.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::QueryResult;

use super::params::{Cursor, ListParams};
use super::queries::{administered_among, list, OrgPage, OrgRow};
use super::views::{day, iso_time, OrgListPage, OrgRowView};
use crate::auth::PlatformAdminRead;
use crate::db::search::CommonTerms;
use crate::domain::group_thousands;
use crate::error::AppError;
use crate::platform::paths;
use crate::web::layout::Section;
use crate::web::list::{pager, Pager};
use crate::web::render_with;

/// `GET /admin/organizations`
pub async fn show(
    admin: PlatformAdminRead,
    common: web::Data<CommonTerms>,
    clock: web::Data<crate::clock::Clock>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let params = ListParams::parse(req.query_string());
    let query = params.clone();
    // The session check and the page's reads in one blocking hop, on one connection.
    let (admin, (page, administered, requests, ldap_lock)) = admin
        .read(move |conn, account_id| -> QueryResult<_> {
            let page = list(conn, &query, &common)?;
            let ids: Vec<i64> = page.rows.iter().map(|r| r.id).collect();
            let administered = administered_among(conn, account_id, &ids)?;
            let requests = crate::platform::removal::queries::requests_among(conn, &ids)?;
            let ldap_lock = crate::platform::ldap::interlock::organizations_locked(conn)?;
            Ok((page, administered, requests, ldap_lock))
        })
        .await?;
    let account_id = admin.id();
    let now = clock.now();

    let headers = params.headers();
    let pager = pager_of(&params, &page);
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
    let back = match req.query_string() {
        "" => paths::ORGANIZATIONS.to_owned(),
        query => format!("{}?{query}", paths::ORGANIZATIONS),
    };
    render_with(
        status,
        &OrgListPage {
            layout: admin.layout("Organizations", Section::Platform)?,
            params: ListParams { page: page.page, ..params },
            headers,
            rows,
            pager,
            page_sizes: pager::PAGE_SIZES,
            back,
            ldap_lock,
        },
    )
}

fn pager_of(params: &ListParams, page: &OrgPage) -> Pager {
    let cursor_href = |row: &OrgRow, after, n| {
        params.cursor_href(&Cursor { after, key: row.sort_value(params.sort), id: row.id, page: n })
    };
    pager::keyset(page.page, params.per_page, &page.rows, page.total, page.has_next, |n| params.href(n), cursor_href)
}
