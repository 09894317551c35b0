//! `GET /admin/audit`.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::audit::queries::{self, EventRow};
use crate::auth::PlatformAdmin;
use crate::db::Db;
use crate::error::AppError;
use crate::web::layout::{Layout, Section};
use crate::web::pager::{self, Pager};
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
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let per_page = pager::parse_page_size(get("per_page"));
    let requested = pager::parse_page(get("page"));
    let (events, total, page) = db.run(move |conn| queries::platform_page(conn, requested, per_page)).await?;
    let href = |n: i64| {
        let size = if per_page == pager::DEFAULT_PAGE_SIZE { String::new() } else { format!("&per_page={per_page}") };
        format!("/admin/audit?page={n}{size}")
    };
    let pager = Pager::new(page, per_page, events.len() as i64, total, href);
    render(&AuditPage { layout: admin.layout("Audit log", Section::Platform)?, events, pager })
}
