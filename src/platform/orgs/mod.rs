//! The platform administrator's Organizations page, and adding and editing organizations.

mod export;
mod forms;
mod handlers;
pub mod list;
pub mod queries;
mod selection;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/organizations", web::get().to(list::show))
        .route("/organizations.csv", web::get().to(export::organizations_csv))
        .route("/organizations", web::post().to(handlers::create))
        .route("/organizations/selection", web::post().to(selection::route))
        .route("/organizations/new", web::get().to(handlers::new_form))
        .route("/organizations/{id}/edit", web::get().to(handlers::edit_form))
        .route("/organizations/{id}/edit", web::post().to(handlers::update));
}
