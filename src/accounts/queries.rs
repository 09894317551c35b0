//! Reads and writes of one's own account.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{accounts, memberships, organizations};
use crate::db::DbConn;
use crate::domain::MembershipStatus;

/// One of the account's memberships, as the account page lists it.
#[derive(Debug, Clone, Queryable)]
pub struct OwnMembership {
    pub organization_name: String,
    pub status: MembershipStatus,
    pub is_delegate: bool,
    pub awaiting_since: Option<NaiveDateTime>,
}

impl OwnMembership {
    /// The status word of DESIGN §3.
    pub fn status_label(&self) -> &'static str {
        self.status.label()
    }

    pub fn is_awaiting_validation(&self) -> bool {
        self.status == MembershipStatus::AwaitingValidation
    }

    /// What the status means for the person, and what happens next.
    pub fn where_you_stand(&self) -> &'static str {
        match self.status {
            MembershipStatus::Invited => "Open the link in the invitation email to accept.",
            MembershipStatus::AwaitingValidation => {
                "An administrator of the organization will validate your membership, usually after speaking with you. You will get an email then; until then you see nothing of the organization."
            }
            MembershipStatus::Active => "You can work in this organization.",
            MembershipStatus::Removed => "",
        }
    }
}

pub fn own_memberships(conn: &mut DbConn, account_id: i64) -> QueryResult<Vec<OwnMembership>> {
    memberships::table
        .inner_join(organizations::table)
        .filter(memberships::account_id.eq(account_id))
        .filter(memberships::status.ne(MembershipStatus::Removed))
        .order((organizations::name_key.asc(), organizations::id.asc()))
        .select((organizations::name, memberships::status, memberships::is_delegate, memberships::awaiting_since))
        .load(conn)
}

/// The account's display name (empty when it has none).
pub fn display_name(conn: &mut DbConn, account_id: i64) -> QueryResult<String> {
    accounts::table.find(account_id).select(accounts::display_name).first(conn)
}

/// Store a new display name and its folded key.
pub fn set_display_name(
    conn: &mut DbConn,
    account_id: i64,
    name: &crate::domain::DisplayName,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(accounts::table.find(account_id))
        .set((
            accounts::display_name.eq(name.as_str()),
            accounts::name_key.eq(name.key()),
            accounts::updated_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// Store a new password hash.
pub fn set_password(conn: &mut DbConn, account_id: i64, hash: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(accounts::table.find(account_id))
        .set((accounts::password_hash.eq(hash), accounts::must_change_password.eq(false), accounts::updated_at.eq(now)))
        .execute(conn)
        .map(drop)
}
