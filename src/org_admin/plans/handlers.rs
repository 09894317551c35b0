//! `GET /orgs/{id}/plans` and the add, edit and delete forms on it.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::queries::{self, MoveTo, NewPlan, PlanError};
use super::views::{PageState, PlanForm, PlansPage};
use crate::app::Services;
use crate::audit::Actor;
use crate::auth::OrgAdmin;
use crate::csrf::CsrfForm;
use crate::db::{Db, DbConn};
use crate::domain::{group_thousands, FieldErrors, OrgId, OrgName, PlanId, QuotaGb};
use crate::error::AppError;
use crate::org_admin::paths;
use crate::org_admin::users::capacity::usage;
use crate::web::flash::{self, FlashKind};
use crate::web::layout::Section;
use crate::web::{render_with, see_other};

fn parse(form: &PlanForm, org_quota: i64) -> Result<NewPlan, FieldErrors> {
    let mut errors = FieldErrors::default();
    let name = errors.check("name", OrgName::parse(&form.name));
    let quota = errors.check("quota_gb", QuotaGb::parse(&form.quota_gb)).filter(|quota| {
        let fits = quota.gb() <= org_quota;
        if !fits {
            errors.add(
                "quota_gb",
                format!("A plan cannot give more than the organization's quota, {} GB.", group_thousands(org_quota)),
            );
        }
        fits
    });
    match (name, quota) {
        (Some(name), Some(quota)) if errors.is_empty() => {
            Ok(NewPlan { name, quota, is_default: form.is_default == "on" })
        }
        _ => Err(errors),
    }
}

async fn page(admin: &OrgAdmin, db: &Db, state: PageState) -> Result<HttpResponse, AppError> {
    let org_id = admin.org_id;
    let (rows, (org_quota, org_name)) = db
        .run(move |conn| -> diesel::QueryResult<_> {
            let org = usage(conn, org_id)?;
            Ok((queries::list(conn, org_id)?, (org.quota_gb, org.name)))
        })
        .await?;
    let status = state.status;
    let layout = admin.layout("Plans", Section::Organization)?.in_org(org_id, org_name);
    let page = PlansPage { layout, org_id, rows, org_quota, state };
    render_with(status, &page)
}

async fn org_quota(db: &Db, org_id: OrgId) -> Result<i64, AppError> {
    Ok(db.run(move |conn| usage(conn, org_id)).await?.quota_gb)
}

/// `GET /orgs/{id}/plans`
pub async fn show(admin: OrgAdmin, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    page(&admin, &db, PageState::ok()).await
}

const NAME_TAKEN: &str = "This organization already has a plan with this name (names are compared ignoring case).";

/// Add and Edit: the form checked against the organization's quota, then written; a refusal
/// shows the plans page again with `failed`'s state, success goes back to the list saying `done`.
async fn save<W>(
    admin: OrgAdmin,
    app: Services,
    form: PlanForm,
    failed: impl Fn(PlanForm, FieldErrors) -> PageState,
    write: W,
    done: fn(&str) -> String,
) -> Result<HttpResponse, AppError>
where
    W: FnOnce(&mut DbConn, &Actor, &NewPlan, NaiveDateTime) -> Result<(), PlanError> + Send + 'static,
{
    let org_id = admin.org_id;
    let parsed = match parse(&form, org_quota(&app.db, org_id).await?) {
        Ok(parsed) => parsed,
        Err(errors) => return page(&admin, &app.db, failed(form, errors)).await,
    };
    let act = app.act(&admin);
    let name = parsed.name.as_str().to_owned();
    match app.db.run(move |conn| Ok::<_, AppError>(write(conn, &act.actor, &parsed, act.now))).await? {
        Ok(()) => {
            flash::set(admin.session(), FlashKind::Success, done(&name));
            Ok(see_other(&paths::plans(org_id)))
        }
        Err(PlanError::NameTaken) => page(&admin, &app.db, failed(form, FieldErrors::one("name", NAME_TAKEN))).await,
        Err(PlanError::Quota(why)) => page(&admin, &app.db, failed(form, FieldErrors::one("quota_gb", why))).await,
        Err(other) => Err(other.into()),
    }
}

/// `POST /orgs/{id}/plans`
pub async fn create(
    admin: OrgAdmin,
    app: Services,
    CsrfForm(form): CsrfForm<PlanForm>,
) -> Result<HttpResponse, AppError> {
    let org_id = admin.org_id;
    let failed = |form, errors| PageState { status: StatusCode::UNPROCESSABLE_ENTITY, form, errors, ..PageState::ok() };
    let write = move |conn: &mut DbConn, actor: &Actor, new: &NewPlan, now| queries::add(conn, actor, org_id, new, now);
    save(admin, app, form, failed, write, |name| format!("Plan “{name}” added.")).await
}

/// What a change to one plan's row carries, in the order it is extracted; `F` is its form.
type PlanChange<F> = (OrgAdmin, Services, web::Path<(OrgId, PlanId)>, CsrfForm<F>);

/// `POST /orgs/{id}/plans/{plan_id}/edit`
pub async fn update(request: PlanChange<PlanForm>) -> Result<HttpResponse, AppError> {
    let (admin, app, path, CsrfForm(form)) = request;
    let (_, plan_id) = path.into_inner();
    let org_id = admin.org_id;
    let failed = |form: PlanForm, errors| PageState {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        editing: Some((plan_id, form, errors)),
        ..PageState::ok()
    };
    let write = move |conn: &mut DbConn, actor: &Actor, new: &NewPlan, now| {
        queries::edit(conn, actor, org_id, plan_id, new, now)
    };
    save(admin, app, form, failed, write, |name| format!("Plan “{name}” saved; its users follow it.")).await
}

#[derive(Debug, Default, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    move_to: String,
}

/// `POST /orgs/{id}/plans/{plan_id}/delete`
pub async fn delete(request: PlanChange<DeleteForm>) -> Result<HttpResponse, AppError> {
    let (admin, app, path, CsrfForm(form)) = request;
    let (_, plan_id) = path.into_inner();
    let org_id = admin.org_id;
    let move_to = match form.move_to.trim() {
        "" => MoveTo::Unset,
        "none" => MoveTo::NoPlan,
        raw => raw.parse::<PlanId>().map(MoveTo::Plan).unwrap_or(MoveTo::Unset),
    };
    let act = app.act(&admin);
    let removed =
        app.db.run(move |conn| Ok::<_, AppError>(queries::remove(conn, &act.actor, org_id, plan_id, move_to, act.now)));
    match removed.await? {
        Ok(name) => {
            flash::set(admin.session(), FlashKind::Success, format!("Plan “{name}” deleted."));
            Ok(see_other(&paths::plans(org_id)))
        }
        Err(PlanError::InUse { name, users }) => {
            let state =
                PageState { status: StatusCode::CONFLICT, in_use: Some((plan_id, name, users)), ..PageState::ok() };
            page(&admin, &app.db, state).await
        }
        Err(PlanError::Quota(why)) => {
            let state = PageState { status: StatusCode::UNPROCESSABLE_ENTITY, refusal: Some(why), ..PageState::ok() };
            page(&admin, &app.db, state).await
        }
        Err(other) => Err(other.into()),
    }
}
