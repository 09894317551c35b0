//! Stylesheet, script and icon, compiled into the binary so it is one self-contained file.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::error::AppError;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../static/style.css"),
    },
    Asset {
        name: "forms.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/forms.js"),
    },
    Asset { name: "favicon.svg", content_type: "image/svg+xml", body: include_bytes!("../../static/favicon.svg") },
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/{name}", web::get().to(asset)).route("/favicon.ico", web::get().to(favicon));
}

/// `GET /static/{name}`
async fn asset(name: web::Path<String>) -> Result<HttpResponse, AppError> {
    serve(&name)
}

/// `GET /favicon.ico`: browsers ask for it whatever the page links.
async fn favicon() -> Result<HttpResponse, AppError> {
    serve("favicon.svg")
}

fn serve(name: &str) -> Result<HttpResponse, AppError> {
    let asset = ASSETS.iter().find(|a| a.name == name).ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, asset.content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(asset.body))
}
