use actix_web::{web, HttpResponse};
use askama::Template;

use super::queries::{self, OrgSummary, PlatformOverview};
use crate::auth::{OrgAdmin, PlatformAdmin, SignedIn};
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

#[derive(Template)]
#[template(path = "home/organization.html")]
pub struct OrgHomePage {
    pub layout: Layout,
    pub org: OrgSummary,
}

impl OrgHomePage {
    fn seats_label(&self) -> String {
        match self.org.seats {
            Some(total) => format!("{} of {}", group_thousands(self.org.member_count), group_thousands(total)),
            None => format!("{} (unlimited)", group_thousands(self.org.member_count)),
        }
    }

    fn quota_label(&self) -> String {
        format!("{} of {} GB", group_thousands(self.org.quota_allocated_gb), group_thousands(self.org.quota_gb))
    }
}

/// `GET /orgs/{id}`
pub async fn org_home(admin: OrgAdmin, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    let org_id = admin.org_id;
    let org = db.run(move |conn| queries::org_summary(conn, org_id)).await?;
    render(&OrgHomePage { layout: admin.layout(org.name.clone(), Section::Organization)?, org })
}
