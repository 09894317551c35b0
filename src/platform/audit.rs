//! `GET /admin/audit` and `GET /admin/audit.csv`: platform-level events, filtered.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::audit::export;
use crate::audit::page::{self, TrailView};
use crate::audit::queries::Trail;
use crate::auth::{PlatformAdmin, PlatformAdminRead};
use crate::db::Db;
use crate::error::AppError;
use crate::web::layout::{Layout, Section};
use crate::web::own_writes;
use crate::web::render_with;

#[derive(Template)]
#[template(path = "audit/list.html")]
pub struct AuditPage {
    pub layout: Layout,
    pub trail: TrailView,
}

/// `GET /admin/audit`
pub async fn platform(admin: PlatformAdminRead, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let query_string = req.query_string().to_owned();
    let (admin, read) = admin.read(move |conn, _| page::read(conn, Trail::Platform, &query_string)).await?;
    let trail = page::shown(read);
    render_with(trail.status, &AuditPage { layout: admin.layout("Audit log", Section::Platform)?, trail })
}

/// `GET /admin/audit.csv`
pub async fn platform_csv(admin: PlatformAdmin, db: web::Data<Db>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    export::stream(&db, own_writes::floor(admin.session()), Trail::Platform, req.query_string()).await
}
