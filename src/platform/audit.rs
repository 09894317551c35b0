//! `GET /admin/audit`.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::audit::queries::{self, EventRow, Trail};
use crate::auth::PlatformAdmin;
use crate::db::Db;
use crate::error::AppError;
use crate::platform::paths;
use crate::web::layout::{Layout, Section};
use crate::web::list::{Pager, Query};
use crate::web::render;

#[derive(Template)]
#[template(path = "audit/list.html")]
pub struct AuditPage {
    pub layout: Layout,
    pub events: Vec<EventRow>,
    pub pager: Pager,
}

impl AuditPage {
    fn details_text(event: &EventRow) -> String {
        crate::audit::details_text(&event.details)
    }
}

/// `GET /admin/audit`
pub async fn platform(admin: PlatformAdmin, db: web::Data<Db>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let paging = Query::parse(req.query_string()).paging();
    let (events, total, page) =
        db.run(move |conn| queries::page_of(conn, Trail::Platform, paging.page, paging.per_page)).await?;
    let pager = paging.pager(page, events.len(), total, |n| paths::audit_page(n, paging.per_page));
    render(&AuditPage { layout: admin.layout("Audit log", Section::Platform)?, events, pager })
}
