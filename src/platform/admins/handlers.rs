//! `/admin/administrators`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::queries::{self, AddError, Added, AdminRow, PendingError, Revoked};
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
    /// The clock's now, to tell an expired link from a live one.
    pub now: chrono::NaiveDateTime,
}

impl AdminsPage {
    fn status_label(row: &AdminRow) -> &'static str {
        row.status.label()
    }

    /// A pending invitation whose link expired (or was used up elsewhere).
    fn link_expired(&self, row: &AdminRow) -> bool {
        row.is_pending() && row.link_expires_at.is_none_or(|at| at <= self.now)
    }
}

async fn page(
    admin: &PlatformAdmin,
    db: &Db,
    clock: &Clock,
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
        now: clock.now(),
    };
    render_with(status, &page)
}

/// The page with a refusal at its top (for acts on a row that live elsewhere, e.g. resetting
/// a second factor).
pub async fn page_with_refusal(
    admin: &PlatformAdmin,
    db: &Db,
    clock: &Clock,
    status: StatusCode,
    refusal: String,
) -> Result<HttpResponse, AppError> {
    page(admin, db, clock, status, String::new(), FieldErrors::default(), Some(refusal)).await
}

/// `GET /admin/administrators`
pub async fn show(admin: PlatformAdmin, db: web::Data<Db>, clock: web::Data<Clock>) -> Result<HttpResponse, AppError> {
    page(&admin, &db, &clock, StatusCode::OK, String::new(), FieldErrors::default(), None).await
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
                &clock,
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
    let outcome = db.attempt(move |conn| queries::add(conn, &site, &actor, &target, now)).await?;
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
            page(&admin, &db, &clock, StatusCode::UNPROCESSABLE_ENTITY, form.email, errors, None).await
        }
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
    let outcome = db.attempt(move |conn| queries::remove(conn, &actor, target, now)).await?;
    match outcome {
        Ok(email) => {
            flash::set(admin.session(), FlashKind::Success, format!("{email} is no longer a platform administrator."));
            Ok(see_other("/admin/administrators"))
        }
        Err(refused) => page_with_refusal(&admin, &db, &clock, StatusCode::CONFLICT, refused.to_string()).await,
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
    let outcome = db.attempt(move |conn| queries::end_sessions(conn, &actor, target, now)).await?;
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
        Err(refused) => page_with_refusal(&admin, &db, &clock, StatusCode::CONFLICT, refused.to_string()).await,
    }
}

/// `POST /admin/administrators/{account_id}/resend`
pub async fn resend(
    admin: PlatformAdmin,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    site: web::Data<Site>,
    client: ClientAddr,
    path: web::Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let target = path.into_inner();
    let actor = admin.actor(client);
    let now = clock.now();
    let outcome = db.attempt(move |conn| queries::resend(conn, &site, &actor, target, now)).await?;
    match outcome {
        Ok(email) => {
            let message = format!("A new invitation was sent to {email}; the earlier link no longer works.");
            flash::set(admin.session(), FlashKind::Success, message);
            Ok(see_other("/admin/administrators"))
        }
        Err(PendingError::MailLimit(limited)) => {
            let mut response =
                page_with_refusal(&admin, &db, &clock, StatusCode::TOO_MANY_REQUESTS, limited.message).await?;
            response.headers_mut().insert(actix_web::http::header::RETRY_AFTER, limited.retry_after_secs.into());
            Ok(response)
        }
        Err(refused) => page_with_refusal(&admin, &db, &clock, StatusCode::CONFLICT, refused.to_string()).await,
    }
}

/// `POST /admin/administrators/{account_id}/revoke`
pub async fn revoke(
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
    let outcome = db.attempt(move |conn| queries::revoke(conn, &actor, target, now)).await?;
    match outcome {
        Ok((email, revoked)) => {
            let message = match revoked {
                Revoked::Deleted => format!("The invitation of {email} was revoked and its link no longer works."),
                Revoked::Kept => format!(
                    "The administrator invitation of {email} was revoked; its organizations' invitations still stand."
                ),
            };
            flash::set(admin.session(), FlashKind::Success, message);
            Ok(see_other("/admin/administrators"))
        }
        Err(refused) => page_with_refusal(&admin, &db, &clock, StatusCode::CONFLICT, refused.to_string()).await,
    }
}
