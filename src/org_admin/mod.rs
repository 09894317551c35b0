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
use diesel::prelude::*;

use crate::db::schema::organizations;
use crate::db::DbConn;
use crate::domain::OrgId;

/// The organization's name, for the pages that read nothing else of it (their heading, title
/// and breadcrumb name it).
fn name_of(conn: &mut DbConn, org_id: OrgId) -> QueryResult<String> {
    organizations::table.find(org_id).select(organizations::name).first(conn)
}

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
