//! `/admin`: the platform console's home, with the platform's figures at a glance.

pub mod queries;

use actix_web::{web, HttpResponse};
use askama::Template;

use self::queries::PlatformOverview;
use crate::auth::PlatformAdmin;
use crate::db::Db;
use crate::domain::group_thousands;
use crate::error::AppError;
use crate::web::layout::{Layout, Section};
use crate::web::render;

#[derive(Template)]
#[template(path = "home/platform.html")]
pub struct PlatformHomePage {
    pub layout: Layout,
    pub overview: PlatformOverview,
    /// `ORGPORTAL_REQUIRE_ADMIN_2FA` is off and this administrator has no second factor.
    pub warn_no_second_factor: bool,
}

impl PlatformHomePage {
    fn organizations(&self) -> String {
        group_thousands(self.overview.organizations)
    }
}

/// `GET /admin`
pub async fn platform_home(
    admin: PlatformAdmin,
    db: web::Data<Db>,
    config: web::Data<crate::config::Config>,
) -> Result<HttpResponse, AppError> {
    let admin_id = admin.id();
    let (overview, enrolled) = db
        .run(move |conn| {
            Ok::<_, diesel::result::Error>((
                queries::platform_overview(conn)?,
                crate::second_factor::queries::is_enrolled(conn, admin_id)?,
            ))
        })
        .await?;
    // With the rule on, an administrator without one could not have signed in.
    let warn_no_second_factor = !config.require_admin_2fa && !enrolled;
    render(&PlatformHomePage {
        layout: admin.layout("Platform administration", Section::Platform)?,
        overview,
        warn_no_second_factor,
    })
}
