//! Writes of the Add and Edit forms. Limits a concurrent request could overrun are decided by
//! the database (a unique index, a conditional update), not by a read before the write.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::forms::{NewOrg, OrgChanges};
use crate::app::Act;
use crate::audit::{self, NewEvent};
use crate::db::schema::{accounts, organizations};
use crate::db::{self, org_index, DbConn};
use crate::domain::{fold, AccountId, AccountStatus, EmailAddress, MembershipStatus, OrgId};
use crate::error::{refusals, Failure};
use crate::mail::{self, messages};
use crate::org_admin::users::queries::{insert_membership, NewMembership, StoredSettings};
use crate::registration;

/// Another organization has this name (names are compared ignoring case).
#[derive(Debug, thiserror::Error)]
#[error("an organization with this name exists")]
pub struct NameTaken;

/// Why an edit was refused.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("an organization with this name exists")]
    NameTaken,
    #[error("below what is in use")]
    BelowUsage { quota_allocated: Option<i64>, seats_used: Option<i64> },
    #[error("no such organization")]
    NotFound,
}

refusals!(NameTaken, SaveError);

/// The unique index on names decides a race the check before the write did not see.
fn name_taken_or<R>(error: diesel::result::Error, taken: R) -> Failure<R> {
    if db::violates_unique_index(&error, "organizations_name_key") {
        Failure::Refused(taken)
    } else {
        error.into()
    }
}

/// The organization as its edit form and audit events see it.
#[derive(Debug, Clone, Queryable)]
pub struct OrgForEdit {
    pub id: OrgId,
    pub name: String,
    pub quota_gb: i64,
    pub seats: Option<i64>,
    pub is_default: bool,
    pub contact_email: String,
    pub admin_email: String,
    pub quota_allocated_gb: i64,
    pub member_count: i64,
}

pub fn load_for_edit(conn: &mut DbConn, org_id: OrgId) -> QueryResult<Option<OrgForEdit>> {
    organizations::table
        .find(org_id)
        .select((
            organizations::id,
            organizations::name,
            organizations::quota_gb,
            organizations::seats,
            organizations::is_default,
            organizations::contact_email,
            organizations::admin_email,
            organizations::quota_allocated_gb,
            organizations::member_count,
        ))
        .first(conn)
        .optional()
}

fn name_taken(conn: &mut DbConn, name_key: &str, except: Option<OrgId>) -> QueryResult<bool> {
    // Ids start at 1, so 0 excludes nothing.
    let query = organizations::table
        .filter(organizations::name_key.eq(name_key))
        .filter(organizations::id.ne(except.unwrap_or(OrgId(0))))
        .select(organizations::id);
    diesel::select(diesel::dsl::exists(query)).get_result(conn)
}

/// The account with this email, created as invited when unknown. Returns (id, status).
pub fn find_or_invite_account(
    conn: &mut DbConn,
    email: &EmailAddress,
    is_platform_admin: bool,
    now: NaiveDateTime,
) -> QueryResult<(AccountId, AccountStatus, bool)> {
    let existing: Option<(AccountId, AccountStatus)> = accounts::table
        .filter(accounts::email.eq(email.as_str()))
        .select((accounts::id, accounts::status))
        .first(conn)
        .optional()?;
    if let Some((id, status)) = existing {
        return Ok((id, status, false));
    }
    diesel::insert_into(accounts::table)
        .values((
            accounts::email.eq(email.as_str()),
            accounts::status.eq(AccountStatus::Invited),
            accounts::is_platform_admin.eq(is_platform_admin),
            accounts::created_at.eq(now),
            accounts::updated_at.eq(now),
        ))
        .execute(conn)?;
    let id = accounts::table.filter(accounts::email.eq(email.as_str())).select(accounts::id).first(conn)?;
    Ok((id, AccountStatus::Invited, true))
}

/// Add an organization with its first administrator (a Delegate at Account Quota 0).
pub fn insert_org(conn: &mut DbConn, act: &Act, new: &NewOrg) -> Result<i64, Failure<NameTaken>> {
    let (site, actor, now) = (&*act.site, &act.actor, act.now);
    db::write_transaction(conn, |conn| {
        crate::platform::ldap::interlock::check_new_organization(conn)?;
        // The unique index decides races; this check only spares the common case an error.
        if name_taken(conn, new.name.key(), None)? {
            return Err(NameTaken.into());
        }
        let admin = new.administrator.as_str();
        diesel::insert_into(organizations::table)
            .values((
                organizations::name.eq(new.name.as_str()),
                organizations::name_key.eq(new.name.key()),
                organizations::contact_email.eq(admin),
                organizations::contact_key.eq(fold(admin)),
                organizations::admin_email.eq(admin),
                organizations::quota_gb.eq(new.quota.gb()),
                organizations::seats.eq(new.seats.as_option()),
                organizations::member_count.eq(1i64),
                organizations::created_at.eq(now),
                organizations::updated_at.eq(now),
            ))
            .execute(conn)
            .map_err(|e| name_taken_or(e, NameTaken))?;
        let org_id: i64 = organizations::table
            .filter(organizations::name_key.eq(new.name.key()))
            .select(organizations::id)
            .first(conn)?;
        org_index::inserted(conn, org_id)?;

        let (account_id, account_status, invited) = find_or_invite_account(conn, &new.administrator, false, now)?;
        // Named by a platform administrator: no validation step; active once registered.
        let membership_status =
            if account_status == AccountStatus::Active { MembershipStatus::Active } else { MembershipStatus::Invited };
        let first_administrator = StoredSettings { is_delegate: true, ..StoredSettings::default() };
        insert_membership(
            conn,
            NewMembership {
                org_id: OrgId(org_id),
                account_id,
                status: membership_status,
                settings: first_administrator,
                plan_id: None,
                at: now,
            },
        )?;
        // An account that never registered gets a (fresh) registration link; one that can
        // sign in is told where to find its new organization.
        let email = if account_status == AccountStatus::Invited {
            let link = registration::issue_activating(conn, site, account_id, OrgId(org_id), now)?;
            messages::organization_admin_invitation(
                site,
                admin,
                OrgId(org_id),
                new.name.as_str(),
                &link.url,
                link.expires_at,
            )
        } else {
            messages::added_as_organization_admin(site, admin, OrgId(org_id), new.name.as_str())
        };
        mail::enqueue(conn, site, &email, now, now)?;

        let details = json!({
            "after": {
                "name": new.name.as_str(),
                "quota_gb": new.quota.gb(),
                "seats": new.seats.as_option(),
                "administrator": admin,
                "administrator_account": if invited { "invited" } else { "existing" },
            }
        });
        audit::record(
            conn,
            &NewEvent::platform(actor, "organization.created", new.name.as_str())
                .organization(org_id, new.name.as_str())
                .details(details),
            now,
        )?;
        Ok(org_id)
    })
}

/// Change an organization. Quota and seats cannot go below what is in use: the update only
/// happens while the usage still fits, so a concurrent add cannot slip past it.
pub fn update_org(conn: &mut DbConn, act: &Act, org_id: OrgId, changes: &OrgChanges) -> Result<(), Failure<SaveError>> {
    let (actor, now) = (&act.actor, act.now);
    db::write_transaction(conn, |conn| {
        let before = load_for_edit(conn, org_id)?.ok_or(SaveError::NotFound)?;
        if name_taken(conn, changes.name.key(), Some(org_id))? {
            return Err(SaveError::NameTaken.into());
        }
        let new_quota = changes.quota.gb();
        let seat_limit = changes.seats.as_option().unwrap_or(i64::MAX);
        let contact = changes.contact.as_ref().map(EmailAddress::as_str);
        let updated = diesel::update(organizations::table)
            .filter(organizations::id.eq(org_id))
            .filter(organizations::quota_allocated_gb.le(new_quota))
            .filter(organizations::member_count.le(seat_limit))
            .set((
                organizations::name.eq(changes.name.as_str()),
                organizations::name_key.eq(changes.name.key()),
                organizations::quota_gb.eq(new_quota),
                organizations::seats.eq(changes.seats.as_option()),
                organizations::contact_email.eq(contact.unwrap_or(&before.contact_email)),
                organizations::contact_key.eq(fold(contact.unwrap_or(&before.contact_email))),
                organizations::admin_email.eq(contact.unwrap_or(&before.admin_email)),
                organizations::updated_at.eq(now),
            ))
            .execute(conn)
            .map_err(|e| name_taken_or(e, SaveError::NameTaken))?;
        if updated > 0 {
            org_index::updated(conn, org_id.get())?;
        }
        if updated == 0 {
            let now_in_use = load_for_edit(conn, org_id)?.ok_or(SaveError::NotFound)?;
            return Err(Failure::Refused(SaveError::BelowUsage {
                quota_allocated: (now_in_use.quota_allocated_gb > new_quota).then_some(now_in_use.quota_allocated_gb),
                seats_used: changes
                    .seats
                    .as_option()
                    .filter(|seats| now_in_use.member_count > *seats)
                    .map(|_| now_in_use.member_count),
            }));
        }
        let details = json!({
            "before": { "name": before.name, "quota_gb": before.quota_gb, "seats": before.seats, "contact": before.contact_email },
            "after": {
                "name": changes.name.as_str(),
                "quota_gb": new_quota,
                "seats": changes.seats.as_option(),
                "contact": contact.unwrap_or(&before.contact_email),
            },
        });
        audit::record(
            conn,
            &NewEvent::platform(actor, "organization.updated", changes.name.as_str())
                .organization(org_id.get(), changes.name.as_str())
                .details(details),
            now,
        )?;
        Ok(())
    })
}
