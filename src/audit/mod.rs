//! The audit trail: every change writes an event in the same transaction as the change.

pub mod actions;
pub mod details;
pub mod export;
pub mod filter;
pub mod page;
pub mod params;
pub mod queries;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::audit_events;
use crate::db::DbConn;
use crate::domain::OrgId;
use crate::web::client::ClientAddr;

/// Who did it, from where.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Option<i64>,
    pub email: String,
    pub client: ClientAddr,
}

impl Actor {
    /// Changes made on the command line (`orgportal admin …`, the bootstrap).
    pub fn command_line() -> Self {
        Self { id: None, email: "command line".into(), client: ClientAddr(None) }
    }
}

/// An event about to be written.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub scope: &'static str,
    pub actor: &'a Actor,
    pub organization: Option<(i64, &'a str)>,
    pub action: &'static str,
    pub target: &'a str,
    /// Before/after details as JSON.
    pub details: serde_json::Value,
}

impl<'a> NewEvent<'a> {
    /// A platform-level event, shown on `/admin/audit`.
    pub fn platform(actor: &'a Actor, action: &'static str, target: &'a str) -> Self {
        Self {
            scope: "platform",
            actor,
            organization: None,
            action,
            target,
            details: serde_json::Value::Object(Default::default()),
        }
    }

    /// An organization-level event, shown to the organization's administrators on
    /// `/orgs/{id}/audit` (and not to platform administrators).
    pub fn in_organization(actor: &'a Actor, action: &'static str, target: &'a str, id: OrgId, name: &'a str) -> Self {
        Self { scope: "organization", ..Self::platform(actor, action, target) }.organization(id.get(), name)
    }

    pub fn organization(mut self, id: i64, name: &'a str) -> Self {
        self.organization = Some((id, name));
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// Write one event. Call inside the transaction of the change it records.
pub fn record(conn: &mut DbConn, event: &NewEvent<'_>, at: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::occurred_at.eq(at),
            audit_events::scope.eq(event.scope),
            audit_events::actor_id.eq(event.actor.id),
            audit_events::actor_email.eq(&event.actor.email),
            audit_events::organization_id.eq(event.organization.map(|(id, _)| id)),
            audit_events::organization_name.eq(event.organization.map(|(_, name)| name).unwrap_or_default()),
            audit_events::action.eq(event.action),
            audit_events::target.eq(event.target),
            audit_events::details.eq(event.details.to_string()),
            audit_events::client_addr.eq(event.actor.client.to_audit_string()),
        ))
        .execute(conn)
        .map(drop)
}
