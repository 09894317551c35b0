//! Memberships of one organization: every query takes the organization id that `OrgAdmin`
//! checked, and every id from a form (`plan_id`, `account_id`) is looked up within it.
//!
//! Seats and quota are decided by a conditional UPDATE of the organization's counters in the
//! same transaction as the membership change (`super::capacity`): of two administrators adding
//! at once, the one whose update no longer fits is refused. Every change to memberships, plans
//! or the invitation emails of one organization runs under a per-organization lock
//! (`lock_organization`): two Delegates removing each other at the same instant leave one, a
//! plan's quota change and a user's never pass the organization's quota together, and
//! concurrent adds cannot pass the mail limit together.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::capacity::{limits, lock_organization, take_capacity, usage, Limits, OrgUsage};
use super::forms::{Allocation, MemberSettings};
use crate::audit::{self, Actor, NewEvent};
use crate::db::schema::{accounts, memberships, plans};
use crate::db::{self, DbConn};
use crate::domain::{AccountId, AccountStatus, EmailAddress, MembershipStatus, OrgId, PlanId};
use crate::error::AppError;
use crate::mail::limits::{self, Limited};
use crate::mail::{self, messages, Site};
use crate::registration;

/// Why a membership change was refused.
#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error("already a member")]
    AlreadyMember,
    #[error("{0}")]
    Limits(Limits),
    #[error("no such plan in this organization")]
    UnknownPlan,
    #[error("no such membership")]
    NotFound,
    #[error("This is the organization's last active administrator; make someone else an administrator first.")]
    LastDelegate,
    #[error("{0}")]
    WrongState(&'static str),
    /// An email limit: too many invitations from this organization this hour, or a resend
    /// too soon after the last one.
    #[error("{}", .0.message)]
    MailLimit(Limited),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// What a handler does not re-render itself: the membership the address names is not there
/// (404), a refusal about its state (409), an email limit (429).
impl From<MemberError> for AppError {
    fn from(error: MemberError) -> Self {
        match error {
            MemberError::NotFound => AppError::NotFound,
            MemberError::MailLimit(limited) => AppError::TooManyRequests { retry_after_secs: limited.retry_after_secs },
            MemberError::Database(e) => e.into(),
            refused => AppError::Conflict(refused.to_string()),
        }
    }
}

/// The quota an allocation gives, with the plan (checked to belong to this organization).
fn resolve(conn: &mut DbConn, org_id: OrgId, allocation: Allocation) -> Result<(i64, Option<PlanId>), MemberError> {
    match allocation {
        Allocation::Custom(quota) => Ok((quota.gb(), None)),
        Allocation::Plan(plan_id) => {
            let quota: Option<i64> = plans::table
                .filter(plans::id.eq(plan_id))
                .filter(plans::organization_id.eq(org_id))
                .select(plans::quota_gb)
                .first(conn)
                .optional()?;
            quota.map(|gb| (gb, Some(plan_id))).ok_or(MemberError::UnknownPlan)
        }
    }
}

/// A membership's flags and quota as stored: what Add and Edit write, and what the list, the
/// CSV and the edit form read back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = memberships)]
pub struct StoredSettings {
    pub is_delegate: bool,
    pub unsigned_containers: bool,
    pub release_protections: bool,
    pub recover: bool,
    pub no_second_factor: bool,
    pub quota_gb: i64,
}

impl StoredSettings {
    fn of(settings: &MemberSettings, quota_gb: i64) -> Self {
        Self {
            is_delegate: settings.delegate,
            unsigned_containers: settings.unsigned_containers,
            release_protections: settings.release_protections,
            recover: settings.recover,
            no_second_factor: settings.no_second_factor,
            quota_gb,
        }
    }

    /// The flags that are set, as readable badges.
    pub fn badges(&self) -> Vec<&'static str> {
        [
            (self.is_delegate, "Delegate"),
            (self.unsigned_containers, "Unsigned Containers"),
            (self.release_protections, "Release Protections"),
            (self.recover, "Recover"),
            (self.no_second_factor, "No 2nd Factor"),
        ]
        .into_iter()
        .filter_map(|(set, label)| set.then_some(label))
        .collect()
    }

    /// As the audit trail records it, with the plan.
    fn json(&self, plan_id: Option<PlanId>) -> serde_json::Value {
        json!({
            "delegate": self.is_delegate,
            "unsigned_containers": self.unsigned_containers,
            "release_protections": self.release_protections,
            "recover": self.recover,
            "no_second_factor": self.no_second_factor,
            "quota_gb": self.quota_gb,
            "plan_id": plan_id,
        })
    }
}

/// The live (not removed) membership of `account_id` in this organization.
#[derive(Debug, Clone, Queryable)]
pub struct Live {
    pub id: i64,
    pub email: String,
    /// Empty when the account has not given a name.
    pub display_name: String,
    pub account_status: AccountStatus,
    pub status: MembershipStatus,
    pub settings: StoredSettings,
    pub plan_id: Option<PlanId>,
}

pub fn live(conn: &mut DbConn, org_id: OrgId, account_id: AccountId) -> QueryResult<Option<Live>> {
    memberships::table
        .inner_join(accounts::table)
        .filter(memberships::organization_id.eq(org_id))
        .filter(memberships::account_id.eq(account_id))
        .filter(memberships::status.ne(MembershipStatus::Removed))
        .select((
            memberships::id,
            accounts::email,
            accounts::display_name,
            accounts::status,
            memberships::status,
            StoredSettings::as_select(),
            memberships::plan_id,
        ))
        .first(conn)
        .optional()
}

/// Active Delegates other than `except`.
fn other_active_delegates(conn: &mut DbConn, org_id: OrgId, except: AccountId) -> QueryResult<i64> {
    memberships::table
        .filter(memberships::organization_id.eq(org_id))
        .filter(memberships::status.eq(MembershipStatus::Active))
        .filter(memberships::is_delegate.eq(true))
        .filter(memberships::account_id.ne(except))
        .count()
        .get_result(conn)
}

/// What Add and Edit both write of a membership. A plan of `None` is stored as NULL (off
/// plans), never skipped.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = memberships, treat_none_as_null = true, treat_none_as_default_value = false)]
struct SettingsColumns {
    #[diesel(embed)]
    settings: StoredSettings,
    plan_id: Option<PlanId>,
    updated_at: NaiveDateTime,
}

/// A person joining an organization: Add user, and the first administrator of a new
/// organization. The one place a membership row is written.
#[derive(Debug, Clone, Copy)]
pub struct NewMembership {
    pub org_id: OrgId,
    pub account_id: AccountId,
    pub status: MembershipStatus,
    pub settings: StoredSettings,
    pub plan_id: Option<PlanId>,
    pub at: NaiveDateTime,
}

pub fn insert_membership(conn: &mut DbConn, new: NewMembership) -> QueryResult<()> {
    let NewMembership { org_id, account_id, status, settings, plan_id, at } = new;
    diesel::insert_into(memberships::table)
        .values((
            memberships::organization_id.eq(org_id),
            memberships::account_id.eq(account_id),
            memberships::status.eq(status),
            memberships::created_at.eq(at),
            SettingsColumns { settings, plan_id, updated_at: at },
        ))
        .execute(conn)
        .map(drop)
}

/// One administrator's change to one membership of the organization `OrgAdmin` checked.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub actor: &'a Actor,
    pub org_id: OrgId,
    pub account_id: AccountId,
    pub now: NaiveDateTime,
}

impl Change<'_> {
    /// Runs `work` on the live membership in one transaction, under the organization's lock.
    fn on_live<T>(
        &self,
        conn: &mut DbConn,
        work: impl FnOnce(&mut DbConn, Live) -> Result<T, MemberError>,
    ) -> Result<T, MemberError> {
        db::write_transaction(conn, |conn| {
            lock_organization(conn, self.org_id)?;
            let before = live(conn, self.org_id, self.account_id)?.ok_or(MemberError::NotFound)?;
            work(conn, before)
        })
    }

    /// The organization event of this change to `email`'s membership.
    fn record(
        &self,
        conn: &mut DbConn,
        action: &'static str,
        email: &str,
        org_name: &str,
        details: serde_json::Value,
    ) -> QueryResult<()> {
        let event = NewEvent::in_organization(self.actor, action, email, self.org_id, org_name).details(details);
        audit::record(conn, &event, self.now)
    }
}

/// Add user. Every address starts `invited` with a link (`/register/{token}`): a new one
/// registers through it, one that already has an account accepts through it. The membership,
/// the audit event and the outbox row (kind, recipient, subject) are the same in both cases,
/// so nothing a Delegate sees tells whether the address had an account before.
pub fn add(
    conn: &mut DbConn,
    site: &Site,
    actor: &Actor,
    org_id: OrgId,
    email: &EmailAddress,
    settings: &MemberSettings,
    now: NaiveDateTime,
) -> Result<(), MemberError> {
    db::write_transaction(conn, |conn| {
        lock_organization(conn, org_id)?;
        let org = usage(conn, org_id)?;
        let (quota, plan_id) = resolve(conn, org_id, settings.allocation)?;
        // Every add sends an invitation: checked before the address is looked up, so the
        // answer is the same whoever it is.
        if let Some(limited) = limits::check_invitations(conn, org_id.get(), site.invitations_per_hour, now)? {
            return Err(MemberError::MailLimit(limited));
        }
        let (account_id, account_status, _) =
            crate::platform::orgs::queries::find_or_invite_account(conn, email, false, now)?;
        if live(conn, org_id, account_id)?.is_some() {
            return Err(MemberError::AlreadyMember);
        }
        if !take_capacity(conn, org_id, 1, quota, now)? {
            return Err(MemberError::Limits(limits(&usage(conn, org_id)?, 1, quota)));
        }
        let status = MembershipStatus::Invited;
        let stored = StoredSettings::of(settings, quota);
        insert_membership(conn, NewMembership { org_id, account_id, status, settings: stored, plan_id, at: now })
            .map_err(|e| if db::is_unique_violation(&e) { MemberError::AlreadyMember } else { e.into() })?;
        let link = registration::issue(conn, site, account_id, Some(org_id), now)?;
        let message = invitation_message(site, email.as_str(), account_status, org_id, &org, &link);
        mail::enqueue(conn, site, &message, now, now)?;
        let change = Change { actor, org_id, account_id, now };
        let details = json!({ "status": status, "after": stored.json(plan_id) });
        change.record(conn, "membership.added", email.as_str(), &org.name, details)?;
        Ok(())
    })
}

/// The invitation to `to`: set up an account, or accept with the one they have. Both carry
/// the same kind and subject; only the recipient reads the body.
fn invitation_message(
    site: &Site,
    to: &str,
    account_status: AccountStatus,
    org_id: OrgId,
    org: &OrgUsage,
    link: &registration::IssuedLink,
) -> mail::Email {
    messages::user_invitation(
        site,
        &messages::Invitation {
            to,
            org_id: org_id.get(),
            org_name: &org.name,
            help: &org.admin_email,
            link: &link.url,
            expires_at: link.expires_at,
            has_account: account_status == AccountStatus::Active,
        },
    )
}

/// Edit user: flags and quota (or plan). Demoting the last active Delegate is refused.
pub fn edit(conn: &mut DbConn, change: Change<'_>, settings: &MemberSettings) -> Result<(), MemberError> {
    let Change { org_id, account_id, now, .. } = change;
    change.on_live(conn, |conn, before| {
        let (quota, plan_id) = resolve(conn, org_id, settings.allocation)?;
        let was = before.settings;
        let demoted = was.is_delegate && !settings.delegate && before.status == MembershipStatus::Active;
        if demoted && other_active_delegates(conn, org_id, account_id)? == 0 {
            return Err(MemberError::LastDelegate);
        }
        let extra = quota - was.quota_gb;
        if extra != 0 && !take_capacity(conn, org_id, 0, extra, now)? {
            return Err(MemberError::Limits(limits(&usage(conn, org_id)?, 0, extra)));
        }
        let stored = StoredSettings::of(settings, quota);
        diesel::update(memberships::table.find(before.id))
            .set(SettingsColumns { settings: stored, plan_id, updated_at: now })
            .execute(conn)?;
        let org_name = usage(conn, org_id)?.name;
        let details = json!({ "before": was.json(before.plan_id), "after": stored.json(plan_id) });
        change.record(conn, "membership.updated", &before.email, &org_name, details)?;
        Ok(())
    })
}

/// Remove: the membership stays, as `removed`, with who and when; its seat and quota are
/// freed and its pending registration link from this organization is withdrawn.
pub fn remove(conn: &mut DbConn, change: Change<'_>) -> Result<String, MemberError> {
    end_membership(conn, change, false)
}

/// Revoke invitation: an invitation not yet used ends like Remove (`removed`, seat and quota
/// freed, this organization's link withdrawn). Anything past `invited` is refused.
pub fn revoke(conn: &mut DbConn, change: Change<'_>) -> Result<String, MemberError> {
    end_membership(conn, change, true)
}

/// Remove and Revoke: one path, under the organization's lock, so both free capacity alike.
fn end_membership(conn: &mut DbConn, change: Change<'_>, only_invited: bool) -> Result<String, MemberError> {
    let Change { actor, org_id, account_id, now } = change;
    change.on_live(conn, |conn, before| {
        if only_invited && before.status != MembershipStatus::Invited {
            return Err(MemberError::WrongState(
                "Only an invitation not yet used can be revoked; this person already registered or accepted it. Use Remove instead.",
            ));
        }
        // The status is part of the condition, so a registration racing the revoke loses or wins whole.
        let from = if only_invited {
            vec![MembershipStatus::Invited]
        } else {
            vec![MembershipStatus::Invited, MembershipStatus::AwaitingValidation, MembershipStatus::Active]
        };
        if before.settings.is_delegate
            && before.status == MembershipStatus::Active
            && other_active_delegates(conn, org_id, account_id)? == 0
        {
            return Err(MemberError::LastDelegate);
        }
        let removed = diesel::update(memberships::table.find(before.id).filter(memberships::status.eq_any(from)))
            .set((
                memberships::status.eq(MembershipStatus::Removed),
                memberships::removed_at.eq(Some(now)),
                memberships::removed_by.eq(actor.id),
                memberships::updated_at.eq(now),
            ))
            .execute(conn)?;
        if removed != 1 {
            return Err(if only_invited {
                MemberError::WrongState("Only an invitation not yet used can be revoked.")
            } else {
                MemberError::NotFound
            });
        }
        let quota_gb = before.settings.quota_gb;
        take_capacity(conn, org_id, -1, -quota_gb, now)?;
        // Only this organization's link: another organization's invitation of the same
        // person, or a platform administrator's, stays valid.
        registration::withdraw(conn, account_id, org_id, now)?;
        let org_name = usage(conn, org_id)?.name;
        let details = json!({ "status_before": before.status, "quota_gb": quota_gb });
        let action = if only_invited { "membership.invitation_revoked" } else { "membership.removed" };
        change.record(conn, action, &before.email, &org_name, details)?;
        Ok(before.email)
    })
}

/// Validate: `awaiting_validation` → `active`, and the person is told the account is ready.
pub fn validate(conn: &mut DbConn, site: &Site, change: Change<'_>) -> Result<String, MemberError> {
    let Change { org_id, now, .. } = change;
    change.on_live(conn, |conn, before| {
        let changed = diesel::update(
            memberships::table.find(before.id).filter(memberships::status.eq(MembershipStatus::AwaitingValidation)),
        )
        .set((memberships::status.eq(MembershipStatus::Active), memberships::updated_at.eq(now)))
        .execute(conn)?;
        if changed != 1 {
            return Err(MemberError::WrongState("Only a membership awaiting validation can be validated."));
        }
        let org = usage(conn, org_id)?;
        let message = messages::account_validated(
            site,
            &before.email,
            Some(before.display_name.as_str()),
            org_id.get(),
            &org.name,
            &org.admin_email,
        );
        mail::enqueue(conn, site, &message, now, now)?;
        change.record(conn, "membership.validated", &before.email, &org.name, no_details())?;
        Ok(before.email)
    })
}

/// Resend invitation: a fresh registration link, which supersedes the earlier link from this
/// organization (and no other's). At most once a minute per person, within the
/// organization's hourly limit of invitation emails.
pub fn resend(conn: &mut DbConn, site: &Site, change: Change<'_>) -> Result<String, MemberError> {
    let Change { org_id, account_id, now, .. } = change;
    change.on_live(conn, |conn, before| {
        if before.status != MembershipStatus::Invited {
            return Err(MemberError::WrongState("Only an invitation not yet accepted can be sent again."));
        }
        if let Some(limited) = limits::check_resend(registration::last_resent_at(conn, account_id, Some(org_id))?, now)
        {
            return Err(MemberError::MailLimit(limited));
        }
        if let Some(limited) = limits::check_invitations(conn, org_id.get(), site.invitations_per_hour, now)? {
            return Err(MemberError::MailLimit(limited));
        }
        let org = usage(conn, org_id)?;
        let link = registration::reissue(conn, site, account_id, Some(org_id), now)?;
        let message = invitation_message(site, &before.email, before.account_status, org_id, &org, &link);
        mail::enqueue(conn, site, &message, now, now)?;
        change.record(conn, "membership.invitation_resent", &before.email, &org.name, no_details())?;
        Ok(before.email)
    })
}

/// What an event without before/after details stores.
fn no_details() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}
