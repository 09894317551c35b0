//! The landing pages: `/` (the consoles this account may use), `/admin` (the platform console
//! home) and `/orgs/{id}` (an organization's home for its administrators).

mod handlers;
mod queries;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(handlers::home))
        .route("/admin", web::get().to(handlers::platform_home))
        .route("/orgs/{id}", web::get().to(handlers::org_home));
}
