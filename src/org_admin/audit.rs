//! `GET /orgs/{id}/audit`: this organization's own events, paged, newest first.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::audit::queries::{self, AuditTable, EventRow, Trail};
use crate::auth::OrgAdmin;
use crate::db::Db;
use crate::error::AppError;
use crate::org_admin::paths;
use crate::web::layout::{Layout, Section};
use crate::web::list::{numbered, Pager};
use crate::web::render;

#[derive(Template)]
#[template(path = "organization/audit.html")]
pub struct OrgAuditPage {
    pub layout: Layout,
    pub org_id: i64,
    pub events: Vec<EventRow>,
    pub pager: Pager,
}

impl AuditTable for OrgAuditPage {}

/// `GET /orgs/{id}/audit`
pub async fn show(admin: OrgAdmin, db: web::Data<Db>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let org_id = admin.org_id;
    let load = move |conn: &mut _, paging| queries::paged(conn, Trail::Organization(org_id), paging);
    let href = |page, per_page| paths::audit_page(org_id, page, per_page);
    let (events, pager) = numbered(&db, req.query_string(), load, href).await?;
    render(&OrgAuditPage {
        layout: admin.layout("Organization audit log", Section::Organization)?,
        org_id: org_id.get(),
        events,
        pager,
    })
}
