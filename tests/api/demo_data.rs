//! `demo-data --events N --outbox N`: the loaders write what they say, spread as they say, in
//! time order, nothing a running worker would send, and the pages still answer afterwards.

use std::collections::HashSet;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use orgportal::db::schema::{audit_events, organizations, outbox};

use crate::helpers::{SeedOrg, TestApp};
use crate::mailbox;
use crate::on_both_backends;

on_both_backends!(
    events_fill_both_trails_over_two_years_in_time_order,
    outbox_messages_span_every_status_and_are_never_sent,
    loaders_work_without_any_organization,
    organizations_with_members_load_and_keep_their_counters
);

const N: u64 = 2_000;

/// Five organizations besides Default, with a gap in the ids (a removed one).
fn seed_organizations(app: &TestApp) -> HashSet<i64> {
    let created_at = app.clock.now() - Duration::days(400);
    for (i, name) in ["Alpha Ltd", "Bravo GmbH", "Charlie O'Neil & Co", "Delta SA", "Echo BV"].into_iter().enumerate() {
        let contact = format!("contact{i}@example.com");
        app.seed_org(&SeedOrg { name, contact: &contact, quota_gb: 100, members: 0, created_at });
    }
    diesel::delete(organizations::table.filter(organizations::name.eq("Charlie O'Neil & Co")))
        .execute(&mut *app.conn())
        .expect("remove one");
    organizations::table.select(organizations::id).load::<i64>(&mut *app.conn()).expect("ids").into_iter().collect()
}

#[derive(Queryable)]
struct Event {
    id: i64,
    occurred_at: NaiveDateTime,
    scope: String,
    organization_id: Option<i64>,
    organization_name: String,
    actor_email: String,
    action: String,
    target: String,
    details: String,
}

async fn events_fill_both_trails_over_two_years_in_time_order(mut app: TestApp) {
    let organizations = seed_organizations(&app);
    let before: i64 = audit_events::table
        .select(diesel::dsl::max(audit_events::id))
        .first::<Option<i64>>(&mut *app.conn())
        .expect("max")
        .unwrap_or(0);
    let now = app.clock.now();
    let mut heard = Vec::new();
    let added = orgportal::demo::load_events(&mut app.conn(), N, now, |done| heard.push(done)).expect("load events");
    assert_eq!(added, N);
    assert_eq!(heard.last(), Some(&N), "progress reaches the total");

    let events: Vec<Event> = audit_events::table
        .filter(audit_events::id.gt(before))
        .order(audit_events::id.asc())
        .select((
            audit_events::id,
            audit_events::occurred_at,
            audit_events::scope,
            audit_events::organization_id,
            audit_events::organization_name,
            audit_events::actor_email,
            audit_events::action,
            audit_events::target,
            audit_events::details,
        ))
        .load(&mut *app.conn())
        .expect("events");
    assert_eq!(events.len() as u64, N);
    // Over the last two years, and ids in time order.
    let two_years_ago = now - Duration::days(731);
    assert!(events.iter().all(|e| e.occurred_at >= two_years_ago && e.occurred_at <= now));
    assert!(events.windows(2).all(|pair| pair[0].occurred_at <= pair[1].occurred_at && pair[0].id < pair[1].id));
    assert!(
        events[0].occurred_at < now - Duration::days(700)
            && events[events.len() - 1].occurred_at > now - Duration::days(30)
    );
    // Both trails; organization events name a real organization with its name.
    let names: std::collections::HashMap<i64, String> = organizations::table
        .select((organizations::id, organizations::name))
        .load::<(i64, String)>(&mut *app.conn())
        .expect("names")
        .into_iter()
        .collect();
    let in_org: Vec<&Event> = events.iter().filter(|e| e.scope == "organization").collect();
    assert!(in_org.len() > 200 && events.iter().filter(|e| e.scope == "platform").count() > 200);
    for event in &in_org {
        let id = event.organization_id.expect("an organization event names one");
        assert!(organizations.contains(&id), "{id}");
        assert_eq!(names.get(&id), Some(&event.organization_name));
    }
    let spread: HashSet<i64> = in_org.iter().filter_map(|e| e.organization_id).collect();
    assert_eq!(spread, organizations, "spread over every organization");
    // Real action names, actors and plausible details.
    let actions: HashSet<&str> = events.iter().map(|e| e.action.as_str()).collect();
    for action in ["account.sign_in", "membership.added", "organization.updated", "plan.created", "ldap.synced"] {
        assert!(actions.contains(action), "{action}");
    }
    assert!(actions.iter().all(|a| a.contains('.')));
    let actors: HashSet<&str> = events.iter().map(|e| e.actor_email.as_str()).collect();
    assert!(actors.len() > 100 && actors.contains("admin@default.com"), "{}", actors.len());
    for event in &events {
        let details: serde_json::Value = serde_json::from_str(&event.details).expect("details are JSON");
        assert!(details.is_object(), "{}", event.details);
        assert!(!event.target.is_empty(), "{}", event.action);
    }
    assert!(events.iter().any(|e| e.details.contains("\"before\"") && e.details.contains("\"after\"")));

    // The pages that read them still answer.
    app.login_as_admin().await;
    app.get("/admin/audit").await.assert_status(200);
    let default_org = app.org_id("Default");
    app.get(&format!("/orgs/{default_org}/audit")).await.assert_status(200);
}

async fn outbox_messages_span_every_status_and_are_never_sent(mut app: TestApp) {
    seed_organizations(&app);
    let now = app.clock.now();
    let mut heard = 0;
    let added = orgportal::demo::load_outbox(&mut app.conn(), N, now, |done| heard = done).expect("load outbox");
    assert_eq!((added, heard), (N, N));
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        String,
        String,
        String,
        NaiveDateTime,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
    )> = outbox::table
        .select((
            outbox::status,
            outbox::recipient,
            outbox::body_text,
            outbox::created_at,
            outbox::next_attempt_at,
            outbox::claimed_until,
            outbox::sent_at,
        ))
        .load(&mut *app.conn())
        .expect("messages");
    assert_eq!(rows.len() as u64, N);
    let count = |status: &str| rows.iter().filter(|r| r.0 == status).count();
    assert!(count("sent") > 1_000, "mostly sent");
    for status in ["queued", "sending", "failed", "cancelled"] {
        assert!(count(status) > 0, "{status}");
    }
    let recipients: HashSet<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert!(recipients.len() > 500, "{}", recipients.len());
    let decade = now + Duration::days(3_000);
    for (status, _, body, created, due, claimed, sent) in &rows {
        assert!(*created >= now - Duration::days(183) && *created <= now);
        match status.as_str() {
            "sent" => assert!(body.is_empty() && sent.is_some_and(|at| at > *created)),
            "cancelled" => assert!(body.is_empty()),
            // Bodies that never open: sealed, with nothing sealed in them.
            _ => assert_eq!(body, orgportal::mail::sealed::PREFIX),
        }
        if status == "queued" {
            assert!(*due > decade, "queued ones are due a decade on");
        }
        if status == "sending" {
            assert!(claimed.is_some_and(|until| until > decade), "sending ones hold their claim");
        }
    }
    // A running worker finds nothing to send, now or after its start-up pass.
    assert_eq!(mailbox::deliver_all(&app), 0);
    let worker = orgportal::mail::worker::Worker::new(app.state.db.clone(), app.clock.clone(), &app.state.config)
        .expect("worker");
    assert_eq!(worker.seal_legacy_bodies().expect("seal pass"), 0);
    // Retried, a failed one fails again without a message leaving.
    let failed: i64 = outbox::table
        .filter(outbox::status.eq("failed"))
        .select(outbox::id)
        .first(&mut *app.conn())
        .expect("a failed one");
    app.login_as_admin().await;
    app.get("/admin/outbox?status=failed").await.assert_status(200);
    app.post(&format!("/admin/outbox/{failed}/retry"), &[]).await.assert_redirect("/admin/outbox");
    assert_eq!(mailbox::deliver_all(&app), 1);
    assert!(mailbox::files(&app).is_empty(), "nothing was written");
    let (status, error): (String, String) =
        outbox::table.find(failed).select((outbox::status, outbox::last_error)).first(&mut *app.conn()).expect("row");
    assert_eq!(status, "failed");
    assert!(error.contains("cannot be opened"), "{error}");
    for path in ["/admin/outbox", "/admin/outbox?status=sending", "/admin/outbox?per_page=100&page=3"] {
        app.get(path).await.assert_status(200);
    }
}

async fn loaders_work_without_any_organization(mut app: TestApp) {
    diesel::delete(organizations::table).execute(&mut *app.conn()).expect("no organizations");
    let now = app.clock.now();
    assert_eq!(orgportal::demo::load_events(&mut app.conn(), 300, now, |_| {}).expect("events"), 300);
    assert_eq!(orgportal::demo::load_outbox(&mut app.conn(), 300, now, |_| {}).expect("outbox"), 300);
    let named: i64 = audit_events::table
        .filter(audit_events::organization_id.is_not_null().or(audit_events::scope.eq("organization")))
        .filter(audit_events::action.ne("platform.bootstrap"))
        .count()
        .get_result(&mut *app.conn())
        .expect("count");
    assert_eq!(named, 0, "only events that name no organization");
    let about_orgs: i64 = outbox::table
        .filter(outbox::organization_id.is_not_null())
        .count()
        .get_result(&mut *app.conn())
        .expect("count");
    assert_eq!(about_orgs, 0);
    app.login_as_admin().await;
    app.get("/admin/outbox").await.assert_status(200);
    app.get("/admin/audit").await.assert_status(200);
}

/// `demo-data --orgs N --users-per-org M` on either backend (its member statements once used
/// SQLite's `?` placeholder, which PostgreSQL refuses), with the totals the pages read.
async fn organizations_with_members_load_and_keep_their_counters(app: TestApp) {
    use orgportal::db::schema::memberships;
    let before: i64 = organizations::table.count().get_result(&mut *app.conn()).expect("count");
    let report = orgportal::demo::load(&mut app.conn(), 30, 3, app.clock.now()).expect("load organizations");
    assert_eq!((report.organizations, report.users), (30, 90));
    let after: i64 = organizations::table.count().get_result(&mut *app.conn()).expect("count");
    assert_eq!(after - before, 30);
    let counted: Vec<(i64, i64)> = organizations::table
        .filter(organizations::is_default.eq(false))
        .select((organizations::id, organizations::member_count))
        .load(&mut *app.conn())
        .expect("counters");
    for (id, member_count) in counted {
        let real: i64 = memberships::table
            .filter(memberships::organization_id.eq(id))
            .count()
            .get_result(&mut *app.conn())
            .expect("members");
        assert_eq!((member_count, real), (3, 3), "organization {id}");
    }
}
