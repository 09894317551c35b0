use actix_web::{web, HttpResponse};
use askama::Template;

use crate::auth::SignedIn;
use crate::db::Db;
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
