use actix_web::{web, HttpResponse};
use askama::Template;

use super::queries::{self, PlatformOverview};
use crate::auth::{PlatformAdmin, SignedIn};
use crate::db::Db;
use crate::domain::group_thousands;
use crate::error::AppError;
use crate::web::layout::{Layout, Section};
use crate::web::render;

#[derive(Template)]
#[template(path = "home/index.html")]
pub struct HomePage {
    pub layout: Layout,
    pub is_platform_admin: bool,
    pub administered: Vec<(i64, String)>,
}

/// `GET /`
pub async fn home(account: SignedIn, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    let account_id = account.id();
    let administered = db.run(move |conn| crate::auth::queries::administered_orgs(conn, account_id)).await?;
    render(&HomePage {
        layout: account.layout("Home", Section::Home)?,
        is_platform_admin: account.account.is_platform_admin,
        administered,
    })
}

#[derive(Template)]
#[template(path = "home/platform.html")]
pub struct PlatformHomePage {
    pub layout: Layout,
    pub overview: PlatformOverview,
}

impl PlatformHomePage {
    fn organizations(&self) -> String {
        group_thousands(self.overview.organizations)
    }
}

/// `GET /admin`
pub async fn platform_home(admin: PlatformAdmin, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    let overview = db.run(queries::platform_overview).await?;
    render(&PlatformHomePage { layout: admin.layout("Platform administration", Section::Platform)?, overview })
}
