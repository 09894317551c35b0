//! The organization console (`/orgs/{id}…`), for the organization's administrators (Delegates)
//! only: every handler takes `OrgAdmin`, and every query is scoped by the organization id it
//! checked. Everything is mounted under one `web::scope("/orgs/{id}")`.

mod audit;
mod home;
pub mod paths;
pub mod plans;
mod properties;
pub mod users;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/orgs/{id}")
            .route("", web::get().to(home::show))
            .route("/properties", web::get().to(properties::show))
            .route("/properties", web::post().to(properties::save))
            .route("/audit", web::get().to(audit::show))
            .route("/audit.csv", web::get().to(audit::csv))
            .configure(users::configure)
            .configure(plans::configure),
    );
}
