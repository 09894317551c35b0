//! The signed-in person's own account: `/account`, changing the password, and the account's
//! sessions.

mod handlers;
pub mod queries;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/account", web::get().to(handlers::show))
        .route("/account/password", web::post().to(handlers::change_password))
        .route("/account/sessions/end-others", web::post().to(handlers::end_other_sessions))
        .route("/account/sessions/{id}/end", web::post().to(handlers::end_session));
}
