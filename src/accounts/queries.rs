//! Reads and writes of one's own account.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{accounts, memberships, organizations};
use crate::db::DbConn;

/// One of the account's memberships, as the account page lists it.
#[derive(Debug, Clone, Queryable)]
pub struct OwnMembership {
    pub organization_name: String,
    pub status: String,
    pub is_delegate: bool,
}

impl OwnMembership {
    /// The status word of DESIGN §3.
    pub fn status_label(&self) -> &'static str {
        crate::domain::membership_status_label(&self.status)
    }
}

pub fn own_memberships(conn: &mut DbConn, account_id: i64) -> QueryResult<Vec<OwnMembership>> {
    memberships::table
        .inner_join(organizations::table)
        .filter(memberships::account_id.eq(account_id))
        .filter(memberships::status.ne("removed"))
        .order((organizations::name_key.asc(), organizations::id.asc()))
        .select((organizations::name, memberships::status, memberships::is_delegate))
        .load(conn)
}

/// Store a new password hash.
pub fn set_password(conn: &mut DbConn, account_id: i64, hash: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(accounts::table.find(account_id))
        .set((accounts::password_hash.eq(hash), accounts::must_change_password.eq(false), accounts::updated_at.eq(now)))
        .execute(conn)
        .map(drop)
}
