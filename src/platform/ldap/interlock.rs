//! The seed's interlock between LDAP connections and organizations (DESIGN §2). Each side's
//! write takes the same lock first (PostgreSQL: one advisory transaction lock; SQLite: the
//! write transaction is already exclusive), then checks the other side, so an organization
//! added and a connection added at the same instant can never both succeed.

use diesel::prelude::*;

use crate::db::schema::{ldap_connections, organizations};
use crate::db::{self, DbConn};
use crate::error::{AppError, Failure};

const INTERLOCK_LOCK: i64 = 0x6f72_6770_0003;

/// Why Add organization is disabled.
pub const ORGANIZATIONS_LOCKED: &str = "Adding organizations is disabled while an LDAP connection exists: users \
     from a directory go into a single organization. Delete every LDAP connection to add organizations again.";

/// Why the LDAP configuration is read-only.
pub const LDAP_LOCKED: &str = "LDAP configuration is disabled while more than one organization exists: users \
     from a directory go into a single organization. It becomes available again once one organization is left.";

/// Take the interlock's lock: the first statement of a transaction that adds an organization
/// or changes a connection.
pub fn lock(conn: &mut DbConn) -> QueryResult<()> {
    db::lock_for_transaction(conn, INTERLOCK_LOCK)
}

/// The reason Add organization is disabled, when it is.
pub fn organizations_locked(conn: &mut DbConn) -> QueryResult<Option<&'static str>> {
    let any: bool =
        diesel::select(diesel::dsl::exists(ldap_connections::table.select(ldap_connections::id))).get_result(conn)?;
    Ok(any.then_some(ORGANIZATIONS_LOCKED))
}

/// The reason the LDAP configuration is read-only, when it is.
pub fn ldap_locked(conn: &mut DbConn) -> QueryResult<Option<&'static str>> {
    // Whether a second organization exists, without counting a million of them.
    let second: Option<i64> = organizations::table
        .select(organizations::id)
        .order(organizations::id)
        .offset(1)
        .limit(1)
        .first(conn)
        .optional()?;
    Ok(second.is_some().then_some(LDAP_LOCKED))
}

/// Inside the transaction that adds an organization: take the lock, and refuse (409, with
/// the reason) while any connection exists.
pub fn check_new_organization<R>(conn: &mut DbConn) -> Result<(), Failure<R>> {
    lock(conn)?;
    match organizations_locked(conn)? {
        Some(why) => Err(Failure::Fault(AppError::Conflict(why.into()))),
        None => Ok(()),
    }
}
