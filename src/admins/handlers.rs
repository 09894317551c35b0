//! `/admin/administrators`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::queries::{self, AddError, Added, AdminRow, EndSessionsError, RemoveError};
use crate::auth::PlatformAdmin;
use crate::clock::Clock;
use crate::csrf::CsrfForm;
use crate::db::Db;
use crate::domain::{EmailAddress, FieldErrors};
use crate::error::AppError;
use crate::mail::Site;
use crate::web::client::ClientAddr;
use crate::web::flash::{self, FlashKind};
use crate::web::layout::{Layout, Section};
use crate::web::{render_with, see_other};

#[derive(Template)]
#[template(path = "admins/list.html")]
pub struct AdminsPage {
    pub layout: Layout,
    pub admins: Vec<AdminRow>,
    pub viewer_id: i64,
    pub email: String,
    pub errors: FieldErrors,
    pub refusal: Option<String>,
}

impl AdminsPage {
    fn status_label(row: &AdminRow) -> &'static str {
        if row.status == "active" {
            "Active"
        } else {
            "Invited"
        }
    }
}

async fn page(
    admin: &PlatformAdmin,
    db: &Db,
    status: StatusCode,
    email: String,
    errors: FieldErrors,
    refusal: Option<String>,
) -> Result<HttpResponse, AppError> {
    let admins = db.run(queries::list).await?;
    let page = AdminsPage {
        layout: admin.layout("Platform administrators", Section::Platform)?,
        admins,
        viewer_id: admin.id(),
        email,
        errors,
        refusal,
    };
    render_with(status, &page)
}

/// `GET /admin/administrators`
pub async fn show(admin: PlatformAdmin, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    page(&admin, &db, StatusCode::OK, String::new(), FieldErrors::default(), None).await
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    email: String,
}

/// `POST /admin/administrators`
pub async fn add(
    admin: PlatformAdmin,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    site: web::Data<Site>,
    client: ClientAddr,
    CsrfForm(form): CsrfForm<AddForm>,
) -> Result<HttpResponse, AppError> {
    let email = match EmailAddress::parse(&form.email) {
        Ok(email) => email,
        Err(why) => {
            return page(
                &admin,
                &db,
                StatusCode::UNPROCESSABLE_ENTITY,
                form.email,
                FieldErrors::one("email", why),
                None,
            )
            .await
        }
    };
    let actor = admin.actor(client);
    let now = clock.now();
    let target = email.clone();
    let outcome = db.run(move |conn| Ok::<_, AppError>(queries::add(conn, &site, &actor, &target, now))).await?;
    match outcome {
        Ok(added) => {
            let message = match added {
                Added::Promoted => format!("{email} is now a platform administrator."),
                Added::Invited => {
                    format!(
                        "{email} is invited as a platform administrator: a registration link is on its way by email."
                    )
                }
            };
            flash::set(admin.session(), FlashKind::Success, message);
            Ok(see_other("/admin/administrators"))
        }
        Err(AddError::AlreadyAdmin) => {
            let errors = FieldErrors::one("email", "This account already is a platform administrator.");
            page(&admin, &db, StatusCode::UNPROCESSABLE_ENTITY, form.email, errors, None).await
        }
        Err(AddError::Database(e)) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct NoFields {}

/// `POST /admin/administrators/{account_id}/remove`
pub async fn remove(
    admin: PlatformAdmin,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    client: ClientAddr,
    path: web::Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let target = path.into_inner();
    let actor = admin.actor(client);
    let now = clock.now();
    let outcome = db.run(move |conn| Ok::<_, AppError>(queries::remove(conn, &actor, target, now))).await?;
    match outcome {
        Ok(email) => {
            flash::set(admin.session(), FlashKind::Success, format!("{email} is no longer a platform administrator."));
            Ok(see_other("/admin/administrators"))
        }
        Err(RemoveError::Database(e)) => Err(e.into()),
        Err(refused) => {
            page(&admin, &db, StatusCode::CONFLICT, String::new(), FieldErrors::default(), Some(refused.to_string()))
                .await
        }
    }
}

/// `POST /admin/administrators/{account_id}/end-sessions`
pub async fn end_sessions(
    admin: PlatformAdmin,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    client: ClientAddr,
    path: web::Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let target = path.into_inner();
    let actor = admin.actor(client);
    let now = clock.now();
    let outcome = db.run(move |conn| Ok::<_, AppError>(queries::end_sessions(conn, &actor, target, now))).await?;
    match outcome {
        Ok((email, ended)) => {
            let message = match ended {
                0 => format!("{email} had no session open."),
                1 => format!("{email} is signed out of 1 session."),
                n => format!("{email} is signed out of {n} sessions."),
            };
            flash::set(admin.session(), FlashKind::Success, message);
            Ok(see_other("/admin/administrators"))
        }
        Err(EndSessionsError::Database(e)) => Err(e.into()),
        Err(refused) => {
            page(&admin, &db, StatusCode::CONFLICT, String::new(), FieldErrors::default(), Some(refused.to_string()))
                .await
        }
    }
}
