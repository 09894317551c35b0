//! Plans of one organization: every query takes the organization id that `OrgAdmin` checked,
//! and every plan id from an address or a form is looked up within it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, Actor, NewEvent};
use crate::db::schema::{memberships, plans};
use crate::db::{self, DbConn};
use crate::domain::{group_thousands, MembershipStatus, OrgId, OrgName, PlanId, QuotaGb};
use crate::error::AppError;
use crate::org_admin::users::capacity::{limits, lock_organization, take_capacity, usage};

/// One plan: what the plans page lists and the Add / Edit user forms offer.
#[derive(Debug, Clone, Queryable)]
pub struct Plan {
    pub id: PlanId,
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

/// The organization's plans, by name.
pub fn all(conn: &mut DbConn, org_id: OrgId) -> QueryResult<Vec<Plan>> {
    plans::table
        .filter(plans::organization_id.eq(org_id))
        .order((plans::name_key.asc(), plans::id.asc()))
        .select((plans::id, plans::name, plans::quota_gb, plans::is_default))
        .load(conn)
}

pub fn list(conn: &mut DbConn, org_id: OrgId) -> QueryResult<Vec<PlanRow>> {
    let all = all(conn, org_id)?;
    let counts: Vec<(Option<PlanId>, i64)> = memberships::table
        .filter(memberships::organization_id.eq(org_id))
        .filter(memberships::status.ne(MembershipStatus::Removed))
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

fn find(conn: &mut DbConn, org_id: OrgId, plan_id: PlanId) -> QueryResult<Option<Plan>> {
    plans::table
        .filter(plans::id.eq(plan_id))
        .filter(plans::organization_id.eq(org_id))
        .select((plans::id, plans::name, plans::quota_gb, plans::is_default))
        .first(conn)
        .optional()
}

/// The live memberships on a plan.
#[diesel::dsl::auto_type]
fn on_plan(org_id: OrgId, plan_id: PlanId) -> _ {
    let removed: MembershipStatus = MembershipStatus::Removed;
    memberships::table
        .filter(memberships::organization_id.eq(org_id))
        .filter(memberships::plan_id.eq(plan_id))
        .filter(memberships::status.ne(removed))
}

fn live_users_on(conn: &mut DbConn, org_id: OrgId, plan_id: PlanId) -> QueryResult<i64> {
    on_plan(org_id, plan_id).count().get_result(conn)
}

/// A plan as checked from its form.
pub struct NewPlan {
    pub name: OrgName,
    pub quota: QuotaGb,
    pub is_default: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
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

/// What a handler does not re-render itself: the plan the address names is not there (404);
/// a refusal no handler expects is a fault.
impl From<PlanError> for AppError {
    fn from(error: PlanError) -> Self {
        match error {
            PlanError::NotFound => AppError::NotFound,
            PlanError::Database(e) => e.into(),
            other => AppError::Unexpected(anyhow::anyhow!("a plan change: {other}")),
        }
    }
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
fn make_default(conn: &mut DbConn, org_id: OrgId, plan_id: PlanId) -> QueryResult<()> {
    diesel::update(plans::table.filter(plans::organization_id.eq(org_id)).filter(plans::id.ne(plan_id)))
        .set(plans::is_default.eq(false))
        .execute(conn)?;
    diesel::update(plans::table.find(plan_id)).set(plans::is_default.eq(true)).execute(conn).map(drop)
}

/// The audit event of a plan change, in the organization's trail.
fn record(
    conn: &mut DbConn,
    actor: &Actor,
    action: &'static str,
    plan_name: &str,
    org_id: OrgId,
    details: serde_json::Value,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let org_name = usage(conn, org_id)?.name;
    audit::record(conn, &NewEvent::in_organization(actor, action, plan_name, org_id, &org_name).details(details), now)
}

/// Why moving `users` memberships onto `extra` GB more does not fit, or nothing when it does
/// (and the capacity is then taken).
fn take_quota(conn: &mut DbConn, org_id: OrgId, extra: i64, now: NaiveDateTime) -> QueryResult<Option<String>> {
    if extra == 0 || take_capacity(conn, org_id, 0, extra, now)? {
        return Ok(None);
    }
    Ok(Some(limits(&usage(conn, org_id)?, 0, extra).quota.unwrap_or_default()))
}

pub fn add(
    conn: &mut DbConn,
    actor: &Actor,
    org_id: OrgId,
    new: &NewPlan,
    now: NaiveDateTime,
) -> Result<(), PlanError> {
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
        let id: PlanId = plans::table
            .filter(plans::organization_id.eq(org_id))
            .filter(plans::name_key.eq(new.name.key()))
            .select(plans::id)
            .first(conn)?;
        if new.is_default {
            make_default(conn, org_id, id)?;
        }
        let details = json!({ "after": { "quota_gb": new.quota.gb(), "default": new.is_default } });
        record(conn, actor, "plan.created", new.name.as_str(), org_id, details, now)?;
        Ok(())
    })
}

pub fn edit(
    conn: &mut DbConn,
    actor: &Actor,
    org_id: OrgId,
    plan_id: PlanId,
    new: &NewPlan,
    now: NaiveDateTime,
) -> Result<(), PlanError> {
    db::write_transaction(conn, |conn| {
        // The same lock as user edits: without it, a user moved onto this plan between the
        // count below and the update of the plan's users would get the new quota unpaid for.
        lock_organization(conn, org_id)?;
        let before = find(conn, org_id, plan_id)?.ok_or(PlanError::NotFound)?;
        let users = live_users_on(conn, org_id, plan_id)?;
        if let Some(why) = take_quota(conn, org_id, (new.quota.gb() - before.quota_gb) * users, now)? {
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
        diesel::update(on_plan(org_id, plan_id))
            .set((memberships::quota_gb.eq(new.quota.gb()), memberships::updated_at.eq(now)))
            .execute(conn)?;
        if new.is_default {
            make_default(conn, org_id, plan_id)?;
        } else if before.is_default {
            diesel::update(plans::table.find(plan_id)).set(plans::is_default.eq(false)).execute(conn)?;
        }
        let details = json!({
            "before": { "name": before.name, "quota_gb": before.quota_gb, "default": before.is_default },
            "after": { "name": new.name.as_str(), "quota_gb": new.quota.gb(), "default": new.is_default },
            "users": users,
        });
        record(conn, actor, "plan.updated", new.name.as_str(), org_id, details, now)?;
        Ok(())
    })
}

/// Where a plan's users go when it is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveTo {
    /// Not asked yet: refuse while the plan is in use.
    Unset,
    /// Off plans, each keeping the quota they have.
    NoPlan,
    Plan(PlanId),
}

pub fn remove(
    conn: &mut DbConn,
    actor: &Actor,
    org_id: OrgId,
    plan_id: PlanId,
    move_to: MoveTo,
    now: NaiveDateTime,
) -> Result<String, PlanError> {
    db::write_transaction(conn, |conn| {
        lock_organization(conn, org_id)?;
        let plan = find(conn, org_id, plan_id)?.ok_or(PlanError::NotFound)?;
        let users = live_users_on(conn, org_id, plan_id)?;
        match move_to {
            MoveTo::Unset if users > 0 => return Err(PlanError::InUse { name: plan.name, users }),
            MoveTo::Plan(target) if target == plan_id => return Err(PlanError::InUse { name: plan.name, users }),
            MoveTo::Plan(target) if users > 0 => {
                let target = find(conn, org_id, target)?.ok_or(PlanError::NotFound)?;
                if let Some(why) = take_quota(conn, org_id, (target.quota_gb - plan.quota_gb) * users, now)? {
                    return Err(PlanError::Quota(format!(
                        "Moving {} users to “{}”: {why}",
                        group_thousands(users),
                        target.name
                    )));
                }
                diesel::update(on_plan(org_id, plan_id))
                    .set((
                        memberships::plan_id.eq(Some(target.id)),
                        memberships::quota_gb.eq(target.quota_gb),
                        memberships::updated_at.eq(now),
                    ))
                    .execute(conn)?;
            }
            _ => {
                diesel::update(on_plan(org_id, plan_id))
                    .set((memberships::plan_id.eq(None::<PlanId>), memberships::updated_at.eq(now)))
                    .execute(conn)?;
            }
        }
        // Removed memberships keep their history, not the plan.
        diesel::update(memberships::table.filter(memberships::plan_id.eq(plan_id)))
            .set(memberships::plan_id.eq(None::<PlanId>))
            .execute(conn)?;
        diesel::delete(plans::table.find(plan_id)).execute(conn)?;
        let details =
            json!({ "users_moved": users, "moved_to": match move_to { MoveTo::Plan(id) => Some(id), _ => None } });
        record(conn, actor, "plan.deleted", &plan.name, org_id, details, now)?;
        Ok(plan.name)
    })
}
