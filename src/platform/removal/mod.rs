//! Removal of an organization with two platform administrators: one initiates, another
//! approves once the contact person's notice has run. `state` holds the rules, `queries` the
//! writes that decide races, `handlers` the removal page and its actions.

mod handlers;
pub mod queries;
pub mod state;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/organizations/{id}/removal")
            .route(web::get().to(handlers::show))
            .route(web::post().to(handlers::initiate)),
    );
    cfg.route("/organizations/{id}/removal/cancel", web::post().to(handlers::cancel))
        .route("/organizations/{id}/removal/decline", web::post().to(handlers::decline))
        .route("/organizations/{id}/removal/approve", web::post().to(handlers::approve));
}
