//! `/orgs/{id}/plans`: named quota presets of one organization. A membership on a plan has the
//! plan's quota; changing the plan's quota changes theirs, within the organization's quota. A
//! plan in use is deleted only once its users are moved (to another plan, or off plans
//! keeping their quota). Edits and deletions take the organization's lock, as user changes
//! do, so the two never pass the organization's quota together.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;

use crate::audit::{self, Actor, NewEvent};
use crate::auth::OrgAdmin;
use crate::clock::Clock;
use crate::csrf::CsrfForm;
use crate::db::schema::{memberships, plans};
use crate::db::Db;
use crate::db::{self, DbConn};
use crate::domain::{group_thousands, FieldErrors, OrgId, OrgName, QuotaGb};
use crate::error::AppError;
use crate::org_admin::paths;
use crate::org_admin::users::queries::{limits, lock_organization, take_capacity, usage};
use crate::web::client::ClientAddr;
use crate::web::flash::{self, FlashKind};
use crate::web::layout::{Layout, Section};
use crate::web::{render_with, see_other};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/plans", web::get().to(show))
        .route("/plans", web::post().to(create))
        .route("/plans/{plan_id}/edit", web::post().to(update))
        .route("/plans/{plan_id}/delete", web::post().to(delete));
}

#[derive(Debug, Clone, Queryable)]
pub struct Plan {
    pub id: i64,
    pub name: String,
    pub quota_gb: i64,
    pub is_default: bool,
}

/// A plan with how many live memberships use it.
#[derive(Debug, Clone)]
pub struct PlanRow {
    pub plan: Plan,
    pub users: i64,
}

fn list(conn: &mut DbConn, org_id: i64) -> QueryResult<Vec<PlanRow>> {
    let all: Vec<Plan> = plans::table
        .filter(plans::organization_id.eq(org_id))
        .order((plans::name_key.asc(), plans::id.asc()))
        .select((plans::id, plans::name, plans::quota_gb, plans::is_default))
        .load(conn)?;
    let counts: Vec<(Option<i64>, i64)> = memberships::table
        .filter(memberships::organization_id.eq(org_id))
        .filter(memberships::status.ne("removed"))
        .filter(memberships::plan_id.is_not_null())
        .group_by(memberships::plan_id)
        .select((memberships::plan_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(all
        .into_iter()
        .map(|plan| {
            let users = counts.iter().find(|(id, _)| *id == Some(plan.id)).map_or(0, |(_, n)| *n);
            PlanRow { plan, users }
        })
        .collect())
}

fn find(conn: &mut DbConn, org_id: i64, plan_id: i64) -> QueryResult<Option<Plan>> {
    plans::table
        .filter(plans::id.eq(plan_id))
        .filter(plans::organization_id.eq(org_id))
        .select((plans::id, plans::name, plans::quota_gb, plans::is_default))
        .first(conn)
        .optional()
}

fn live_users_on(conn: &mut DbConn, org_id: i64, plan_id: i64) -> QueryResult<i64> {
    memberships::table
        .filter(memberships::organization_id.eq(org_id))
        .filter(memberships::plan_id.eq(plan_id))
        .filter(memberships::status.ne("removed"))
        .count()
        .get_result(conn)
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PlanForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub quota_gb: String,
    #[serde(default)]
    pub is_default: String,
}

struct ParsedPlan {
    name: OrgName,
    quota: QuotaGb,
    is_default: bool,
}

fn parse(form: &PlanForm, org_quota: i64) -> Result<ParsedPlan, FieldErrors> {
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
            Ok(ParsedPlan { name, quota, is_default: form.is_default == "on" })
        }
        _ => Err(errors),
    }
}

#[derive(Debug, thiserror::Error)]
enum PlanError {
    #[error("name taken")]
    NameTaken,
    #[error("{0}")]
    Quota(String),
    #[error("in use")]
    InUse { name: String, users: i64 },
    #[error("no such plan")]
    NotFound,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

fn unique(error: diesel::result::Error) -> PlanError {
    if db::violates_unique_index(&error, "plans_name") {
        PlanError::NameTaken
    } else {
        PlanError::Database(error)
    }
}

/// Only one default per organization: clear the others first (the partial unique index
/// would refuse a second).
fn make_default(conn: &mut DbConn, org_id: i64, plan_id: i64) -> QueryResult<()> {
    diesel::update(plans::table.filter(plans::organization_id.eq(org_id)).filter(plans::id.ne(plan_id)))
        .set(plans::is_default.eq(false))
        .execute(conn)?;
    diesel::update(plans::table.find(plan_id)).set(plans::is_default.eq(true)).execute(conn).map(drop)
}

fn add(conn: &mut DbConn, actor: &Actor, org_id: i64, new: &ParsedPlan, now: NaiveDateTime) -> Result<(), PlanError> {
    db::write_transaction(conn, |conn| {
        diesel::insert_into(plans::table)
            .values((
                plans::organization_id.eq(org_id),
                plans::name.eq(new.name.as_str()),
                plans::name_key.eq(new.name.key()),
                plans::quota_gb.eq(new.quota.gb()),
                plans::created_at.eq(now),
                plans::updated_at.eq(now),
            ))
            .execute(conn)
            .map_err(unique)?;
        let id: i64 = plans::table
            .filter(plans::organization_id.eq(org_id))
            .filter(plans::name_key.eq(new.name.key()))
            .select(plans::id)
            .first(conn)?;
        if new.is_default {
            make_default(conn, org_id, id)?;
        }
        let org_name = usage(conn, org_id)?.name;
        let details = json!({ "after": { "quota_gb": new.quota.gb(), "default": new.is_default } });
        audit::record(
            conn,
            &NewEvent::in_organization(actor, "plan.created", new.name.as_str(), org_id, &org_name).details(details),
            now,
        )?;
        Ok(())
    })
}

fn edit(
    conn: &mut DbConn,
    actor: &Actor,
    org_id: i64,
    plan_id: i64,
    new: &ParsedPlan,
    now: NaiveDateTime,
) -> Result<(), PlanError> {
    db::write_transaction(conn, |conn| {
        // The same lock as user edits: without it, a user moved onto this plan between the
        // count below and the update of the plan's users would get the new quota unpaid for.
        lock_organization(conn, org_id)?;
        let before = find(conn, org_id, plan_id)?.ok_or(PlanError::NotFound)?;
        let users = live_users_on(conn, org_id, plan_id)?;
        let extra = (new.quota.gb() - before.quota_gb) * users;
        if extra != 0 && !take_capacity(conn, org_id, 0, extra, now)? {
            let why = limits(&usage(conn, org_id)?, 0, extra).quota.unwrap_or_default();
            return Err(PlanError::Quota(format!("{} users are on this plan. {why}", group_thousands(users))));
        }
        diesel::update(plans::table.find(plan_id))
            .set((
                plans::name.eq(new.name.as_str()),
                plans::name_key.eq(new.name.key()),
                plans::quota_gb.eq(new.quota.gb()),
                plans::updated_at.eq(now),
            ))
            .execute(conn)
            .map_err(unique)?;
        diesel::update(
            memberships::table
                .filter(memberships::organization_id.eq(org_id))
                .filter(memberships::plan_id.eq(plan_id))
                .filter(memberships::status.ne("removed")),
        )
        .set((memberships::quota_gb.eq(new.quota.gb()), memberships::updated_at.eq(now)))
        .execute(conn)?;
        if new.is_default {
            make_default(conn, org_id, plan_id)?;
        } else if before.is_default {
            diesel::update(plans::table.find(plan_id)).set(plans::is_default.eq(false)).execute(conn)?;
        }
        let org_name = usage(conn, org_id)?.name;
        let details = json!({
            "before": { "name": before.name, "quota_gb": before.quota_gb, "default": before.is_default },
            "after": { "name": new.name.as_str(), "quota_gb": new.quota.gb(), "default": new.is_default },
            "users": users,
        });
        audit::record(
            conn,
            &NewEvent::in_organization(actor, "plan.updated", new.name.as_str(), org_id, &org_name).details(details),
            now,
        )?;
        Ok(())
    })
}

/// Where a plan's users go when it is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MoveTo {
    /// Not asked yet: refuse while the plan is in use.
    Unset,
    /// Off plans, each keeping the quota they have.
    NoPlan,
    Plan(i64),
}

fn remove(
    conn: &mut DbConn,
    actor: &Actor,
    org_id: i64,
    plan_id: i64,
    move_to: MoveTo,
    now: NaiveDateTime,
) -> Result<String, PlanError> {
    db::write_transaction(conn, |conn| {
        lock_organization(conn, org_id)?;
        let plan = find(conn, org_id, plan_id)?.ok_or(PlanError::NotFound)?;
        let users = live_users_on(conn, org_id, plan_id)?;
        let on_plan = || {
            memberships::table
                .filter(memberships::organization_id.eq(org_id))
                .filter(memberships::plan_id.eq(plan_id))
                .filter(memberships::status.ne("removed"))
        };
        match move_to {
            MoveTo::Unset if users > 0 => return Err(PlanError::InUse { name: plan.name, users }),
            MoveTo::Plan(target) if target == plan_id => return Err(PlanError::InUse { name: plan.name, users }),
            MoveTo::Plan(target) if users > 0 => {
                let target = find(conn, org_id, target)?.ok_or(PlanError::NotFound)?;
                let extra = (target.quota_gb - plan.quota_gb) * users;
                if extra != 0 && !take_capacity(conn, org_id, 0, extra, now)? {
                    let why = limits(&usage(conn, org_id)?, 0, extra).quota.unwrap_or_default();
                    return Err(PlanError::Quota(format!(
                        "Moving {} users to “{}”: {why}",
                        group_thousands(users),
                        target.name
                    )));
                }
                diesel::update(on_plan())
                    .set((
                        memberships::plan_id.eq(Some(target.id)),
                        memberships::quota_gb.eq(target.quota_gb),
                        memberships::updated_at.eq(now),
                    ))
                    .execute(conn)?;
            }
            _ => {
                diesel::update(on_plan())
                    .set((memberships::plan_id.eq(None::<i64>), memberships::updated_at.eq(now)))
                    .execute(conn)?;
            }
        }
        // Removed memberships keep their history, not the plan.
        diesel::update(memberships::table.filter(memberships::plan_id.eq(plan_id)))
            .set(memberships::plan_id.eq(None::<i64>))
            .execute(conn)?;
        diesel::delete(plans::table.find(plan_id)).execute(conn)?;
        let org_name = usage(conn, org_id)?.name;
        let details =
            json!({ "users_moved": users, "moved_to": match move_to { MoveTo::Plan(id) => Some(id), _ => None } });
        audit::record(
            conn,
            &NewEvent::in_organization(actor, "plan.deleted", &plan.name, org_id, &org_name).details(details),
            now,
        )?;
        Ok(plan.name)
    })
}

#[derive(Template)]
#[template(path = "plans/list.html")]
pub struct PlansPage {
    pub layout: Layout,
    pub org_id: i64,
    pub rows: Vec<PlanRow>,
    pub org_quota: i64,
    /// The add form, as typed.
    pub form: PlanForm,
    pub errors: FieldErrors,
    /// The plan whose edit form failed, with what was typed and why.
    pub editing: Option<(i64, PlanForm, FieldErrors)>,
    /// A plan in use that was asked to be deleted: (id, name, users).
    pub in_use: Option<(i64, String, i64)>,
    pub refusal: Option<String>,
}

impl PlansPage {
    fn edit_form_of(&self, row: &PlanRow) -> PlanForm {
        match &self.editing {
            Some((id, form, _)) if *id == row.plan.id => form.clone(),
            _ => PlanForm {
                name: row.plan.name.clone(),
                quota_gb: row.plan.quota_gb.to_string(),
                is_default: if row.plan.is_default { "on".into() } else { String::new() },
            },
        }
    }

    fn edit_errors_of(&self, row: &PlanRow) -> FieldErrors {
        match &self.editing {
            Some((id, _, errors)) if *id == row.plan.id => errors.clone(),
            _ => FieldErrors::default(),
        }
    }

    fn is_editing(&self, row: &PlanRow) -> bool {
        matches!(&self.editing, Some((id, _, _)) if *id == row.plan.id)
    }

    fn users(row: &PlanRow) -> String {
        group_thousands(row.users)
    }

    fn org_quota_text(&self) -> String {
        group_thousands(self.org_quota)
    }
}

struct PageState {
    status: StatusCode,
    form: PlanForm,
    errors: FieldErrors,
    editing: Option<(i64, PlanForm, FieldErrors)>,
    in_use: Option<(i64, String, i64)>,
    refusal: Option<String>,
}

impl PageState {
    fn ok() -> Self {
        Self {
            status: StatusCode::OK,
            form: PlanForm::default(),
            errors: FieldErrors::default(),
            editing: None,
            in_use: None,
            refusal: None,
        }
    }
}

async fn page(admin: &OrgAdmin, db: &Db, state: PageState) -> Result<HttpResponse, AppError> {
    let org_id = admin.org_id;
    let (rows, org_quota) =
        db.run(move |conn| -> QueryResult<_> { Ok((list(conn, org_id)?, usage(conn, org_id)?.quota_gb)) }).await?;
    let page = PlansPage {
        layout: admin.layout("Plans", Section::Organization)?,
        org_id,
        rows,
        org_quota,
        form: state.form,
        errors: state.errors,
        editing: state.editing,
        in_use: state.in_use,
        refusal: state.refusal,
    };
    render_with(state.status, &page)
}

async fn org_quota(db: &Db, org_id: i64) -> Result<i64, AppError> {
    Ok(db.run(move |conn| usage(conn, org_id)).await?.quota_gb)
}

/// `GET /orgs/{id}/plans`
pub async fn show(admin: OrgAdmin, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    page(&admin, &db, PageState::ok()).await
}

const NAME_TAKEN: &str = "This organization already has a plan with this name (names are compared ignoring case).";

/// `POST /orgs/{id}/plans`
pub async fn create(
    admin: OrgAdmin,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    client: ClientAddr,
    CsrfForm(form): CsrfForm<PlanForm>,
) -> Result<HttpResponse, AppError> {
    let org_id = admin.org_id;
    let unprocessable =
        |form, errors| PageState { status: StatusCode::UNPROCESSABLE_ENTITY, form, errors, ..PageState::ok() };
    let parsed = match parse(&form, org_quota(&db, org_id).await?) {
        Ok(parsed) => parsed,
        Err(errors) => return page(&admin, &db, unprocessable(form, errors)).await,
    };
    let actor = admin.actor(client);
    let now = clock.now();
    let name = parsed.name.as_str().to_owned();
    match db.run(move |conn| Ok::<_, AppError>(add(conn, &actor, org_id, &parsed, now))).await? {
        Ok(()) => {
            flash::set(admin.session(), FlashKind::Success, format!("Plan “{name}” added."));
            Ok(see_other(&paths::plans(OrgId(org_id))))
        }
        Err(PlanError::NameTaken) => page(&admin, &db, unprocessable(form, FieldErrors::one("name", NAME_TAKEN))).await,
        Err(PlanError::Database(e)) => Err(e.into()),
        Err(other) => Err(AppError::Unexpected(anyhow::anyhow!("adding a plan: {other}"))),
    }
}

/// `POST /orgs/{id}/plans/{plan_id}/edit`
pub async fn update(
    admin: OrgAdmin,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    client: ClientAddr,
    path: web::Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<PlanForm>,
) -> Result<HttpResponse, AppError> {
    let (_, plan_id) = path.into_inner();
    let org_id = admin.org_id;
    let failed = |form: PlanForm, errors| PageState {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        editing: Some((plan_id, form, errors)),
        ..PageState::ok()
    };
    let parsed = match parse(&form, org_quota(&db, org_id).await?) {
        Ok(parsed) => parsed,
        Err(errors) => return page(&admin, &db, failed(form, errors)).await,
    };
    let actor = admin.actor(client);
    let now = clock.now();
    let name = parsed.name.as_str().to_owned();
    match db.run(move |conn| Ok::<_, AppError>(edit(conn, &actor, org_id, plan_id, &parsed, now))).await? {
        Ok(()) => {
            flash::set(admin.session(), FlashKind::Success, format!("Plan “{name}” saved; its users follow it."));
            Ok(see_other(&paths::plans(OrgId(org_id))))
        }
        Err(PlanError::NameTaken) => page(&admin, &db, failed(form, FieldErrors::one("name", NAME_TAKEN))).await,
        Err(PlanError::Quota(why)) => page(&admin, &db, failed(form, FieldErrors::one("quota_gb", why))).await,
        Err(PlanError::NotFound) => Err(AppError::NotFound),
        Err(PlanError::Database(e)) => Err(e.into()),
        Err(other) => Err(AppError::Unexpected(anyhow::anyhow!("editing a plan: {other}"))),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    move_to: String,
}

/// `POST /orgs/{id}/plans/{plan_id}/delete`
pub async fn delete(
    admin: OrgAdmin,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    client: ClientAddr,
    path: web::Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<DeleteForm>,
) -> Result<HttpResponse, AppError> {
    let (_, plan_id) = path.into_inner();
    let org_id = admin.org_id;
    let move_to = match form.move_to.trim() {
        "" => MoveTo::Unset,
        "none" => MoveTo::NoPlan,
        raw => raw.parse::<i64>().map(MoveTo::Plan).unwrap_or(MoveTo::Unset),
    };
    let actor = admin.actor(client);
    let now = clock.now();
    match db.run(move |conn| Ok::<_, AppError>(remove(conn, &actor, org_id, plan_id, move_to, now))).await? {
        Ok(name) => {
            flash::set(admin.session(), FlashKind::Success, format!("Plan “{name}” deleted."));
            Ok(see_other(&paths::plans(OrgId(org_id))))
        }
        Err(PlanError::InUse { name, users }) => {
            let state =
                PageState { status: StatusCode::CONFLICT, in_use: Some((plan_id, name, users)), ..PageState::ok() };
            page(&admin, &db, state).await
        }
        Err(PlanError::Quota(why)) => {
            let state = PageState { status: StatusCode::UNPROCESSABLE_ENTITY, refusal: Some(why), ..PageState::ok() };
            page(&admin, &db, state).await
        }
        Err(PlanError::NotFound) => Err(AppError::NotFound),
        Err(PlanError::Database(e)) => Err(e.into()),
        Err(other) => Err(AppError::Unexpected(anyhow::anyhow!("deleting a plan: {other}"))),
    }
}
