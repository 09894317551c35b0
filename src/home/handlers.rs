use actix_web::{web, HttpResponse};
use askama::Template;

use crate::auth::SignedIn;
use crate::db::Db;
use crate::domain::OrgId;
use crate::error::AppError;
use crate::org_admin::paths;
use crate::web::layout::{Layout, Section};
use crate::web::render;

#[derive(Template)]
#[template(path = "home/index.html")]
pub struct HomePage {
    pub layout: Layout,
    pub is_platform_admin: bool,
    /// (link, name) of each organization the account administers.
    pub administered: Vec<(String, String)>,
}

/// `GET /`
pub async fn home(account: SignedIn, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    let account_id = account.id();
    let administered = db.run(move |conn| crate::auth::queries::administered_orgs(conn, account_id)).await?;
    let administered = administered.into_iter().map(|(id, name)| (paths::home(OrgId(id)), name)).collect();
    render(&HomePage {
        layout: account.layout("Home", Section::Home)?,
        is_platform_admin: account.account.is_platform_admin,
        administered,
    })
}
