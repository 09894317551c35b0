//! The removal request in the database. Every decision that two administrators could race on
//! is made by a conditional write whose row count decides: the request's primary key for
//! Initiate, a conditional DELETE of the request for Cancel, Decline and Approve.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::{exists, not};
use diesel::prelude::*;
use serde_json::json;

use super::state::{self, Action, Refusal, Request};
use crate::app::Act;
use crate::audit::{self, Actor, NewEvent};
use crate::db::schema::{accounts, invitations, memberships, organizations, removal_requests};
use crate::db::{self, org_index, DbConn};
use crate::domain::{AccountStatus, OrgId};
use crate::error::{refusals, Failure};
use crate::mail;
use crate::mail::messages::{self, Withdrawal};
use crate::platform::properties;

/// What the removal page shows about the organization: what would be lost.
#[derive(Debug, Clone, Queryable)]
pub struct OrgAtStake {
    pub id: OrgId,
    pub name: String,
    pub contact_email: String,
    pub quota_gb: i64,
    pub seats: Option<i64>,
    pub member_count: i64,
    pub quota_allocated_gb: i64,
    pub created_at: NaiveDateTime,
}

/// A stored request with what the page says about it.
#[derive(Debug, Clone, Queryable)]
pub struct StoredRequest {
    pub initiated_by: i64,
    pub initiated_by_email: String,
    pub initiated_at: NaiveDateTime,
    pub actionable_at: NaiveDateTime,
    pub notified_contact: String,
}

impl StoredRequest {
    pub fn rules(&self) -> Request {
        Request { initiated_by: self.initiated_by, actionable_at: self.actionable_at }
    }
}

/// Everything the removal page needs, read in one go.
#[derive(Debug, Clone)]
pub struct RemovalView {
    pub org: OrgAtStake,
    pub request: Option<StoredRequest>,
    pub pending_invitations: i64,
    pub notice_days: Option<properties::NoticeDays>,
}

fn org_at_stake(conn: &mut DbConn, org_id: OrgId) -> QueryResult<Option<OrgAtStake>> {
    organizations::table
        .find(org_id)
        .select((
            organizations::id,
            organizations::name,
            organizations::contact_email,
            organizations::quota_gb,
            organizations::seats,
            organizations::member_count,
            organizations::quota_allocated_gb,
            organizations::created_at,
        ))
        .first(conn)
        .optional()
}

fn stored_request(conn: &mut DbConn, org_id: OrgId) -> QueryResult<Option<StoredRequest>> {
    removal_requests::table
        .find(org_id)
        .select((
            removal_requests::initiated_by,
            removal_requests::initiated_by_email,
            removal_requests::initiated_at,
            removal_requests::actionable_at,
            removal_requests::notified_contact,
        ))
        .first(conn)
        .optional()
}

pub fn view(conn: &mut DbConn, org_id: OrgId) -> QueryResult<Option<RemovalView>> {
    let Some(org) = org_at_stake(conn, org_id)? else { return Ok(None) };
    let request = stored_request(conn, org_id)?;
    let pending_invitations =
        invitations::table.filter(invitations::organization_id.eq(org_id.get())).count().get_result(conn)?;
    let notice_days = properties::days_to_action_removal(conn)?;
    Ok(Some(RemovalView { org, request, pending_invitations, notice_days }))
}

/// The requests of the organizations on one page of the list.
pub fn requests_among(conn: &mut DbConn, org_ids: &[i64]) -> QueryResult<HashMap<i64, Request>> {
    let (Some(&low), Some(&high)) = (org_ids.iter().min(), org_ids.iter().max()) else {
        return Ok(HashMap::new());
    };
    // A range rather than `IN (…)`: the statement has the same text for every page, so it is
    // prepared once per connection; rows in the range but not on the page are dropped below.
    let rows: Vec<(i64, i64, NaiveDateTime)> = removal_requests::table
        .filter(removal_requests::organization_id.between(low, high))
        .select((removal_requests::organization_id, removal_requests::initiated_by, removal_requests::actionable_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(org, _, _)| org_ids.contains(org))
        .map(|(org, initiated_by, actionable_at)| (org, Request { initiated_by, actionable_at }))
        .collect())
}

#[derive(Debug, thiserror::Error)]
pub enum ActError {
    #[error("{0}")]
    Refused(Refusal),
    #[error("the organization does not exist")]
    OrgGone,
}

refusals!(ActError);

/// What Initiate did.
#[derive(Debug, Clone)]
pub struct Initiated {
    pub org_name: String,
    /// The contact person told of it, if any.
    pub notified: Option<String>,
    pub actionable_at: NaiveDateTime,
}

fn viewer(actor: &Actor) -> i64 {
    // Requests come from signed-in administrators; 0 matches no account.
    actor.id.unwrap_or(0)
}

/// Active platform administrators other than `except`: who is asked to approve.
fn other_admins(conn: &mut DbConn, except: i64) -> QueryResult<Vec<String>> {
    accounts::table
        .filter(accounts::is_platform_admin.eq(true))
        .filter(accounts::status.eq(AccountStatus::Active))
        .filter(accounts::id.ne(except))
        .order(accounts::email.asc())
        .select(accounts::email)
        .load(conn)
}

/// The audit event of a removal step, on the platform's trail and the organization's.
fn record(
    conn: &mut DbConn,
    actor: &Actor,
    action: &'static str,
    org: &OrgAtStake,
    details: serde_json::Value,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let event = NewEvent::platform(actor, action, &org.name).organization(org.id.get(), &org.name).details(details);
    audit::record(conn, &event, now)
}

/// Initiate a removal. With notification (asked for, the property set and a contact person
/// present) the contact person is emailed and the request waits the notice; otherwise it is
/// actionable at once. Either way the other administrators are emailed when it becomes
/// actionable: their messages are queued now, due then, and withdrawn if the request is.
pub fn initiate(
    conn: &mut DbConn,
    act: &Act,
    org_id: OrgId,
    notify_requested: bool,
) -> Result<Initiated, Failure<ActError>> {
    let (site, actor, now) = (&*act.site, &act.actor, act.now);
    let initiator = viewer(actor);
    db::write_transaction(conn, |conn| {
        let org = org_at_stake(conn, org_id)?.ok_or(ActError::OrgGone)?;
        if let Some(existing) = stored_request(conn, org_id)? {
            state::check(Action::Initiate, Some(&existing.rules()), initiator, now).map_err(ActError::Refused)?;
        }
        let notice = properties::days_to_action_removal(conn)?;
        let notify = match notice {
            Some(days) if notify_requested && !org.contact_email.is_empty() => Some(days),
            _ => None,
        };
        let actionable_at = notify.map_or(now, |days| now + chrono::Duration::days(days.days()));
        let notified_contact = if notify.is_some() { org.contact_email.as_str() } else { "" };
        diesel::insert_into(removal_requests::table)
            .values((
                removal_requests::organization_id.eq(org_id),
                removal_requests::initiated_by.eq(initiator),
                removal_requests::initiated_by_email.eq(&actor.email),
                removal_requests::initiated_at.eq(now),
                removal_requests::actionable_at.eq(actionable_at),
                removal_requests::notified_contact.eq(notified_contact),
            ))
            .execute(conn)
            .map_err(|e| {
                // Another administrator initiated between our read and this insert.
                if db::is_unique_violation(&e) {
                    Failure::Refused(ActError::Refused(Refusal::AlreadyRequested))
                } else {
                    e.into()
                }
            })?;
        if let Some(days) = notify {
            let notice =
                messages::removal_notice(site, notified_contact, org_id, &org.name, days.days(), actionable_at);
            mail::enqueue(conn, site, &notice, now, now)?;
        }
        for admin in other_admins(conn, initiator)? {
            let ask = messages::removal_awaits_approval(site, &admin, org_id, &org.name, &actor.email);
            mail::enqueue(conn, site, &ask, actionable_at, now)?;
        }
        let details = json!({
            "notified_contact": (!notified_contact.is_empty()).then_some(notified_contact),
            "actionable_at": actionable_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        });
        record(conn, actor, "organization.removal_initiated", &org, details, now)?;
        Ok(Initiated {
            org_name: org.name,
            notified: (!notified_contact.is_empty()).then(|| notified_contact.to_owned()),
            actionable_at,
        })
    })
}

/// The request is gone or was never there: say which, for a clear answer to a late click.
fn why_not(
    conn: &mut DbConn,
    action: Action,
    org_id: OrgId,
    viewer: i64,
    now: NaiveDateTime,
) -> Result<ActError, Failure<ActError>> {
    if org_at_stake(conn, org_id)?.is_none() {
        return Ok(ActError::OrgGone);
    }
    let request = stored_request(conn, org_id)?;
    Ok(match state::check(action, request.as_ref().map(StoredRequest::rules).as_ref(), viewer, now) {
        Err(refusal) => ActError::Refused(refusal),
        // Allowed now, yet the write found nothing: it changed under us.
        Ok(()) => ActError::Refused(Refusal::NoRequest),
    })
}

/// Cancel (the initiator) or Decline (anyone else). Returns the organization's name.
pub fn withdraw(conn: &mut DbConn, act: &Act, org_id: OrgId, how: Withdrawal) -> Result<String, Failure<ActError>> {
    let (site, actor, now) = (&*act.site, &act.actor, act.now);
    let who = viewer(actor);
    let action = match how {
        Withdrawal::Cancelled => Action::Cancel,
        Withdrawal::Declined => Action::Decline,
    };
    db::write_transaction(conn, |conn| {
        let org = org_at_stake(conn, org_id)?.ok_or(ActError::OrgGone)?;
        let request = stored_request(conn, org_id)?;
        state::check(action, request.as_ref().map(StoredRequest::rules).as_ref(), who, now)
            .map_err(ActError::Refused)?;
        let Some(request) = request else { return Err(ActError::Refused(Refusal::NoRequest).into()) };
        // Conditional on the request read above, so a racing Approve or Cancel decides once.
        let deleted = diesel::delete(
            removal_requests::table
                .filter(removal_requests::organization_id.eq(org_id))
                .filter(removal_requests::initiated_at.eq(request.initiated_at)),
        )
        .execute(conn)?;
        if deleted == 0 {
            return Err(why_not(conn, action, org_id, who, now)?.into());
        }
        let reason = "the removal request was withdrawn before this was due";
        mail::cancel_queued(conn, org_id.get(), messages::REMOVAL_AWAITS_APPROVAL, reason)?;
        if !request.notified_contact.is_empty() {
            let email = messages::removal_withdrawn(site, &request.notified_contact, org_id, &org.name, how);
            mail::enqueue(conn, site, &email, now, now)?;
        }
        let event = match how {
            Withdrawal::Cancelled => "organization.removal_cancelled",
            Withdrawal::Declined => "organization.removal_declined",
        };
        let details = json!({ "initiated_by": request.initiated_by_email });
        record(conn, actor, event, &org, details, now)?;
        Ok(org.name)
    })
}

/// What Approve removed.
#[derive(Debug, Clone)]
pub struct Removed {
    pub org_name: String,
    pub memberships: i64,
    pub accounts_deleted: usize,
}

/// Approve and carry out the removal, in one transaction. The conditional DELETE of the
/// request decides: of several administrators approving at once, exactly one deletes it and
/// goes on to remove the organization; the others find nothing and are told why.
pub fn approve(conn: &mut DbConn, act: &Act, org_id: OrgId) -> Result<Removed, Failure<ActError>> {
    let (site, actor, now) = (&*act.site, &act.actor, act.now);
    let approver = viewer(actor);
    db::write_transaction(conn, |conn| {
        let request = stored_request(conn, org_id)?;
        let won = diesel::delete(
            removal_requests::table
                .filter(removal_requests::organization_id.eq(org_id))
                .filter(removal_requests::initiated_by.ne(approver))
                .filter(removal_requests::actionable_at.le(now)),
        )
        .execute(conn)?;
        let (Some(request), 1) = (request, won) else {
            return Err(why_not(conn, Action::Approve, org_id, approver, now)?.into());
        };
        let org = org_at_stake(conn, org_id)?.ok_or(ActError::OrgGone)?;

        // Accounts whose only memberships are here, unless they run the platform: they would
        // be left belonging nowhere. Memberships elsewhere, even removed ones, keep an
        // account (they are another organization's history).
        let elsewhere = diesel::alias!(memberships as elsewhere);
        let members_here =
            memberships::table.filter(memberships::organization_id.eq(org_id)).select(memberships::account_id);
        let accounts_deleted = diesel::delete(
            accounts::table
                .filter(accounts::is_platform_admin.eq(false))
                .filter(accounts::id.eq_any(members_here))
                .filter(not(exists(
                    elsewhere
                        .filter(elsewhere.field(memberships::account_id).eq(accounts::id))
                        .filter(elsewhere.field(memberships::organization_id).ne(org_id))
                        .select(elsewhere.field(memberships::id)),
                ))),
        )
        .execute(conn)?;
        let memberships_removed =
            diesel::delete(memberships::table.filter(memberships::organization_id.eq(org_id))).execute(conn)? as i64;
        // Invitations and the request go by cascade too; deleting them here keeps that explicit.
        diesel::delete(invitations::table.filter(invitations::organization_id.eq(org_id.get()))).execute(conn)?;
        let removed = diesel::delete(organizations::table.find(org_id)).execute(conn)?;
        if removed != 1 {
            return Err(ActError::OrgGone.into());
        }
        org_index::deleted(conn, org_id.get())?;

        if !request.notified_contact.is_empty() {
            let email = messages::removal_carried_out(site, &request.notified_contact, org_id, &org.name);
            mail::enqueue(conn, site, &email, now, now)?;
        }
        let reason = "the organization was removed before this was due";
        mail::cancel_queued(conn, org_id.get(), messages::REMOVAL_AWAITS_APPROVAL, reason)?;
        let details = json!({
            "initiated_by": request.initiated_by_email,
            "initiated_at": request.initiated_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            "approved_by": actor.email,
            "notified_contact": (!request.notified_contact.is_empty()).then_some(&request.notified_contact),
            "memberships": memberships_removed,
            "accounts_deleted": accounts_deleted,
            "quota_gb": org.quota_gb,
        });
        record(conn, actor, "organization.removed", &org, details, now)?;
        Ok(Removed { org_name: org.name, memberships: memberships_removed, accounts_deleted })
    })
}
