//! An organization's own pages, for its administrators (Delegates) only: every handler takes
//! `OrgAdmin`, and every query is scoped by the organization id it checked.

mod audit_page;
mod home;
mod properties;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/orgs/{id}", web::get().to(home::show))
        .route("/orgs/{id}/properties", web::get().to(properties::show))
        .route("/orgs/{id}/properties", web::post().to(properties::save))
        .route("/orgs/{id}/audit", web::get().to(audit_page::show));
}
