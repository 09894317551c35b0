//! An organization's seats and quota (its counters on `organizations`) and the lock that
//! serialises every change to them: users and plans both go through here.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::organizations;
use crate::db::{self, DbConn};
use crate::domain::{group_thousands, OrgId};

/// Advisory-lock keys for "one organization's members, plans and invitations", one per
/// organization.
const ORGANIZATION_LOCK_BASE: i64 = 0x6f72_6703_0000_0000;

/// Serialise this transaction with every other change to `org_id`'s memberships, plans and
/// invitation emails (PostgreSQL; on SQLite `db::write_transaction` already does). Call first
/// in the transaction, before reading what the change depends on.
pub fn lock_organization(conn: &mut DbConn, org_id: OrgId) -> QueryResult<()> {
    db::lock_for_transaction(conn, ORGANIZATION_LOCK_BASE.wrapping_add(org_id.get()))
}

/// What is in use and what is left, for a refusal that names them.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    pub seats: Option<String>,
    pub quota: Option<String>,
}

impl std::fmt::Display for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<&str> = [self.seats.as_deref(), self.quota.as_deref()].into_iter().flatten().collect();
        f.write_str(&parts.join(" "))
    }
}

#[derive(Debug, Clone, Queryable)]
pub struct OrgUsage {
    pub name: String,
    pub admin_email: String,
    pub quota_gb: i64,
    pub quota_allocated_gb: i64,
    pub seats: Option<i64>,
    pub member_count: i64,
}

impl OrgUsage {
    pub fn quota_left(&self) -> i64 {
        (self.quota_gb - self.quota_allocated_gb).max(0)
    }
}

pub fn usage(conn: &mut DbConn, org_id: OrgId) -> QueryResult<OrgUsage> {
    organizations::table
        .find(org_id)
        .select((
            organizations::name,
            organizations::admin_email,
            organizations::quota_gb,
            organizations::quota_allocated_gb,
            organizations::seats,
            organizations::member_count,
        ))
        .first(conn)
}

/// Why `extra_seats` more members with `extra_gb` more quota do not fit.
pub fn limits(usage: &OrgUsage, extra_seats: i64, extra_gb: i64) -> Limits {
    let seats = usage.seats.filter(|total| extra_seats > 0 && usage.member_count + extra_seats > *total).map(|total| {
        format!(
            "All {} seats are in use ({} of {}); remove a user or ask a platform administrator for more seats.",
            group_thousands(total),
            group_thousands(usage.member_count),
            group_thousands(total)
        )
    });
    let quota = (extra_gb > 0 && usage.quota_allocated_gb + extra_gb > usage.quota_gb).then(|| {
        format!(
            "{} GB would pass the organization's quota: {} of {} GB are allocated, {} GB are left.",
            group_thousands(extra_gb),
            group_thousands(usage.quota_allocated_gb),
            group_thousands(usage.quota_gb),
            group_thousands(usage.quota_left())
        )
    });
    Limits { seats, quota }
}

/// Take (or give back, when negative) seats and quota, only while they fit: the room is
/// checked by the UPDATE itself. Returns false when it does not fit (nothing changed).
pub fn take_capacity(conn: &mut DbConn, org_id: OrgId, seats: i64, gb: i64, now: NaiveDateTime) -> QueryResult<bool> {
    let seat_room = organizations::seats
        .is_null()
        .or(organizations::member_count.nullable().le(organizations::seats - seats.max(0)));
    let quota_room = organizations::quota_allocated_gb.le(organizations::quota_gb - gb.max(0));
    let set = || {
        (
            organizations::member_count.eq(organizations::member_count + seats),
            organizations::quota_allocated_gb.eq(organizations::quota_allocated_gb + gb),
            organizations::updated_at.eq(now),
        )
    };
    let target = organizations::table.filter(organizations::id.eq(org_id));
    // Giving back needs no room, and must work even if an old row broke the invariant.
    let changed = match (seats > 0, gb > 0) {
        (true, true) => diesel::update(target.filter(seat_room).filter(quota_room)).set(set()).execute(conn)?,
        (true, false) => diesel::update(target.filter(seat_room)).set(set()).execute(conn)?,
        (false, true) => diesel::update(target.filter(quota_room)).set(set()).execute(conn)?,
        (false, false) => diesel::update(target).set(set()).execute(conn)?,
    };
    Ok(changed == 1)
}
