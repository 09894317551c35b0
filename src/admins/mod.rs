//! Platform administrators: the `/admin/administrators` page and the command line
//! (`orgportal admin …`).

pub mod cli;
mod handlers;
pub use handlers::page_with_refusal;
pub mod queries;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/administrators", web::get().to(handlers::show))
        .route("/admin/administrators", web::post().to(handlers::add))
        .route("/admin/administrators/{account_id}/remove", web::post().to(handlers::remove))
        .route("/admin/administrators/{account_id}/end-sessions", web::post().to(handlers::end_sessions))
        .route("/admin/administrators/{account_id}/resend", web::post().to(handlers::resend))
        .route("/admin/administrators/{account_id}/revoke", web::post().to(handlers::revoke));
}
