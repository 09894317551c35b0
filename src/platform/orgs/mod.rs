//! The platform administrator's Organizations page, and adding and editing organizations.

mod export;
mod forms;
mod handlers;
pub mod list;
pub mod queries;
mod selection;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/organizations").route(web::get().to(list::show)).route(web::post().to(handlers::create)),
    );
    cfg.service(
        web::resource("/organizations/{id}/edit")
            .route(web::get().to(handlers::edit_form))
            .route(web::post().to(handlers::update)),
    );
    cfg.route("/organizations.csv", web::get().to(export::organizations_csv))
        .route("/organizations/selection", web::post().to(selection::route))
        .route("/organizations/new", web::get().to(handlers::new_form));
}
