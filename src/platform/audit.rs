//! `GET /admin/audit`.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::audit::queries::{self, AuditTable, EventRow, Trail};
use crate::auth::PlatformAdmin;
use crate::db::Db;
use crate::error::AppError;
use crate::platform::paths;
use crate::web::layout::{Layout, Section};
use crate::web::list::{numbered, Pager};
use crate::web::render;

#[derive(Template)]
#[template(path = "audit/list.html")]
pub struct AuditPage {
    pub layout: Layout,
    pub events: Vec<EventRow>,
    pub pager: Pager,
}

impl AuditTable for AuditPage {}

/// `GET /admin/audit`
pub async fn platform(admin: PlatformAdmin, db: web::Data<Db>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let load = |conn: &mut _, paging| queries::paged(conn, Trail::Platform, paging);
    let (events, pager) = numbered(&db, req.query_string(), load, paths::audit_page).await?;
    render(&AuditPage { layout: admin.layout("Audit log", Section::Platform)?, events, pager })
}
