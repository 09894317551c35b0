//! Account reads and writes needed to sign in and to check roles.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::session::{self, Expiry};
use crate::db::schema::{accounts, memberships, organizations, sessions};
use crate::db::DbConn;
use crate::domain::{AccountStatus, MembershipStatus};

/// The roles of an account as the database says right now.
#[derive(Debug, Clone, Queryable)]
pub struct AccountRoles {
    pub id: i64,
    pub email: String,
    pub is_platform_admin: bool,
    pub must_change_password: bool,
    /// An active Delegate of at least one organization.
    pub administers_orgs: bool,
}

/// What sign-in needs to know of an account.
#[derive(Debug, Clone, Queryable)]
pub struct Credentials {
    pub id: i64,
    pub email: String,
    pub password_hash: Option<String>,
    pub must_change_password: bool,
    pub is_platform_admin: bool,
    /// Raised whenever all of the account's sessions end.
    pub session_epoch: i64,
}

/// What a request's session cookie comes to.
#[derive(Debug, Clone)]
pub enum SessionLookup {
    /// A live session (its row id) of an account with these roles.
    Live { session_id: i64, roles: AccountRoles },
    /// The session existed but is past a limit; its row is now deleted.
    Expired(Expiry),
    /// No such session: signed out, ended elsewhere, or its account deleted.
    Missing,
}

/// The session and its account's roles in one query, however many roles there are to check;
/// `last_seen_at` is written only when a minute has passed since the last write.
pub fn current_session(conn: &mut DbConn, token_hash: &str, now: NaiveDateTime) -> QueryResult<SessionLookup> {
    let delegate_somewhere = diesel::dsl::exists(
        memberships::table
            .filter(memberships::account_id.eq(accounts::id))
            .filter(memberships::status.eq(MembershipStatus::Active))
            .filter(memberships::is_delegate.eq(true))
            .select(memberships::id),
    );
    let found: Option<((i64, NaiveDateTime, NaiveDateTime), AccountRoles)> = sessions::table
        .inner_join(accounts::table)
        .filter(sessions::token_hash.eq(token_hash))
        .select((
            (sessions::id, sessions::created_at, sessions::last_seen_at),
            (
                accounts::id,
                accounts::email,
                accounts::is_platform_admin,
                accounts::must_change_password,
                delegate_somewhere,
            ),
        ))
        .first(conn)
        .optional()?;
    let Some(((session_id, created_at, last_seen_at), roles)) = found else {
        return Ok(SessionLookup::Missing);
    };
    if let Some(why) = session::expiry(created_at, last_seen_at, now) {
        diesel::delete(sessions::table.find(session_id)).execute(conn)?;
        return Ok(SessionLookup::Expired(why));
    }
    if now - last_seen_at >= session::TOUCH_INTERVAL {
        diesel::update(sessions::table.find(session_id)).set(sessions::last_seen_at.eq(now)).execute(conn)?;
    }
    Ok(SessionLookup::Live { session_id, roles })
}

/// Organizations where this account is an active Delegate, by name.
pub fn administered_orgs(conn: &mut DbConn, account_id: i64) -> QueryResult<Vec<(i64, String)>> {
    memberships::table
        .inner_join(organizations::table)
        .filter(memberships::account_id.eq(account_id))
        .filter(memberships::status.eq(MembershipStatus::Active))
        .filter(memberships::is_delegate.eq(true))
        .order((organizations::name_key.asc(), organizations::id.asc()))
        .select((organizations::id, organizations::name))
        .load(conn)
}

/// True when the account is an active Delegate of the organization (false for a missing one).
pub fn is_org_admin(conn: &mut DbConn, account_id: i64, org_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        memberships::table
            .filter(memberships::account_id.eq(account_id))
            .filter(memberships::organization_id.eq(org_id))
            .filter(memberships::status.eq(MembershipStatus::Active))
            .filter(memberships::is_delegate.eq(true)),
    ))
    .get_result(conn)
}

pub fn credentials_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<Credentials>> {
    accounts::table
        .filter(accounts::email.eq(email))
        .filter(accounts::status.eq(AccountStatus::Active))
        .select((
            accounts::id,
            accounts::email,
            accounts::password_hash,
            accounts::must_change_password,
            accounts::is_platform_admin,
            accounts::session_epoch,
        ))
        .first(conn)
        .optional()
}

pub fn password_hash(conn: &mut DbConn, account_id: i64) -> QueryResult<Option<String>> {
    accounts::table.find(account_id).select(accounts::password_hash).first(conn)
}
