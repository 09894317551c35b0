//! The platform administrator's Organizations page, and adding and editing organizations.

mod export;
mod forms;
mod handlers;
pub mod list;
pub mod queries;
mod selection;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/organizations", web::get().to(list::show))
        .route("/admin/organizations.csv", web::get().to(export::organizations_csv))
        .route("/admin/organizations", web::post().to(handlers::create))
        .route("/admin/organizations/selection", web::post().to(selection::route))
        .route("/admin/organizations/new", web::get().to(handlers::new_form))
        .route("/admin/organizations/{id}/edit", web::get().to(handlers::edit_form))
        .route("/admin/organizations/{id}/edit", web::post().to(handlers::update));
}
