//! The landing page `/`: the consoles this account may use. Each console's own home is in
//! `platform::home` and `org_admin::home`.

mod handlers;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(handlers::home));
}
