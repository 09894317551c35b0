//! The signed-in person's own account: `/account` and changing the password.

mod handlers;
pub mod queries;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/account", web::get().to(handlers::show))
        .route("/account/password", web::post().to(handlers::change_password));
}
