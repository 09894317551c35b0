//! The removal page (`GET /admin/organizations/{id}/removal`) and its four actions. The page
//! offers only what this viewer may do; every action is checked again on the server.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::queries::{self, ActError, RemovalView};
use super::state::{self, Action, Refusal};
use crate::app::Services;
use crate::auth::PlatformAdmin;
use crate::csrf::CsrfForm;
use crate::domain::{group_thousands, OrgId};
use crate::error::AppError;
use crate::mail::messages::Withdrawal;
use crate::platform::paths;
use crate::web::flash::{self, FlashKind};
use crate::web::layout::{Layout, Section};
use crate::web::{render_with, see_other};

#[derive(Template)]
#[template(path = "removal/page.html")]
pub struct RemovalPage {
    pub layout: Layout,
    pub view: RemovalView,
    /// The Removal Status this viewer reads (empty without a request).
    pub status: String,
    pub actions: Vec<Action>,
    /// Why Approve is not offered to this viewer, when a request exists.
    pub approve_note: Option<String>,
    pub refusal: Option<String>,
    pub password_error: Option<String>,
    pub viewer: i64,
}

impl RemovalPage {
    fn layout_viewer(&self) -> i64 {
        self.viewer
    }

    fn can(&self, action: Action) -> bool {
        self.actions.contains(&action)
    }

    /// The Send notification check box exists only when there is a notice to give and
    /// someone to give it to.
    fn offers_notice(&self) -> bool {
        self.view.notice_days.is_some() && !self.view.org.contact_email.is_empty()
    }

    fn notice_days(&self) -> String {
        match self.view.notice_days.map(|d| d.days()) {
            Some(1) => "1 day".into(),
            Some(days) => format!("{days} days"),
            None => String::new(),
        }
    }

    fn seats_in_use(&self) -> String {
        let used = group_thousands(self.view.org.member_count);
        match self.view.org.seats {
            Some(seats) => format!("{used} of {}", group_thousands(seats)),
            None => format!("{used} (seats unlimited)"),
        }
    }

    fn users(&self) -> String {
        group_thousands(self.view.org.member_count)
    }

    fn pending_invitations(&self) -> String {
        group_thousands(self.view.pending_invitations)
    }

    fn quota_allocated(&self) -> String {
        format!(
            "{} GB of {} GB",
            group_thousands(self.view.org.quota_allocated_gb),
            group_thousands(self.view.org.quota_gb)
        )
    }

    fn when(at: NaiveDateTime) -> String {
        at.format("%Y-%m-%d %H:%M UTC").to_string()
    }
}

struct Outcome {
    status: StatusCode,
    refusal: Option<String>,
    password_error: Option<String>,
}

impl Outcome {
    const OK: Self = Self { status: StatusCode::OK, refusal: None, password_error: None };
}

async fn page(
    admin: &PlatformAdmin,
    app: &Services,
    org_id: OrgId,
    outcome: Outcome,
) -> Result<HttpResponse, AppError> {
    let view = app.db.run(move |conn| queries::view(conn, org_id)).await?.ok_or(AppError::NotFound)?;
    let now = app.clock.now();
    let viewer = admin.id();
    let request = view.request.as_ref().map(queries::StoredRequest::rules);
    let actions = state::allowed(request.as_ref(), viewer, now);
    let approve_note = match state::check(Action::Approve, request.as_ref(), viewer, now) {
        Err(Refusal::NoRequest) | Ok(()) => None,
        Err(refusal) => Some(refusal.to_string()),
    };
    let page = RemovalPage {
        layout: admin.layout(format!("Remove {}", view.org.name), Section::Platform)?,
        status: state::status(request.as_ref(), viewer, now),
        view,
        actions,
        approve_note,
        refusal: outcome.refusal,
        password_error: outcome.password_error,
        viewer,
    };
    render_with(outcome.status, &page)
}

/// A refused action shows the removal page again with the reason: 403 when the viewer may
/// never do it, 409 when the request's state does not allow it now.
async fn refused(
    admin: &PlatformAdmin,
    app: &Services,
    org_id: OrgId,
    error: ActError,
) -> Result<HttpResponse, AppError> {
    match error {
        ActError::Refused(refusal) => {
            let status = if refusal.is_about_the_viewer() { StatusCode::FORBIDDEN } else { StatusCode::CONFLICT };
            page(admin, app, org_id, Outcome { status, refusal: Some(refusal.to_string()), password_error: None }).await
        }
        ActError::OrgGone => Err(AppError::Conflict(
            "This organization no longer exists: another platform administrator has removed it.".into(),
        )),
    }
}

/// Back to where the act leads, with what was done.
fn done(admin: &PlatformAdmin, message: String, to: &str) -> HttpResponse {
    flash::set(admin.session(), FlashKind::Success, message);
    see_other(to)
}

/// A platform administrator on the organization `{id}` in the path.
type OnOrg = (PlatformAdmin, Services, web::Path<OrgId>);

/// As `OnOrg`, with the form posted, past its CSRF check.
type OnOrgForm<F> = (PlatformAdmin, Services, web::Path<OrgId>, CsrfForm<F>);

/// `GET /admin/organizations/{id}/removal`
pub async fn show((admin, app, org_id): OnOrg) -> Result<HttpResponse, AppError> {
    page(&admin, &app, org_id.into_inner(), Outcome::OK).await
}

#[derive(Debug, Default, Deserialize)]
pub struct InitiateForm {
    #[serde(default)]
    notify_contact: String,
}

/// `POST /admin/organizations/{id}/removal`: initiate.
pub async fn initiate((admin, app, org_id, CsrfForm(form)): OnOrgForm<InitiateForm>) -> Result<HttpResponse, AppError> {
    let org_id = org_id.into_inner();
    let notify = form.notify_contact == "on";
    match app.attempt(&admin, move |conn, act| queries::initiate(conn, act, org_id, notify)).await? {
        Ok(initiated) => {
            let message = match &initiated.notified {
                Some(contact) => format!(
                    "Removal of “{}” initiated. {contact} was notified; another platform administrator can approve it from {}.",
                    initiated.org_name,
                    RemovalPage::when(initiated.actionable_at)
                ),
                None => format!(
                    "Removal of “{}” initiated without notification. Another platform administrator can approve it now.",
                    initiated.org_name
                ),
            };
            Ok(done(&admin, message, &paths::organizations_named(&initiated.org_name)))
        }
        Err(ActError::OrgGone) => Err(AppError::NotFound),
        Err(error) => refused(&admin, &app, org_id, error).await,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NoFields {}

/// `POST /admin/organizations/{id}/removal/cancel` and `…/decline`: the same act, told apart
/// by who may do which.
async fn withdraw(
    admin: PlatformAdmin,
    app: Services,
    org_id: OrgId,
    how: Withdrawal,
) -> Result<HttpResponse, AppError> {
    match app.attempt(&admin, move |conn, act| queries::withdraw(conn, act, org_id, how)).await? {
        Ok(name) => {
            let verb = if how == Withdrawal::Cancelled { "cancelled" } else { "declined" };
            Ok(done(&admin, format!("The removal of “{name}” was {verb}."), &paths::organizations_named(&name)))
        }
        Err(error) => refused(&admin, &app, org_id, error).await,
    }
}

/// `POST /admin/organizations/{id}/removal/cancel`
pub async fn cancel((admin, app, org_id, _): OnOrgForm<NoFields>) -> Result<HttpResponse, AppError> {
    withdraw(admin, app, org_id.into_inner(), Withdrawal::Cancelled).await
}

/// `POST /admin/organizations/{id}/removal/decline`
pub async fn decline((admin, app, org_id, _): OnOrgForm<NoFields>) -> Result<HttpResponse, AppError> {
    withdraw(admin, app, org_id.into_inner(), Withdrawal::Declined).await
}

#[derive(Debug, Default, Deserialize)]
pub struct ApproveForm {
    #[serde(default)]
    password: String,
}

/// `POST /admin/organizations/{id}/removal/approve`: confirmed with the approver's own
/// password, then carried out in one transaction.
pub async fn approve((admin, app, org_id, CsrfForm(form)): OnOrgForm<ApproveForm>) -> Result<HttpResponse, AppError> {
    let org_id = org_id.into_inner();
    let account_id = admin.id();
    let password_error = if form.password.is_empty() {
        Some("Enter your own password to confirm the removal.")
    } else {
        (!app.is_password_of(account_id, &form.password).await?)
            .then_some("This is not your password. Nothing was removed.")
    };
    if let Some(why) = password_error {
        let outcome =
            Outcome { status: StatusCode::UNPROCESSABLE_ENTITY, refusal: None, password_error: Some(why.to_owned()) };
        return page(&admin, &app, org_id, outcome).await;
    }
    match app.attempt(&admin, move |conn, act| queries::approve(conn, act, org_id)).await? {
        Ok(removed) => {
            let accounts = match removed.accounts_deleted {
                0 => String::new(),
                1 => " 1 account that belonged nowhere else was deleted with it.".into(),
                n => {
                    format!(" {} accounts that belonged nowhere else were deleted with it.", group_thousands(n as i64))
                }
            };
            let message = format!(
                "“{}” was removed with its {} memberships.{accounts}",
                removed.org_name,
                group_thousands(removed.memberships)
            );
            Ok(done(&admin, message, paths::ORGANIZATIONS))
        }
        Err(error) => refused(&admin, &app, org_id, error).await,
    }
}
