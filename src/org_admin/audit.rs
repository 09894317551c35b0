//! `GET /orgs/{id}/audit`: this organization's own events, paged, newest first.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::audit::queries::{self, EventRow, Trail};
use crate::auth::OrgAdmin;
use crate::db::Db;
use crate::domain::OrgId;
use crate::error::AppError;
use crate::org_admin::paths;
use crate::web::layout::{Layout, Section};
use crate::web::list::{Pager, Query};
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
    let paging = Query::parse(req.query_string()).paging();
    let org_id = admin.org_id;
    let trail = Trail::Organization(org_id);
    let (events, total, page) = db.run(move |conn| queries::page_of(conn, trail, paging.page, paging.per_page)).await?;
    let pager = paging.pager(page, events.len(), total, |n| paths::audit_page(OrgId(org_id), n, paging.per_page));
    render(&OrgAuditPage {
        layout: admin.layout("Organization audit log", Section::Organization)?,
        org_id,
        events,
        pager,
    })
}
