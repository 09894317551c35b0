//! The landing pages: `/` (the consoles this account may use) and `/admin` (the platform
//! console home). An organization's own home is in `organization`.

mod handlers;
mod queries;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(handlers::home)).route("/admin", web::get().to(handlers::platform_home));
}
