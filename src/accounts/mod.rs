//! The signed-in person's own account: `/account`, changing the password, and the account's
//! sessions; and, for someone who cannot sign in, password reset.

mod handlers;
pub use handlers::{account_page, AccountPage};
pub mod password_reset;
mod profile;
pub mod queries;

use actix_web::web;

use crate::app::Services;
use crate::auth::CurrentAccount;
use crate::csrf::CsrfForm;

/// A form the signed-in account posts about itself: the account, the services, the form past
/// its CSRF check (in that order of extraction).
pub type AccountForm<F> = (CurrentAccount, Services, CsrfForm<F>);

pub fn configure(cfg: &mut web::ServiceConfig) {
    use password_reset::handlers as reset;
    cfg.route("/account", web::get().to(handlers::show))
        .route("/account/password", web::post().to(handlers::change_password))
        .route("/account/profile", web::post().to(profile::update))
        .route("/account/sessions/end-others", web::post().to(handlers::end_other_sessions))
        .route("/account/sessions/{id}/end", web::post().to(handlers::end_session));
    cfg.service(
        web::resource("/password-reset")
            .route(web::get().to(reset::request_page))
            .route(web::post().to(reset::request)),
    );
    cfg.service(
        web::resource("/password-reset/{token}")
            .route(web::get().to(reset::form))
            .route(web::post().to(reset::set_password)),
    );
}
