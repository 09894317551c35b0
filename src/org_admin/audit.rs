//! `GET /orgs/{id}/audit` and `GET /orgs/{id}/audit.csv`: this organization's own events,
//! filtered. The organization comes from `OrgAdmin`, never from the query string.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::audit::export;
use crate::audit::page::{self, TrailView};
use crate::audit::queries::Trail;
use crate::auth::{OrgAdmin, OrgAdminRead};
use crate::db::Db;
use crate::error::AppError;
use crate::web::layout::{Layout, Section};
use crate::web::render_with;

#[derive(Template)]
#[template(path = "organization/audit.html")]
pub struct OrgAuditPage {
    pub layout: Layout,
    pub org_id: i64,
    pub trail: TrailView,
}

/// `GET /orgs/{id}/audit`
pub async fn show(admin: OrgAdminRead, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let query_string = req.query_string().to_owned();
    let (admin, (read, org_name)) = admin
        .read(move |conn, org_id| {
            Ok((page::read(conn, Trail::Organization(org_id), &query_string)?, super::name_of(conn, org_id)?))
        })
        .await?;
    let org_id = admin.org_id;
    let trail = page::shown(read);
    let layout = admin.layout("Organization audit log", Section::Organization)?.in_org(org_id, org_name);
    render_with(trail.status, &OrgAuditPage { layout, org_id: org_id.get(), trail })
}

/// `GET /orgs/{id}/audit.csv`
pub async fn csv(admin: OrgAdmin, db: web::Data<Db>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let floor = crate::web::own_writes::floor(admin.session());
    export::stream(&db, floor, Trail::Organization(admin.org_id), req.query_string()).await
}
