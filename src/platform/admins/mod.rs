//! Platform administrators: the `/admin/administrators` page and the command line
//! (`orgportal admin …`).

pub mod cli;
mod handlers;
pub use handlers::{done, page_with_refusal, OnRow};
pub mod queries;

use actix_web::web;

use crate::second_factor::handlers::reset_for_admin;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/administrators").route(web::get().to(handlers::show)).route(web::post().to(handlers::add)),
    );
    cfg.route("/administrators/{account_id}/remove", web::post().to(handlers::remove))
        .route("/administrators/{account_id}/end-sessions", web::post().to(handlers::end_sessions))
        .route("/administrators/{account_id}/resend", web::post().to(handlers::resend))
        .route("/administrators/{account_id}/revoke", web::post().to(handlers::revoke))
        .route("/administrators/{account_id}/reset-2fa", web::post().to(reset_for_admin));
}
