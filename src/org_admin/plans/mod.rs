//! `/orgs/{id}/plans`: named quota presets of one organization. A membership on a plan has the
//! plan's quota; changing the plan's quota changes theirs, within the organization's quota. A
//! plan in use is deleted only once its users are moved (to another plan, or off plans
//! keeping their quota). Edits and deletions take the organization's lock, as user changes
//! do, so the two never pass the organization's quota together.

mod handlers;
mod queries;
mod views;

use actix_web::web;

pub use queries::{all, Plan};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/plans", web::get().to(handlers::show))
        .route("/plans", web::post().to(handlers::create))
        .route("/plans/{plan_id}/edit", web::post().to(handlers::update))
        .route("/plans/{plan_id}/delete", web::post().to(handlers::delete));
}
