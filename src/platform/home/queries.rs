use diesel::prelude::*;

use crate::db::schema::{accounts, organizations};
use crate::db::DbConn;

/// Figures for the platform console's home.
pub struct PlatformOverview {
    pub organizations: i64,
    pub platform_admins: i64,
}

pub fn platform_overview(conn: &mut DbConn) -> QueryResult<PlatformOverview> {
    Ok(PlatformOverview {
        organizations: organizations::table.count().get_result(conn)?,
        platform_admins: accounts::table.filter(accounts::is_platform_admin.eq(true)).count().get_result(conn)?,
    })
}
