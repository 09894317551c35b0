//! `GET /admin/organizations`: the page around one read of the list.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::QueryResult;

use super::params::{Cursor, ListParams};
use super::queries::{administered_among, list, OrgPage};
use super::views::{day, iso_time, OrgListPage, OrgRowView};
use crate::auth::PlatformAdminRead;
use crate::db::search::CommonTerms;
use crate::domain::group_thousands;
use crate::error::AppError;
use crate::platform::paths;
use crate::web::layout::Section;
use crate::web::list::{pager, PageLink, Pager, Total};
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

/// First and last by number; previous and next by keyset cursor from the page's first and last
/// rows, so neither skips rows however deep it is.
fn pager_of(params: &ListParams, page: &OrgPage) -> Pager {
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
    Pager::with_links(shown_page, params.per_page, page.rows.len() as i64, page.total, links)
}
