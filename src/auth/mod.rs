//! Signing in and out, server-side sessions, lockout and rate limits, passwords and the role
//! extractors.

pub mod extractors;
mod handlers;
pub mod lockout;
pub mod password;
pub mod queries;
pub mod rate_limit;
pub mod session;

use actix_web::web;
use base64::Engine;
use rand::RngCore;

pub use extractors::{CurrentAccount, OrgAdmin, OrgAdminRead, PlatformAdmin, PlatformAdminRead, SignedIn};
pub(crate) use handlers::{landing as landing_after_sign_in, open_session};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(handlers::login_page))
        .route("/login", web::post().to(handlers::login))
        .route("/logout", web::post().to(handlers::logout));
}

/// `bytes` random bytes from the OS generator, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}
