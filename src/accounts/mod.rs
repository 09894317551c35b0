//! The signed-in person's own account: `/account`, changing the password, and the account's
//! sessions; and, for someone who cannot sign in, password reset.

mod handlers;
pub use handlers::{account_page, AccountPage};
pub mod password_reset;
mod profile;
pub mod queries;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/account", web::get().to(handlers::show))
        .route("/account/password", web::post().to(handlers::change_password))
        .route("/account/profile", web::post().to(profile::update))
        .route("/account/sessions/end-others", web::post().to(handlers::end_other_sessions))
        .route("/account/sessions/{id}/end", web::post().to(handlers::end_session))
        .route("/password-reset", web::get().to(password_reset::handlers::request_page))
        .route("/password-reset", web::post().to(password_reset::handlers::request))
        .route("/password-reset/{token}", web::get().to(password_reset::handlers::form))
        .route("/password-reset/{token}", web::post().to(password_reset::handlers::set_password));
}
