//! Who awaits validation in an organization, longest waiting first: the users list shows them
//! above the table, so a Delegate sees them before anyone else.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{accounts, memberships};
use crate::db::DbConn;
use crate::domain::{AccountId, MembershipStatus, OrgId};

/// Past this many, the heading says "more than" (the box shows 20; the status filter has the
/// rest, counted up to its own cap).
pub const COUNT_CAP: i64 = 1_000;

/// How many are listed above the table; the rest are a status filter away.
pub const SHOWN: i64 = 20;

/// One membership awaiting validation.
#[derive(Debug, Clone, Queryable)]
pub struct AwaitingRow {
    pub account_id: AccountId,
    pub email: String,
    pub display_name: String,
    /// When the person registered or accepted (`None` for memberships older than the column).
    pub since: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

impl AwaitingRow {
    /// Since when the person waits.
    pub fn waiting_since(&self) -> NaiveDateTime {
        self.since.unwrap_or(self.updated_at)
    }
}

/// The first `SHOWN` memberships awaiting validation (longest waiting first) and how many
/// there are in all. Both read the `(organization_id, status, awaiting_since)` index.
pub fn awaiting(conn: &mut DbConn, org_id: OrgId) -> QueryResult<(Vec<AwaitingRow>, i64)> {
    let of_org = || {
        memberships::table
            .filter(memberships::organization_id.eq(org_id))
            .filter(memberships::status.eq(MembershipStatus::AwaitingValidation))
    };
    // Counted up to the cap: an organization with tens of thousands waiting would otherwise pay
    // a count of all of them on every view of its users list.
    // In index order, so the `(organization_id, status, awaiting_since)` index answers it:
    // unordered, PostgreSQL read the matching rows' pages from the table (60 ms for 20,000).
    let capped = of_org()
        .order((memberships::awaiting_since.asc(), memberships::id.asc()))
        .select(diesel::dsl::sql::<diesel::sql_types::Integer>("1"))
        .limit(COUNT_CAP + 1);
    let total: i64 = crate::db::count::CountOf(capped).get_result(conn)?;
    if total == 0 {
        return Ok((Vec::new(), 0));
    }
    let rows = of_org()
        .inner_join(accounts::table)
        .order((memberships::awaiting_since.asc(), memberships::id.asc()))
        .limit(SHOWN)
        .select((
            memberships::account_id,
            accounts::email,
            accounts::display_name,
            memberships::awaiting_since,
            memberships::updated_at,
        ))
        .load(conn)?;
    Ok((rows, total))
}
