//! `orgportal demo-data --events N`: synthetic audit events in both trails, for benchmarks of
//! the audit pages. Each chunk of `CHUNK` rows is one `INSERT … SELECT` over a generated series
//! (a recursive CTE on SQLite, `generate_series` on PostgreSQL), so no row passes through Rust:
//! the actions, actors and organizations come from small temporary tables joined by a hash of
//! the row number. Times rise with the row number over the last two years, so ids and times
//! keep one order, as in a real trail.

use chrono::{Duration, NaiveDateTime};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::bulk::{self, literal, Series, Timeline};
use crate::db::{self, DbConn};

/// The trail's span: events from two years ago up to now.
const SPAN_DAYS: i64 = 730;
/// Real accounts among the actors (platform administrators first).
const REAL_ACTORS: i64 = 40;
/// Distinct actors in all.
const ACTORS: i64 = 300;

/// What an event names as its target.
#[derive(Clone, Copy)]
enum Target {
    /// The actor's own address (sign-in, password, second factor).
    Actor,
    Organization,
    /// A user of the organization.
    Member,
    Plan,
    /// Another platform administrator.
    Administrator,
    Directory,
    Property,
    Message,
}

/// The before/after details an event carries.
#[derive(Clone, Copy)]
enum Details {
    None,
    OrganizationChange,
    MemberAdded,
    MemberChange,
    SignInFailed,
    Removal,
    PlanChange,
    PropertyChange,
    Sync,
}

/// `(action, scope is organization, names an organization, weight, target, details)`: the
/// actions the portal writes (`NewEvent::platform`/`in_organization` across the crate), roughly
/// as often as a busy instance writes them.
const ACTIONS: &[(&str, bool, bool, i64, Target, Details)] = &[
    ("account.sign_in", false, false, 30, Target::Actor, Details::None),
    ("account.sign_in_failed", false, false, 6, Target::Actor, Details::SignInFailed),
    ("account.locked", false, false, 1, Target::Actor, Details::None),
    ("account.password_changed", false, false, 2, Target::Actor, Details::None),
    ("account.password_reset_requested", false, false, 1, Target::Actor, Details::None),
    ("account.password_reset", false, false, 1, Target::Actor, Details::None),
    ("account.second_factor_enrolled", false, false, 2, Target::Actor, Details::None),
    ("account.recovery_code_used", false, false, 1, Target::Actor, Details::None),
    ("account.session_ended", false, false, 3, Target::Actor, Details::None),
    ("account.registered", false, false, 3, Target::Member, Details::None),
    ("account.name_changed", false, false, 1, Target::Actor, Details::None),
    ("organization.created", false, true, 2, Target::Organization, Details::OrganizationChange),
    ("organization.updated", false, true, 3, Target::Organization, Details::OrganizationChange),
    ("organization.removal_initiated", false, true, 1, Target::Organization, Details::Removal),
    ("organization.removal_cancelled", false, true, 1, Target::Organization, Details::Removal),
    ("organization.removal_declined", false, true, 1, Target::Organization, Details::Removal),
    ("organization.removed", false, true, 1, Target::Organization, Details::Removal),
    ("platform_admin.added", false, false, 1, Target::Administrator, Details::None),
    ("platform_admin.removed", false, false, 1, Target::Administrator, Details::None),
    ("platform_admin.invitation_resent", false, false, 1, Target::Administrator, Details::None),
    ("platform_property.changed", false, false, 1, Target::Property, Details::PropertyChange),
    ("ldap.synced", false, false, 2, Target::Directory, Details::Sync),
    ("outbox.retried", false, false, 1, Target::Message, Details::None),
    ("membership.added", true, true, 12, Target::Member, Details::MemberAdded),
    ("membership.registered", true, true, 8, Target::Member, Details::None),
    ("membership.validated", true, true, 7, Target::Member, Details::None),
    ("membership.updated", true, true, 6, Target::Member, Details::MemberChange),
    ("membership.removed", true, true, 3, Target::Member, Details::MemberChange),
    ("membership.invitation_resent", true, true, 2, Target::Member, Details::None),
    ("membership.invitation_revoked", true, true, 1, Target::Member, Details::None),
    ("plan.created", true, true, 1, Target::Plan, Details::PlanChange),
    ("plan.updated", true, true, 1, Target::Plan, Details::PlanChange),
    ("organization.properties_changed", true, true, 1, Target::Organization, Details::None),
];

/// The SQL of a target, over the row's hash `s.h`, actor `p`, organization `o`.
fn target_sql(target: Target) -> &'static str {
    match target {
        Target::Actor => "p.email",
        Target::Organization => "o.name",
        Target::Member => "'user' || (s.h % 20000) || '@org' || o.id || '.example'",
        Target::Plan => {
            "CASE s.h % 4 WHEN 0 THEN 'Basic' WHEN 1 THEN 'Standard' WHEN 2 THEN 'Premium' ELSE 'Archive' END"
        }
        Target::Administrator => "'admin' || (s.h % 40) || '@platform.example'",
        Target::Directory => "'Corporate directory'",
        Target::Property => "'days_to_action_removal'",
        Target::Message => {
            "'message ' || (s.h % 100000 + 1) || ' to user' || (s.h % 20000) || '@org' || o.id || '.example'"
        }
    }
}

/// The details JSON, small and varied by the row's hash.
fn details_sql(details: Details) -> &'static str {
    match details {
        Details::None => "'{}'",
        Details::OrganizationChange => {
            "'{\"before\":{\"quota_gb\":' || (s.h % 5000) || ',\"seats\":' || (s.h % 300 + 5) || \
             '},\"after\":{\"quota_gb\":' || (s.h % 7000) || ',\"seats\":' || (s.h % 300 + 5) || '}}'"
        }
        Details::MemberAdded => {
            "'{\"status\":\"invited\",\"after\":{\"delegate\":' || CASE WHEN s.h % 10 = 0 THEN 'true' ELSE 'false' END \
             || ',\"quota_gb\":' || (s.h % 50) || ',\"plan_id\":null}}'"
        }
        Details::MemberChange => {
            "'{\"before\":{\"quota_gb\":' || (s.h % 50) || '},\"after\":{\"quota_gb\":' || (s.h % 70) || '}}'"
        }
        Details::SignInFailed => "'{\"reason\":\"wrong password\",\"failures in a row\":' || (s.h % 9 + 1) || '}'",
        Details::Removal => "'{\"initiated_by\":\"admin' || (s.h % 40) || '@platform.example\"}'",
        Details::PlanChange => "'{\"after\":{\"quota_gb\":' || (s.h % 500) || ',\"default\":false}}'",
        Details::PropertyChange => {
            "'{\"before\":{\"days_to_action_removal\":\"7\"},\"after\":{\"days_to_action_removal\":\"' || \
             (s.h % 30 + 1) || '\"}}'"
        }
        Details::Sync => {
            "'{\"added\":' || (s.h % 20) || ',\"updated\":' || (s.h % 50) || ',\"disabled\":' || (s.h % 3) || '}'"
        }
    }
}

/// Insert `n` audit events; `progress` hears how many are in after each chunk. Returns how
/// many were inserted.
pub fn load_events(
    conn: &mut DbConn,
    n: u64,
    now: NaiveDateTime,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<u64> {
    if n == 0 {
        return Ok(0);
    }
    bulk::tune_for_load(conn)?;
    let organizations = bulk::sample_organizations(conn, "demo_event_orgs")?;
    if organizations == 0 {
        // Only actions that name no organization are written; the join still needs a row.
        conn.batch_execute("INSERT INTO demo_event_orgs (n, id, name) VALUES (0, 0, '')")?;
    }
    let actors = prepare_actors(conn)?;
    let actions = prepare_actions(conn, organizations > 0)?;
    let timeline = Timeline::over(now - Duration::days(SPAN_DAYS), now, n);
    let lookups = Lookups { actions, actors, organizations: organizations.max(1) };
    let mut done = 0u64;
    while done < n {
        let take = (n - done).min(bulk::CHUNK);
        let series = Series { from: done as i64, to: (done + take - 1) as i64 };
        let insert = insert_sql(conn, &series, &timeline, &lookups);
        db::write_transaction(conn, |conn| conn.batch_execute(&insert))
            .map_err(|e| anyhow::anyhow!("inserting audit events {}–{}: {e}", series.from, series.to))?;
        done += take;
        progress(done);
    }
    conn.batch_execute("DROP TABLE IF EXISTS demo_event_actions")?;
    conn.batch_execute("DROP TABLE IF EXISTS demo_event_actors")?;
    conn.batch_execute("DROP TABLE IF EXISTS demo_event_orgs")?;
    bulk::finish_load(conn, "audit_events")?;
    Ok(done)
}

/// How many rows each lookup table holds (the modulus that picks one).
struct Lookups {
    actions: i64,
    actors: i64,
    organizations: i64,
}

const TARGETS: [Target; 8] = [
    Target::Actor,
    Target::Organization,
    Target::Member,
    Target::Plan,
    Target::Administrator,
    Target::Directory,
    Target::Property,
    Target::Message,
];

const DETAILS: [Details; 9] = [
    Details::None,
    Details::OrganizationChange,
    Details::MemberAdded,
    Details::MemberChange,
    Details::SignInFailed,
    Details::Removal,
    Details::PlanChange,
    Details::PropertyChange,
    Details::Sync,
];

fn insert_sql(conn: &DbConn, series: &Series, timeline: &Timeline, lookups: &Lookups) -> String {
    let targets: Vec<String> =
        TARGETS.iter().enumerate().map(|(i, t)| format!("WHEN {i} THEN {}", target_sql(*t))).collect();
    let details: Vec<String> =
        DETAILS.iter().enumerate().map(|(i, d)| format!("WHEN {i} THEN {}", details_sql(*d))).collect();
    format!(
        "{with} INSERT INTO audit_events (occurred_at, scope, actor_id, actor_email, organization_id, \
         organization_name, action, target, details, client_addr)
         SELECT {time}, a.scope, p.actor_id, p.email,
                CASE WHEN a.with_org = 1 THEN o.id END, CASE WHEN a.with_org = 1 THEN o.name ELSE '' END,
                a.action, CASE a.target {targets} END, CASE a.details {details} END,
                '10.' || (s.h % 200) || '.' || (s.h / 200 % 250) || '.' || (s.h / 50000 % 250 + 1)
         FROM {source} AS s
         CROSS JOIN demo_event_actions AS a CROSS JOIN demo_event_actors AS p CROSS JOIN demo_event_orgs AS o
         WHERE a.n = s.h % {actions} AND p.n = s.h / 7 % {actors} AND o.n = s.h / 11 % {organizations}
         {order}",
        with = series.with_clause(conn),
        time = timeline.at(conn, "s.i", "0"),
        source = series.source(conn),
        targets = targets.join(" "),
        details = details.join(" "),
        actions = lookups.actions,
        actors = lookups.actors,
        organizations = lookups.organizations,
        order = Series::in_order(conn),
    )
}

/// `ACTORS` actors in `demo_event_actors`: real accounts first (platform administrators before
/// others), then staff addresses that name no account (as after an account was deleted).
fn prepare_actors(conn: &mut DbConn) -> anyhow::Result<i64> {
    #[derive(QueryableByName)]
    struct Account {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Text)]
        email: String,
    }
    conn.batch_execute(
        "DROP TABLE IF EXISTS demo_event_actors; \
         CREATE TEMPORARY TABLE demo_event_actors (n INTEGER PRIMARY KEY, actor_id BIGINT, email TEXT NOT NULL)",
    )?;
    let real: Vec<Account> = diesel::sql_query(format!(
        "SELECT id, email FROM accounts ORDER BY is_platform_admin DESC, id LIMIT {REAL_ACTORS}"
    ))
    .load(conn)?;
    let mut rows: Vec<String> =
        real.iter().enumerate().map(|(n, a)| format!("({n}, {}, {})", a.id, literal(&a.email))).collect();
    let domains = ["ops.example", "helpdesk.example", "it.example.org", "admins.example.net"];
    for n in rows.len() as i64..ACTORS {
        let domain = domains[(n as usize) % domains.len()];
        rows.push(format!("({n}, NULL, 'staff{n}@{domain}')"));
    }
    bulk::insert_values(conn, "demo_event_actors (n, actor_id, email)", &rows)?;
    Ok(rows.len() as i64)
}

/// The actions, each repeated by its weight, in `demo_event_actions` numbered from 0. Without
/// organizations only the actions that name none. Returns how many rows.
fn prepare_actions(conn: &mut DbConn, with_organizations: bool) -> anyhow::Result<i64> {
    conn.batch_execute(
        "DROP TABLE IF EXISTS demo_event_actions; \
         CREATE TEMPORARY TABLE demo_event_actions (n INTEGER PRIMARY KEY, scope TEXT NOT NULL, \
         action TEXT NOT NULL, with_org INTEGER NOT NULL, target INTEGER NOT NULL, details INTEGER NOT NULL)",
    )?;
    let mut rows = Vec::new();
    for &(action, in_org, with_org, weight, target, details) in ACTIONS {
        if with_org && !with_organizations {
            continue;
        }
        let scope = if in_org { "organization" } else { "platform" };
        for _ in 0..weight {
            let n = rows.len();
            rows.push(format!(
                "({n}, '{scope}', '{action}', {}, {}, {})",
                i32::from(with_org),
                target as i32,
                details as i32
            ));
        }
    }
    bulk::insert_values(conn, "demo_event_actions (n, scope, action, with_org, target, details)", &rows)?;
    Ok(rows.len() as i64)
}
