//! Platform administrators: list, add by email, remove (never yourself, never the last one),
//! and the pending invitations: resend and revoke.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::app::Act;
use crate::audit::{self, Actor, NewEvent};
use crate::db::schema::{accounts, memberships};
use crate::db::{self, DbConn};
use crate::domain::{AccountId, AccountStatus, EmailAddress};
use crate::error::{refusals, Failure};
use crate::mail::limits::{self, Limited};
use crate::mail::{self, messages};
use crate::registration;

/// Advisory-lock key serialising removals on PostgreSQL, so two administrators removing each
/// other at the same instant cannot both succeed (SQLite's BEGIN IMMEDIATE serialises already).
const ADMIN_REMOVAL_LOCK: i64 = 0x6f72_6770_0002;

#[derive(Debug, Clone, Queryable)]
pub struct AdminRow {
    pub id: i64,
    pub email: String,
    pub status: AccountStatus,
    pub created_at: NaiveDateTime,
    /// When the platform's live registration link to this account expires, if it has one.
    pub link_expires_at: Option<NaiveDateTime>,
    /// Whether the account has a confirmed second factor.
    pub has_second_factor: bool,
}

impl AdminRow {
    /// An invitation not yet used: Resend and Revoke apply.
    pub fn is_pending(&self) -> bool {
        self.status == AccountStatus::Invited
    }
}

/// Every platform administrator, with the expiry of a pending invitation's link, in one query.
pub fn list(conn: &mut DbConn) -> QueryResult<Vec<AdminRow>> {
    let link_expires_at = diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Timestamp>>(
        "(SELECT MAX(invitations.expires_at) FROM invitations \
         WHERE invitations.account_id = accounts.id AND invitations.organization_id IS NULL)",
    );
    let has_second_factor = diesel::dsl::sql::<diesel::sql_types::Bool>(
        "EXISTS (SELECT 1 FROM totp_secrets \
         WHERE totp_secrets.account_id = accounts.id AND totp_secrets.confirmed)",
    );
    accounts::table
        .filter(accounts::is_platform_admin.eq(true))
        .order((accounts::email.asc(), accounts::id.asc()))
        .select((
            accounts::id,
            accounts::email,
            accounts::status,
            accounts::created_at,
            link_expires_at,
            has_second_factor,
        ))
        .load(conn)
}

/// Why an act on a pending administrator invitation was refused.
#[derive(Debug, thiserror::Error)]
pub enum PendingError {
    #[error("This account is not a platform administrator.")]
    NotAdmin,
    #[error("Only an invitation not yet used can be resent or revoked; this administrator already registered.")]
    NotPending,
    #[error("{}", .0.message)]
    MailLimit(Limited),
}

/// The email of a platform administrator still invited.
fn pending(conn: &mut DbConn, target: AccountId) -> Result<String, Failure<PendingError>> {
    let (email, status): (String, AccountStatus) = accounts::table
        .filter(accounts::id.eq(target))
        .filter(accounts::is_platform_admin.eq(true))
        .select((accounts::email, accounts::status))
        .first(conn)
        .optional()?
        .ok_or(PendingError::NotAdmin)?;
    if status != AccountStatus::Invited {
        return Err(PendingError::NotPending.into());
    }
    Ok(email)
}

/// Resend a pending administrator invitation: a new platform link, which supersedes the
/// earlier one, in the same email as Add sends. At most once a minute per person.
pub fn resend(conn: &mut DbConn, act: &Act, target: AccountId) -> Result<String, Failure<PendingError>> {
    let (site, actor, now) = (&*act.site, &act.actor, act.now);
    db::write_transaction(conn, |conn| {
        let email = pending(conn, target)?;
        if let Some(limited) = limits::check_resend(registration::last_platform_resent_at(conn, target)?, now) {
            return Err(PendingError::MailLimit(limited).into());
        }
        let link = registration::reissue_platform(conn, site, target, now)?;
        let invitation = messages::platform_admin_invitation(site, &email, &link.url, link.expires_at);
        mail::enqueue(conn, site, &invitation, now, now)?;
        audit::record(conn, &NewEvent::platform(actor, "platform_admin.invitation_resent", &email), now)?;
        Ok(email)
    })
}

/// What revoking a pending administrator invitation did to the account.
#[derive(Debug, PartialEq, Eq)]
pub enum Revoked {
    /// The account had no membership anywhere and is gone.
    Deleted,
    /// The account stays for its organizations' invitations, without the platform role.
    Kept,
}

/// Revoke a pending administrator invitation: the account loses the platform role and its
/// platform link is withdrawn; an account with no membership anywhere is deleted.
pub fn revoke(conn: &mut DbConn, act: &Act, target: AccountId) -> Result<(String, Revoked), Failure<PendingError>> {
    let (actor, now) = (&act.actor, act.now);
    db::write_transaction(conn, |conn| {
        db::lock_for_transaction(conn, ADMIN_REMOVAL_LOCK)?;
        let email = pending(conn, target)?;
        // The condition repeats the check, so a registration racing the revoke loses or wins whole.
        let changed = diesel::update(
            accounts::table
                .filter(accounts::id.eq(target))
                .filter(accounts::is_platform_admin.eq(true))
                .filter(accounts::status.eq(AccountStatus::Invited)),
        )
        .set((accounts::is_platform_admin.eq(false), accounts::updated_at.eq(now)))
        .execute(conn)?;
        if changed != 1 {
            return Err(PendingError::NotPending.into());
        }
        registration::withdraw_platform(conn, target, now)?;
        let memberships: i64 =
            memberships::table.filter(memberships::account_id.eq(target)).count().get_result(conn)?;
        let outcome = if memberships == 0 {
            diesel::delete(accounts::table.filter(accounts::id.eq(target))).execute(conn)?;
            Revoked::Deleted
        } else {
            Revoked::Kept
        };
        let details = serde_json::json!({ "account": if outcome == Revoked::Deleted { "deleted" } else { "kept" } });
        audit::record(
            conn,
            &NewEvent::platform(actor, "platform_admin.invitation_revoked", &email).details(details),
            now,
        )?;
        Ok((email, outcome))
    })
}

#[derive(Debug, PartialEq, Eq)]
pub enum Added {
    Promoted,
    Invited,
}

#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error("already a platform administrator")]
    AlreadyAdmin,
}

/// Promote an existing account, or create an invited one (it gets its password by registering).
pub fn add(conn: &mut DbConn, act: &Act, email: &EmailAddress) -> Result<Added, Failure<AddError>> {
    let (site, actor, now) = (&*act.site, &act.actor, act.now);
    db::write_transaction(conn, |conn| {
        let existing: Option<(i64, bool, AccountStatus)> = accounts::table
            .filter(accounts::email.eq(email.as_str()))
            .select((accounts::id, accounts::is_platform_admin, accounts::status))
            .first(conn)
            .optional()?;
        let (account_id, outcome) = match existing {
            Some((_, true, _)) => return Err(AddError::AlreadyAdmin.into()),
            Some((id, false, AccountStatus::Invited)) => (id, Added::Invited),
            Some((id, false, AccountStatus::Active)) => (id, Added::Promoted),
            None => {
                let (id, _, _) = crate::platform::orgs::queries::find_or_invite_account(conn, email, false, now)?;
                (id.get(), Added::Invited)
            }
        };
        // Someone who cannot sign in yet needs a registration link to act on the role.
        if outcome == Added::Invited {
            let link = registration::issue(conn, site, crate::domain::AccountId(account_id), None, now)?;
            let invitation = messages::platform_admin_invitation(site, email.as_str(), &link.url, link.expires_at);
            mail::enqueue(conn, site, &invitation, now, now)?;
        }
        let details = serde_json::json!({ "account": if outcome == Added::Invited { "invited" } else { "existing" } });
        promote(conn, actor, account_id, email, details, now)?;
        Ok(outcome)
    })
}

/// The one way an account gains the platform role, from the page and from `orgportal admin
/// add`: the flag and its audit event.
pub fn promote(
    conn: &mut DbConn,
    actor: &Actor,
    account_id: i64,
    email: &EmailAddress,
    details: serde_json::Value,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(accounts::table.find(account_id))
        .set((accounts::is_platform_admin.eq(true), accounts::updated_at.eq(now)))
        .execute(conn)?;
    audit::record(conn, &NewEvent::platform(actor, "platform_admin.added", email.as_str()).details(details), now)
}

#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    #[error("You cannot remove yourself; another platform administrator can.")]
    Yourself,
    #[error("This is the last platform administrator who can sign in; add another one first.")]
    LastAdmin,
    #[error("This account is not a platform administrator.")]
    NotAdmin,
}

/// The email of `target` while it is a platform administrator.
fn admin_email(conn: &mut DbConn, target: AccountId) -> QueryResult<Option<String>> {
    accounts::table
        .filter(accounts::id.eq(target))
        .filter(accounts::is_platform_admin.eq(true))
        .select(accounts::email)
        .first(conn)
        .optional()
}

/// Take the platform administrator role from `target`; returns its email.
pub fn remove(
    conn: &mut DbConn,
    actor: &Actor,
    target: AccountId,
    now: NaiveDateTime,
) -> Result<String, Failure<RemoveError>> {
    if actor.id == Some(target.get()) {
        return Err(RemoveError::Yourself.into());
    }
    db::write_transaction(conn, |conn| {
        db::lock_for_transaction(conn, ADMIN_REMOVAL_LOCK)?;
        let email = admin_email(conn, target)?.ok_or(RemoveError::NotAdmin)?;
        // Only administrators who can sign in count: an invitation nobody accepted yet would
        // leave the platform without anyone to run it.
        let others_who_can_sign_in: i64 = accounts::table
            .filter(accounts::is_platform_admin.eq(true))
            .filter(accounts::status.eq(AccountStatus::Active))
            .filter(accounts::password_hash.is_not_null())
            .filter(accounts::id.ne(target))
            .count()
            .get_result(conn)?;
        if others_who_can_sign_in == 0 {
            return Err(RemoveError::LastAdmin.into());
        }
        diesel::update(accounts::table.find(target))
            .set((accounts::is_platform_admin.eq(false), accounts::updated_at.eq(now)))
            .execute(conn)?;
        audit::record(conn, &NewEvent::platform(actor, "platform_admin.removed", &email), now)?;
        Ok(email)
    })
}

#[derive(Debug, thiserror::Error)]
pub enum EndSessionsError {
    #[error("To end your own sessions, use your account page.")]
    Yourself,
    #[error("This account is not a platform administrator.")]
    NotAdmin,
}

refusals!(PendingError, AddError, RemoveError, EndSessionsError);

/// End every session of another platform administrator (a lost laptop, a departure); returns
/// its email and how many sessions ended.
pub fn end_sessions(
    conn: &mut DbConn,
    act: &Act,
    target: AccountId,
) -> Result<(String, usize), Failure<EndSessionsError>> {
    let (actor, now) = (&act.actor, act.now);
    if actor.id == Some(target.get()) {
        return Err(EndSessionsError::Yourself.into());
    }
    db::write_transaction(conn, |conn| {
        let email = admin_email(conn, target)?.ok_or(EndSessionsError::NotAdmin)?;
        let ended = crate::auth::session::end_all_of(conn, target.get(), None)?;
        let event = NewEvent::platform(actor, "platform_admin.sessions_ended", &email)
            .details(serde_json::json!({ "sessions ended": ended }));
        audit::record(conn, &event, now)?;
        Ok((email, ended))
    })
}
