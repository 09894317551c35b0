//! `/admin/administrators`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::queries::{self, AddError, Added, AdminRow, PendingError, Revoked};
use crate::app::Services;
use crate::auth::PlatformAdmin;
use crate::csrf::CsrfForm;
use crate::domain::{AccountId, EmailAddress, FieldErrors};
use crate::error::AppError;
use crate::platform::paths;
use crate::platform::AdminForm;
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

/// What the page shows besides the list: the Add form as posted, and a refusal at its top.
#[derive(Default)]
struct Shown {
    email: String,
    errors: FieldErrors,
    refusal: Option<String>,
}

async fn page(
    admin: &PlatformAdmin,
    app: &Services,
    status: StatusCode,
    shown: Shown,
) -> Result<HttpResponse, AppError> {
    let admins = app.db.run(queries::list).await?;
    let page = AdminsPage {
        layout: admin.layout("Platform administrators", Section::Platform)?,
        admins,
        viewer_id: admin.id(),
        email: shown.email,
        errors: shown.errors,
        refusal: shown.refusal,
        now: app.clock.now(),
    };
    render_with(status, &page)
}

/// The page with a refusal at its top (also for acts on a row that live elsewhere, e.g.
/// resetting a second factor).
pub async fn page_with_refusal(
    admin: &PlatformAdmin,
    app: &Services,
    status: StatusCode,
    refusal: String,
) -> Result<HttpResponse, AppError> {
    page(admin, app, status, Shown { refusal: Some(refusal), ..Shown::default() }).await
}

/// Back to the list, with what was done.
pub fn done(admin: &PlatformAdmin, message: String) -> HttpResponse {
    flash::set(admin.session(), FlashKind::Success, message);
    see_other(paths::ADMINISTRATORS)
}

/// `GET /admin/administrators`
pub async fn show(admin: PlatformAdmin, app: Services) -> Result<HttpResponse, AppError> {
    page(&admin, &app, StatusCode::OK, Shown::default()).await
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    email: String,
}

/// `POST /admin/administrators`
pub async fn add((admin, app, CsrfForm(form)): AdminForm<AddForm>) -> Result<HttpResponse, AppError> {
    let refused =
        |why: &str| Shown { errors: FieldErrors::one("email", why), email: form.email.clone(), refusal: None };
    let email = match EmailAddress::parse(&form.email) {
        Ok(email) => email,
        Err(why) => return page(&admin, &app, StatusCode::UNPROCESSABLE_ENTITY, refused(&why)).await,
    };
    let target = email.clone();
    match app.attempt(&admin, move |conn, act| queries::add(conn, act, &target)).await? {
        Ok(Added::Promoted) => Ok(done(&admin, format!("{email} is now a platform administrator."))),
        Ok(Added::Invited) => Ok(done(
            &admin,
            format!("{email} is invited as a platform administrator: a registration link is on its way by email."),
        )),
        Err(AddError::AlreadyAdmin) => {
            let why = refused("This account already is a platform administrator.");
            page(&admin, &app, StatusCode::UNPROCESSABLE_ENTITY, why).await
        }
    }
}

#[derive(Deserialize)]
pub struct NoFields {}

/// An act of a platform administrator on one administrator's row (`{account_id}` in the path).
pub type OnRow = (PlatformAdmin, Services, web::Path<AccountId>);

/// A refused act on a row: the page again, with why (409).
async fn conflict(admin: &PlatformAdmin, app: &Services, refused: impl ToString) -> Result<HttpResponse, AppError> {
    page_with_refusal(admin, app, StatusCode::CONFLICT, refused.to_string()).await
}

/// `POST /admin/administrators/{account_id}/remove`
pub async fn remove((admin, app, target): OnRow, _: CsrfForm<NoFields>) -> Result<HttpResponse, AppError> {
    let target = target.into_inner();
    match app.attempt(&admin, move |conn, act| queries::remove(conn, &act.actor, target, act.now)).await? {
        Ok(email) => Ok(done(&admin, format!("{email} is no longer a platform administrator."))),
        Err(refused) => conflict(&admin, &app, refused).await,
    }
}

/// `POST /admin/administrators/{account_id}/end-sessions`
pub async fn end_sessions((admin, app, target): OnRow, _: CsrfForm<NoFields>) -> Result<HttpResponse, AppError> {
    let target = target.into_inner();
    match app.attempt(&admin, move |conn, act| queries::end_sessions(conn, act, target)).await? {
        Ok((email, ended)) => Ok(done(
            &admin,
            match ended {
                0 => format!("{email} had no session open."),
                1 => format!("{email} is signed out of 1 session."),
                n => format!("{email} is signed out of {n} sessions."),
            },
        )),
        Err(refused) => conflict(&admin, &app, refused).await,
    }
}

/// `POST /admin/administrators/{account_id}/resend`
pub async fn resend((admin, app, target): OnRow, _: CsrfForm<NoFields>) -> Result<HttpResponse, AppError> {
    let target = target.into_inner();
    match app.attempt(&admin, move |conn, act| queries::resend(conn, act, target)).await? {
        Ok(email) => {
            Ok(done(&admin, format!("A new invitation was sent to {email}; the earlier link no longer works.")))
        }
        Err(PendingError::MailLimit(limited)) => {
            let mut response = page_with_refusal(&admin, &app, StatusCode::TOO_MANY_REQUESTS, limited.message).await?;
            response.headers_mut().insert(actix_web::http::header::RETRY_AFTER, limited.retry_after_secs.into());
            Ok(response)
        }
        Err(refused) => conflict(&admin, &app, refused).await,
    }
}

/// `POST /admin/administrators/{account_id}/revoke`
pub async fn revoke((admin, app, target): OnRow, _: CsrfForm<NoFields>) -> Result<HttpResponse, AppError> {
    let target = target.into_inner();
    match app.attempt(&admin, move |conn, act| queries::revoke(conn, act, target)).await? {
        Ok((email, Revoked::Deleted)) => {
            Ok(done(&admin, format!("The invitation of {email} was revoked and its link no longer works.")))
        }
        Ok((email, Revoked::Kept)) => Ok(done(
            &admin,
            format!("The administrator invitation of {email} was revoked; its organizations' invitations still stand."),
        )),
        Err(refused) => conflict(&admin, &app, refused).await,
    }
}
