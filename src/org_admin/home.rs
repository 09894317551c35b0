//! `GET /orgs/{id}`: seats and quota in use, memberships by status with those awaiting
//! validation first, and the latest events of this organization.

use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::audit::queries::{self as audit, EventRow, Trail};
use crate::auth::OrgAdmin;
use crate::db::schema::{accounts, memberships};
use crate::db::{Db, DbConn};
use crate::domain::{group_thousands, MembershipStatus, OrgId};
use crate::error::AppError;
use crate::org_admin::users::capacity::{usage, OrgUsage};
use crate::web::layout::{Layout, Section, ORG_OVERVIEW};
use crate::web::render;

/// How many awaiting validations and events the home shows; the users page and the audit
/// log have the rest.
const SHOWN: i64 = 10;

pub struct Home {
    pub org: OrgUsage,
    /// (status, count) in lifecycle order, zero counts included.
    pub by_status: Vec<(MembershipStatus, i64)>,
    pub awaiting: Vec<(String, NaiveDateTime)>,
    pub events: Vec<EventRow>,
}

const STATUSES: [MembershipStatus; 4] = [
    MembershipStatus::AwaitingValidation,
    MembershipStatus::Invited,
    MembershipStatus::Active,
    MembershipStatus::Removed,
];

fn load(conn: &mut DbConn, org_id: OrgId) -> QueryResult<Home> {
    let org = usage(conn, org_id)?;
    let counted: Vec<(MembershipStatus, i64)> = memberships::table
        .filter(memberships::organization_id.eq(org_id))
        .group_by(memberships::status)
        .select((memberships::status, diesel::dsl::count_star()))
        .load(conn)?;
    let by_status = STATUSES
        .into_iter()
        .map(|status| (status, counted.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n)))
        .collect();
    let awaiting = memberships::table
        .inner_join(accounts::table)
        .filter(memberships::organization_id.eq(org_id))
        .filter(memberships::status.eq(MembershipStatus::AwaitingValidation))
        .order((memberships::updated_at.asc(), memberships::id.asc()))
        .limit(SHOWN)
        .select((accounts::email, memberships::updated_at))
        .load(conn)?;
    let events = audit::recent(conn, Trail::Organization(org_id), SHOWN)?;
    Ok(Home { org, by_status, awaiting, events })
}

#[derive(Template)]
#[template(path = "organization/home.html")]
pub struct HomePage {
    pub layout: Layout,
    pub org_id: OrgId,
    pub home: Home,
}

impl HomePage {
    fn seats_label(&self) -> String {
        let org = &self.home.org;
        match org.seats {
            Some(total) => format!("{} of {}", group_thousands(org.member_count), group_thousands(total)),
            None => format!("{} (unlimited)", group_thousands(org.member_count)),
        }
    }

    fn quota_label(&self) -> String {
        let org = &self.home.org;
        format!("{} of {} GB", group_thousands(org.quota_allocated_gb), group_thousands(org.quota_gb))
    }

    fn count(n: &i64) -> String {
        group_thousands(*n)
    }
}

/// `GET /orgs/{id}`
pub async fn show(admin: OrgAdmin, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    let org_id = admin.org_id;
    let home = db.run(move |conn| load(conn, org_id)).await?;
    let layout = admin.layout(ORG_OVERVIEW, Section::Organization)?.in_org(org_id, home.org.name.clone());
    render(&HomePage { layout, org_id, home })
}
