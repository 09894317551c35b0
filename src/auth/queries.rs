//! Account reads and writes needed to sign in and to check roles.

use diesel::prelude::*;

use crate::db::schema::{accounts, memberships, organizations};
use crate::db::DbConn;

/// The roles of an account as the database says right now.
#[derive(Debug, Clone, Queryable)]
pub struct AccountRoles {
    pub id: i64,
    pub email: String,
    pub is_platform_admin: bool,
    pub must_change_password: bool,
    pub session_epoch: i64,
    /// An active Delegate of at least one organization.
    pub administers_orgs: bool,
}

/// What sign-in needs to know of an account.
#[derive(Debug, Clone, Queryable)]
pub struct Credentials {
    pub id: i64,
    pub password_hash: Option<String>,
    pub session_epoch: i64,
    pub must_change_password: bool,
}

/// One query per request, however many roles there are to check.
pub fn roles(conn: &mut DbConn, account_id: i64) -> QueryResult<Option<AccountRoles>> {
    let delegate_somewhere = diesel::dsl::exists(
        memberships::table
            .filter(memberships::account_id.eq(accounts::id))
            .filter(memberships::status.eq("active"))
            .filter(memberships::is_delegate.eq(true))
            .select(memberships::id),
    );
    accounts::table
        .find(account_id)
        .select((
            accounts::id,
            accounts::email,
            accounts::is_platform_admin,
            accounts::must_change_password,
            accounts::session_epoch,
            delegate_somewhere,
        ))
        .first(conn)
        .optional()
}

/// Organizations where this account is an active Delegate, by name.
pub fn administered_orgs(conn: &mut DbConn, account_id: i64) -> QueryResult<Vec<(i64, String)>> {
    memberships::table
        .inner_join(organizations::table)
        .filter(memberships::account_id.eq(account_id))
        .filter(memberships::status.eq("active"))
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
            .filter(memberships::status.eq("active"))
            .filter(memberships::is_delegate.eq(true)),
    ))
    .get_result(conn)
}

pub fn credentials_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<Credentials>> {
    accounts::table
        .filter(accounts::email.eq(email))
        .filter(accounts::status.eq("active"))
        .select((accounts::id, accounts::password_hash, accounts::session_epoch, accounts::must_change_password))
        .first(conn)
        .optional()
}

pub fn password_hash(conn: &mut DbConn, account_id: i64) -> QueryResult<Option<String>> {
    accounts::table.find(account_id).select(accounts::password_hash).first(conn)
}
