//! An organization's users (memberships): the list, Add user, Edit user, Validate, Remove,
//! Resend and Revoke invitation. Only the organization's Delegates reach these (`OrgAdmin`).

pub mod awaiting;
pub mod capacity;
mod export;
pub mod forms;
mod handlers;
pub mod list;
pub mod queries;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/users").route(web::get().to(list::show)).route(web::post().to(handlers::create)));
    cfg.route("/users.csv", web::get().to(export::users_csv))
        .route("/users/new", web::get().to(handlers::new_form))
        .route("/users/{account_id}/validate", web::post().to(handlers::validate))
        .route("/users/{account_id}/remove", web::post().to(handlers::remove))
        .route("/users/{account_id}/resend", web::post().to(handlers::resend))
        .route("/users/{account_id}/revoke", web::post().to(handlers::revoke));
    cfg.service(
        web::resource("/users/{account_id}/edit")
            .route(web::get().to(handlers::edit_form))
            .route(web::post().to(handlers::update)),
    );
}
