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

/// An organization's figures, as its administrators see them on its home.
#[derive(Queryable)]
pub struct OrgSummary {
    pub name: String,
    pub quota_gb: i64,
    pub quota_allocated_gb: i64,
    pub seats: Option<i64>,
    pub member_count: i64,
}

pub fn org_summary(conn: &mut DbConn, org_id: i64) -> QueryResult<OrgSummary> {
    organizations::table
        .find(org_id)
        .select((
            organizations::name,
            organizations::quota_gb,
            organizations::quota_allocated_gb,
            organizations::seats,
            organizations::member_count,
        ))
        .first(conn)
}
