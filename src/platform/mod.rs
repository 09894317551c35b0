//! The platform console (`/admin…`), for platform administrators only: every handler takes
//! `PlatformAdmin`. Everything is mounted under one `web::scope("/admin")`.

pub mod admins;
mod audit;
pub mod home;
pub mod ldap;
pub mod orgs;
mod outbox;
pub mod paths;
pub mod properties;
pub mod removal;

use actix_web::web;

use crate::app::Services;
use crate::auth::PlatformAdmin;
use crate::csrf::CsrfForm;

/// A console form posted: the administrator, the services, the form past its CSRF check (in
/// that order of extraction).
pub type AdminForm<F> = (PlatformAdmin, Services, CsrfForm<F>);
/// The same, for a form posted to a page of one row (`…/{id}`).
pub type AdminRowForm<F> = (PlatformAdmin, Services, actix_web::web::Path<i64>, CsrfForm<F>);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .route("", web::get().to(home::platform_home))
            .configure(orgs::configure)
            .configure(removal::configure)
            .configure(admins::configure)
            .configure(properties::configure)
            .configure(ldap::configure)
            .route("/audit", web::get().to(audit::platform))
            .route("/audit.csv", web::get().to(audit::platform_csv))
            .route("/outbox", web::get().to(outbox::show))
            .route("/outbox/{id}/retry", web::post().to(outbox::retry)),
    );
}
