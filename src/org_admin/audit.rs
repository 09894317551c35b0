//! `GET /orgs/{id}/audit`: this organization's own events, paged, newest first.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::audit::queries::{self, EventRow, Trail};
use crate::auth::OrgAdmin;
use crate::db::Db;
use crate::error::AppError;
use crate::web::layout::{Layout, Section};
use crate::web::pager::{self, Pager};
use crate::web::render;

#[derive(Template)]
#[template(path = "organization/audit.html")]
pub struct OrgAuditPage {
    pub layout: Layout,
    pub org_id: i64,
    pub events: Vec<EventRow>,
    pub pager: Pager,
}

impl OrgAuditPage {
    fn details_text(event: &EventRow) -> String {
        crate::audit::details_text(&event.details)
    }
}

/// `GET /orgs/{id}/audit`
pub async fn show(admin: OrgAdmin, db: web::Data<Db>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let per_page = pager::parse_page_size(get("per_page"));
    let requested = pager::parse_page(get("page"));
    let org_id = admin.org_id.get();
    let (events, total, page) =
        db.run(move |conn| queries::page_of(conn, Trail::Organization(org_id), requested, per_page)).await?;
    let href = |n: i64| {
        let size = if per_page == pager::DEFAULT_PAGE_SIZE { String::new() } else { format!("&per_page={per_page}") };
        format!("/orgs/{org_id}/audit?page={n}{size}")
    };
    let pager = Pager::new(page, per_page, events.len() as i64, total, href);
    render(&OrgAuditPage {
        layout: admin.layout("Organization audit log", Section::Organization)?,
        org_id,
        events,
        pager,
    })
}
