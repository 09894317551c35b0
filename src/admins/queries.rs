//! Platform administrators: list, add by email, remove (never yourself, never the last one).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::audit::{self, Actor, NewEvent};
use crate::db::schema::accounts;
use crate::db::{self, DbConn};
use crate::domain::EmailAddress;
use crate::mail::{self, messages, Site};
use crate::registration;

/// Advisory-lock key serialising removals on PostgreSQL, so two administrators removing each
/// other at the same instant cannot both succeed (SQLite's BEGIN IMMEDIATE serialises already).
const ADMIN_REMOVAL_LOCK: i64 = 0x6f72_6770_0002;

#[derive(Debug, Clone, Queryable)]
pub struct AdminRow {
    pub id: i64,
    pub email: String,
    pub status: String,
    pub created_at: NaiveDateTime,
}

pub fn list(conn: &mut DbConn) -> QueryResult<Vec<AdminRow>> {
    accounts::table
        .filter(accounts::is_platform_admin.eq(true))
        .order((accounts::email.asc(), accounts::id.asc()))
        .select((accounts::id, accounts::email, accounts::status, accounts::created_at))
        .load(conn)
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
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Promote an existing account, or create an invited one (it gets its password by registering).
pub fn add(
    conn: &mut DbConn,
    site: &Site,
    actor: &Actor,
    email: &EmailAddress,
    now: NaiveDateTime,
) -> Result<Added, AddError> {
    db::write_transaction(conn, |conn| {
        let existing: Option<(i64, bool, String)> = accounts::table
            .filter(accounts::email.eq(email.as_str()))
            .select((accounts::id, accounts::is_platform_admin, accounts::status))
            .first(conn)
            .optional()?;
        let (account_id, outcome) = match existing {
            Some((_, true, _)) => return Err(AddError::AlreadyAdmin),
            Some((id, false, status)) => {
                diesel::update(accounts::table.find(id))
                    .set((accounts::is_platform_admin.eq(true), accounts::updated_at.eq(now)))
                    .execute(conn)?;
                (id, if status == "invited" { Added::Invited } else { Added::Promoted })
            }
            None => {
                let (id, _, _) = crate::orgs::queries::find_or_invite_account(conn, email, true, now)?;
                (id, Added::Invited)
            }
        };
        // Someone who cannot sign in yet needs a registration link to act on the role.
        if outcome == Added::Invited {
            let link = registration::issue(conn, site, account_id, None, now)?;
            let invitation = messages::platform_admin_invitation(site, email.as_str(), &link.url, link.expires_at);
            mail::enqueue(conn, site, &invitation, now, now)?;
        }
        let details = serde_json::json!({ "account": if outcome == Added::Invited { "invited" } else { "existing" } });
        audit::record(conn, &NewEvent::platform(actor, "platform_admin.added", email.as_str()).details(details), now)?;
        Ok(outcome)
    })
}

#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    #[error("You cannot remove yourself; another platform administrator can.")]
    Yourself,
    #[error("This is the last platform administrator who can sign in; add another one first.")]
    LastAdmin,
    #[error("This account is not a platform administrator.")]
    NotAdmin,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Take the platform administrator role from `target`; returns its email.
pub fn remove(conn: &mut DbConn, actor: &Actor, target: i64, now: NaiveDateTime) -> Result<String, RemoveError> {
    if actor.id == Some(target) {
        return Err(RemoveError::Yourself);
    }
    db::write_transaction(conn, |conn| {
        db::lock_for_transaction(conn, ADMIN_REMOVAL_LOCK)?;
        let email: String = accounts::table
            .filter(accounts::id.eq(target))
            .filter(accounts::is_platform_admin.eq(true))
            .select(accounts::email)
            .first(conn)
            .optional()?
            .ok_or(RemoveError::NotAdmin)?;
        // Only administrators who can sign in count: an invitation nobody accepted yet would
        // leave the platform without anyone to run it.
        let others_who_can_sign_in: i64 = accounts::table
            .filter(accounts::is_platform_admin.eq(true))
            .filter(accounts::status.eq("active"))
            .filter(accounts::password_hash.is_not_null())
            .filter(accounts::id.ne(target))
            .count()
            .get_result(conn)?;
        if others_who_can_sign_in == 0 {
            return Err(RemoveError::LastAdmin);
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
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// End every session of another platform administrator (a lost laptop, a departure); returns
/// its email and how many sessions ended.
pub fn end_sessions(
    conn: &mut DbConn,
    actor: &Actor,
    target: i64,
    now: NaiveDateTime,
) -> Result<(String, usize), EndSessionsError> {
    if actor.id == Some(target) {
        return Err(EndSessionsError::Yourself);
    }
    db::write_transaction(conn, |conn| {
        let email: String = accounts::table
            .filter(accounts::id.eq(target))
            .filter(accounts::is_platform_admin.eq(true))
            .select(accounts::email)
            .first(conn)
            .optional()?
            .ok_or(EndSessionsError::NotAdmin)?;
        let ended = crate::auth::session::end_all_of(conn, target, None)?;
        let event = NewEvent::platform(actor, "platform_admin.sessions_ended", &email)
            .details(serde_json::json!({ "sessions ended": ended }));
        audit::record(conn, &event, now)?;
        Ok((email, ended))
    })
}
