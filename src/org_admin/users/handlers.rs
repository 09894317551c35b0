//! Add user, Edit user, and the Validate / Remove / Resend / Revoke invitation actions.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::capacity::{self, OrgUsage};
use super::forms::{parse_new, MemberSettings, UserForm};
use super::queries::{self, Change, MemberError};
use crate::app::Services;
use crate::auth::OrgAdmin;
use crate::csrf::CsrfForm;
use crate::db::{Db, DbConn};
use crate::domain::{group_thousands, AccountId, FieldErrors, OrgId};
use crate::error::AppError;
use crate::mail::Site;
use crate::org_admin::paths;
use crate::org_admin::plans::{self, Plan};
use crate::web::flash::{self, FlashKind};
use crate::web::layout::{Layout, Section};
use crate::web::{render, render_with, see_other};

/// Add or edit.
pub enum Mode {
    Add,
    Edit { account_id: AccountId, email: String },
}

#[derive(Template)]
#[template(path = "users/form.html")]
pub struct UserFormPage {
    pub layout: Layout,
    pub org_id: OrgId,
    pub mode: Mode,
    pub form: UserForm,
    pub errors: FieldErrors,
    /// A refusal that is about no single field (seats).
    pub refusal: Option<String>,
    pub usage: OrgUsage,
    pub plans: Vec<Plan>,
}

impl UserFormPage {
    fn heading(&self) -> String {
        match &self.mode {
            Mode::Add => format!("Add user to {}", self.usage.name),
            Mode::Edit { email, .. } => format!("Edit user {email} of {}", self.usage.name),
        }
    }

    fn is_add(&self) -> bool {
        matches!(self.mode, Mode::Add)
    }

    fn action(&self) -> String {
        match &self.mode {
            Mode::Add => paths::users(self.org_id),
            Mode::Edit { account_id, .. } => paths::user_edit(self.org_id, *account_id),
        }
    }

    fn checked(&self, value: &str) -> bool {
        UserForm::checked(value)
    }

    fn plan_selected(&self, plan: &Plan) -> bool {
        self.form.plan_id.trim() == plan.id.to_string()
    }

    fn available(&self) -> String {
        format!(
            "Available: {} of {} GB",
            group_thousands(self.usage.quota_left()),
            group_thousands(self.usage.quota_gb)
        )
    }

    fn seats(&self) -> String {
        match self.usage.seats {
            Some(total) => {
                format!("Seats: {} of {} in use", group_thousands(self.usage.member_count), group_thousands(total))
            }
            None => format!("Seats: {} in use (unlimited)", group_thousands(self.usage.member_count)),
        }
    }
}

async fn form_page(
    admin: &OrgAdmin,
    db: &Db,
    mode: Mode,
    form: Option<UserForm>,
    errors: FieldErrors,
    refusal: Option<String>,
) -> Result<UserFormPage, AppError> {
    let org_id = admin.org_id;
    let (usage, plans) = db
        .run(move |conn| -> diesel::QueryResult<_> { Ok((capacity::usage(conn, org_id)?, plans::all(conn, org_id)?)) })
        .await?;
    // A new user starts on the default plan, if the organization has one.
    let form = form.unwrap_or_else(|| UserForm {
        plan_id: plans.iter().find(|p| p.is_default).map(|p| p.id.to_string()).unwrap_or_default(),
        quota_gb: if plans.iter().any(|p| p.is_default) { String::new() } else { "0".into() },
        ..UserForm::default()
    });
    let title = if matches!(mode, Mode::Add) { "Add user" } else { "Edit user" };
    Ok(UserFormPage {
        layout: admin.layout(title, Section::Organization)?.in_org(org_id, usage.name.clone()),
        org_id,
        mode,
        form,
        errors,
        refusal,
        usage,
        plans,
    })
}

/// A refused save, as field errors (422) or a page-level message.
fn refusal_of(error: MemberError) -> Result<(FieldErrors, Option<String>, StatusCode), AppError> {
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(match error {
        MemberError::AlreadyMember => (
            FieldErrors::one("email", "This person already belongs to the organization (see the users list)."),
            None,
            unprocessable,
        ),
        MemberError::UnknownPlan => {
            (FieldErrors::one("plan_id", "Choose one of this organization's plans."), None, unprocessable)
        }
        MemberError::Limits(limits) => {
            let mut errors = FieldErrors::default();
            if let Some(quota) = &limits.quota {
                errors.add("quota_gb", quota.clone());
            }
            (errors, limits.seats.clone(), unprocessable)
        }
        MemberError::LastDelegate => {
            (FieldErrors::one("delegate", MemberError::LastDelegate.to_string()), None, StatusCode::CONFLICT)
        }
        MemberError::MailLimit(limited) => {
            (FieldErrors::default(), Some(limited.message), StatusCode::TOO_MANY_REQUESTS)
        }
        other => return Err(other.into()),
    })
}

/// The error page, for an email refused by a mail limit.
#[derive(Template)]
#[template(path = "errors/error.html")]
struct MailLimitedPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
}

/// A 429 page saying why an email was not sent, with `Retry-After`.
fn mail_limited(limited: &crate::mail::limits::Limited) -> Result<HttpResponse, AppError> {
    let status = StatusCode::TOO_MANY_REQUESTS;
    let page = MailLimitedPage { status: status.as_u16(), title: "Too many emails", message: &limited.message };
    Ok(with_retry_after(render_with(status, &page)?, limited.retry_after_secs))
}

fn with_retry_after(mut response: HttpResponse, seconds: u64) -> HttpResponse {
    response.headers_mut().insert(actix_web::http::header::RETRY_AFTER, seconds.into());
    response
}

/// `GET /orgs/{id}/users/new`
pub async fn new_form(admin: OrgAdmin, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    render(&form_page(&admin, &db, Mode::Add, None, FieldErrors::default(), None).await?)
}

/// `POST /orgs/{id}/users`
pub async fn create(
    admin: OrgAdmin,
    app: Services,
    CsrfForm(form): CsrfForm<UserForm>,
) -> Result<HttpResponse, AppError> {
    let db = &app.db;
    let (email, settings) = match parse_new(&form) {
        Ok(parsed) => parsed,
        Err(errors) => {
            let page = form_page(&admin, db, Mode::Add, Some(form), errors, None).await?;
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let org_id = admin.org_id;
    let act = app.act(&admin);
    let added = {
        let email = email.clone();
        let add =
            move |conn: &mut DbConn| queries::add(conn, &act.site, &act.actor, org_id, &email, &settings, act.now);
        db.run(move |conn| Ok::<_, AppError>(add(conn))).await?
    };
    match added {
        Ok(()) => {
            // The same words whether or not the account existed.
            flash::set(
                admin.session(),
                FlashKind::Success,
                format!("{email} was added and will receive an email about it."),
            );
            Ok(see_other(&paths::users(org_id)))
        }
        Err(error) => {
            let retry_after = match &error {
                MemberError::MailLimit(limited) => Some(limited.retry_after_secs),
                _ => None,
            };
            let (errors, refusal, status) = refusal_of(error)?;
            let response = render_with(status, &form_page(&admin, db, Mode::Add, Some(form), errors, refusal).await?)?;
            Ok(match retry_after {
                Some(seconds) => with_retry_after(response, seconds),
                None => response,
            })
        }
    }
}

async fn live_or_404(db: &Db, org_id: OrgId, account_id: AccountId) -> Result<queries::Live, AppError> {
    db.run(move |conn| queries::live(conn, org_id, account_id)).await?.ok_or(AppError::NotFound)
}

/// `GET /orgs/{id}/users/{account_id}/edit`
pub async fn edit_form(
    admin: OrgAdmin,
    db: web::Data<Db>,
    path: web::Path<(OrgId, AccountId)>,
) -> Result<HttpResponse, AppError> {
    let (_, account_id) = path.into_inner();
    let live = live_or_404(&db, admin.org_id, account_id).await?;
    let on = |set: bool| if set { "on".to_owned() } else { String::new() };
    let form = UserForm {
        email: live.email.clone(),
        delegate: on(live.settings.is_delegate),
        unsigned_containers: on(live.settings.unsigned_containers),
        release_protections: on(live.settings.release_protections),
        recover: on(live.settings.recover),
        no_second_factor: on(live.settings.no_second_factor),
        quota_gb: live.settings.quota_gb.to_string(),
        plan_id: live.plan_id.map(|id| id.to_string()).unwrap_or_default(),
    };
    let mode = Mode::Edit { account_id, email: live.email };
    render(&form_page(&admin, &db, mode, Some(form), FieldErrors::default(), None).await?)
}

/// `POST /orgs/{id}/users/{account_id}/edit`
pub async fn update(
    admin: OrgAdmin,
    app: Services,
    path: web::Path<(OrgId, AccountId)>,
    CsrfForm(mut form): CsrfForm<UserForm>,
) -> Result<HttpResponse, AppError> {
    let db = &app.db;
    let (_, account_id) = path.into_inner();
    let org_id = admin.org_id;
    let live = live_or_404(db, org_id, account_id).await?;
    // The email cannot be changed here: show what is stored, whatever was posted.
    form.email = live.email.clone();
    let mode = || Mode::Edit { account_id, email: live.email.clone() };
    let settings = match MemberSettings::parse(&form) {
        Ok(settings) => settings,
        Err(errors) => {
            let page = form_page(&admin, db, mode(), Some(form), errors, None).await?;
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let act = app.act(&admin);
    let saved = db
        .run(move |conn| {
            let change = Change { actor: &act.actor, org_id, account_id, now: act.now };
            Ok::<_, AppError>(queries::edit(conn, change, &settings))
        })
        .await?;
    match saved {
        Ok(()) => {
            flash::set(admin.session(), FlashKind::Success, format!("{} was saved.", live.email));
            Ok(see_other(&paths::users(org_id)))
        }
        Err(error) => {
            let (errors, refusal, status) = refusal_of(error)?;
            render_with(status, &form_page(&admin, db, mode(), Some(form), errors, refusal).await?)
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NoFields {}

/// The buttons of the users list: each acts on one membership, then goes back to the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberAction {
    Validate,
    Remove,
    Resend,
    Revoke,
}

impl MemberAction {
    fn run(self, conn: &mut crate::db::DbConn, site: &Site, change: Change<'_>) -> Result<String, MemberError> {
        match self {
            Self::Validate => queries::validate(conn, site, change),
            Self::Remove => queries::remove(conn, change),
            Self::Resend => queries::resend(conn, site, change),
            Self::Revoke => queries::revoke(conn, change),
        }
    }

    /// What the list says once it is done.
    fn done(self, email: &str) -> String {
        match self {
            Self::Validate => format!("{email} is validated and was told the account is ready."),
            Self::Remove => format!("{email} was removed; the seat and quota are free again."),
            Self::Resend => {
                format!("A new invitation was sent to {email}; the earlier link from this organization no longer works.")
            }
            Self::Revoke => format!(
                "The invitation of {email} was revoked: its link no longer works, and the seat and quota are free again."
            ),
        }
    }
}

/// What every action's request carries, in the order it is extracted.
type ActRequest = (OrgAdmin, Services, web::Path<(OrgId, AccountId)>, CsrfForm<NoFields>);

/// Act, then back to the list with what happened, or a clear refusal.
async fn act(request: ActRequest, action: MemberAction) -> Result<HttpResponse, AppError> {
    let (admin, app, path, _) = request;
    let (_, account_id) = path.into_inner();
    let org_id = admin.org_id;
    let act = app.act(&admin);
    let done = app
        .db
        .run(move |conn| {
            let change = Change { actor: &act.actor, org_id, account_id, now: act.now };
            Ok::<_, AppError>(action.run(conn, &act.site, change))
        })
        .await?;
    let email = match done {
        Ok(email) => email,
        // Its own page, with the limit's words (not the sign-in limit's).
        Err(MemberError::MailLimit(limited)) => return mail_limited(&limited),
        Err(refused) => return Err(refused.into()),
    };
    flash::set(admin.session(), FlashKind::Success, action.done(&email));
    Ok(see_other(&paths::users(org_id)))
}

/// `POST /orgs/{id}/users/{account_id}/validate`
pub async fn validate(request: ActRequest) -> Result<HttpResponse, AppError> {
    act(request, MemberAction::Validate).await
}

/// `POST /orgs/{id}/users/{account_id}/remove`
pub async fn remove(request: ActRequest) -> Result<HttpResponse, AppError> {
    act(request, MemberAction::Remove).await
}

/// `POST /orgs/{id}/users/{account_id}/resend`
pub async fn resend(request: ActRequest) -> Result<HttpResponse, AppError> {
    act(request, MemberAction::Resend).await
}

/// `POST /orgs/{id}/users/{account_id}/revoke`
pub async fn revoke(request: ActRequest) -> Result<HttpResponse, AppError> {
    act(request, MemberAction::Revoke).await
}
