//! An organization's users (memberships): the list, Add user, Edit user, Validate, Remove,
//! Resend and Revoke invitation. Only the organization's Delegates reach these (`OrgAdmin`).

pub mod awaiting;
mod export;
pub mod forms;
mod handlers;
pub mod list;
pub mod queries;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/orgs/{id}/users", web::get().to(list::show))
        .route("/orgs/{id}/users.csv", web::get().to(export::users_csv))
        .route("/orgs/{id}/users", web::post().to(handlers::create))
        .route("/orgs/{id}/users/new", web::get().to(handlers::new_form))
        .route("/orgs/{id}/users/{account_id}/edit", web::get().to(handlers::edit_form))
        .route("/orgs/{id}/users/{account_id}/edit", web::post().to(handlers::update))
        .route("/orgs/{id}/users/{account_id}/validate", web::post().to(handlers::validate))
        .route("/orgs/{id}/users/{account_id}/remove", web::post().to(handlers::remove))
        .route("/orgs/{id}/users/{account_id}/resend", web::post().to(handlers::resend))
        .route("/orgs/{id}/users/{account_id}/revoke", web::post().to(handlers::revoke));
}
