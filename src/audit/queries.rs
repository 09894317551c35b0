//! Reading the audit trail.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::audit_events;
use crate::db::DbConn;
use crate::domain::OrgId;
use crate::web::list::Paging;

#[derive(Debug, Clone, Queryable)]
pub struct EventRow {
    pub id: i64,
    pub occurred_at: NaiveDateTime,
    pub actor_email: String,
    pub organization_name: String,
    pub action: String,
    pub target: String,
    pub details: String,
    pub client_addr: String,
}

/// A page showing `partials/audit_table.html`, whose template calls `Self::details_text`.
pub trait AuditTable {
    fn details_text(event: &EventRow) -> String {
        crate::audit::details_text(&event.details)
    }
}

/// Platform-level events, or one organization's own events.
#[derive(Debug, Clone, Copy)]
pub enum Trail {
    Platform,
    Organization(OrgId),
}

fn of(trail: Trail) -> audit_events::BoxedQuery<'static, crate::db::Backend> {
    match trail {
        Trail::Platform => audit_events::table.filter(audit_events::scope.eq("platform")).into_boxed(),
        Trail::Organization(id) => audit_events::table
            .filter(audit_events::scope.eq("organization"))
            .filter(audit_events::organization_id.eq(id))
            .into_boxed(),
    }
}

/// One page of a trail as a numbered list reads it (`web::list::numbered`).
pub fn paged(conn: &mut DbConn, trail: Trail, paging: Paging) -> QueryResult<(Vec<EventRow>, i64, i64)> {
    page_of(conn, trail, paging.page, paging.per_page)
}

/// One page of a trail, newest first; the total; the page shown (clamped to the last).
pub fn page_of(conn: &mut DbConn, trail: Trail, page: i64, per_page: i64) -> QueryResult<(Vec<EventRow>, i64, i64)> {
    let total: i64 = of(trail).count().get_result(conn)?;
    let (page, offset) = Paging { per_page, page }.place(total);
    let rows = of(trail)
        .order(audit_events::id.desc())
        .select((
            audit_events::id,
            audit_events::occurred_at,
            audit_events::actor_email,
            audit_events::organization_name,
            audit_events::action,
            audit_events::target,
            audit_events::details,
            audit_events::client_addr,
        ))
        .limit(per_page)
        .offset(offset)
        .load(conn)?;
    Ok((rows, total, page))
}
