//! `orgportal demo-data --outbox N`: synthetic outbox messages in every status, for the outbox
//! page at scale, written like the events (`super::events`): one `INSERT … SELECT` over a
//! generated series per chunk.
//!
//! A running server's worker must never send them. Most are `sent` or `cancelled`, with their
//! bodies wiped as the worker and `mail::cancel_queued` leave them, or `failed`. The few
//! `queued` ones are due ten years from now and the few `sending` ones hold a claim as long,
//! so the worker does not claim them. And no body of a message that is not sent opens: each is
//! the sealed prefix with nothing after it, so the worker's start does not seal it again
//! (`seal_legacy_bodies` skips sealed bodies) and a Retry, or a claim a decade on, fails to
//! open it and marks the message failed without sending anything.

use chrono::{Duration, NaiveDateTime};
use diesel::connection::SimpleConnection;

use super::bulk::{self, literal, Series, Timeline};
use crate::db::{self, DbConn};
use crate::mail::messages;
use crate::mail::sealed;

/// Messages are created over the last six months.
const SPAN_DAYS: i64 = 182;
/// Distinct recipients beyond the organizations' own addresses.
const PEOPLE: i64 = 100_000;

/// `(kind, subject before the organization's name, about an organization)`: the messages the
/// portal queues (`mail::messages`), roughly as often as it queues them.
const KINDS: &[(&str, &str, bool, i64)] = &[
    (messages::USER_INVITATION, "You are invited to join ", true, 30),
    (messages::READY_FOR_VALIDATION, "A new user is ready for validation in ", true, 15),
    (messages::ACCOUNT_VALIDATED, "Your account in ", true, 15),
    (messages::ADDED_TO_ORGANIZATION, "You were added to ", true, 8),
    (messages::INVITATION, "You are invited to administer ", true, 4),
    (messages::ADDED_AS_ADMINISTRATOR, "You now administer ", true, 2),
    (messages::REMOVAL_NOTICE, "Scheduled for removal: ", true, 1),
    (messages::REMOVAL_WITHDRAWN, "The removal was withdrawn: ", true, 1),
    (messages::REMOVAL_CARRIED_OUT, "Removed: ", true, 1),
    (messages::REMOVAL_AWAITS_APPROVAL, "Removal awaits your approval: ", true, 1),
    (messages::PASSWORD_RESET, "Choose a new password", false, 10),
    (messages::SECOND_FACTOR_REMOVED, "Two-step sign-in was removed from your account", false, 1),
];

/// Per thousand messages: sent below 850, failed below 930, cancelled below 985, queued below
/// 995, the rest sending.
const STATUS_BY_PERMILLE: &str = "CASE WHEN s.h % 1000 < 850 THEN 'sent' WHEN s.h % 1000 < 930 THEN 'failed' \
     WHEN s.h % 1000 < 985 THEN 'cancelled' WHEN s.h % 1000 < 995 THEN 'queued' ELSE 'sending' END";

/// Insert `n` outbox messages; `progress` hears how many are in after each chunk. Returns how
/// many were inserted.
pub fn load_outbox(
    conn: &mut DbConn,
    n: u64,
    now: NaiveDateTime,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<u64> {
    if n == 0 {
        return Ok(0);
    }
    bulk::tune_for_load(conn)?;
    let organizations = bulk::sample_organizations(conn, "demo_outbox_orgs")?;
    if organizations == 0 {
        conn.batch_execute("INSERT INTO demo_outbox_orgs (n, id, name) VALUES (0, 0, '')")?;
    }
    let kinds = prepare_kinds(conn, organizations > 0)?;
    let timeline = Timeline::over(now - Duration::days(SPAN_DAYS), now, n);
    // Message-IDs must be unique across loads: this load's own token in each.
    let run = crate::auth::random_token(9).replace(['-', '_'], "x");
    let far_future = bulk::timestamp(conn, now + Duration::days(3_650));
    let mut done = 0u64;
    while done < n {
        let take = (n - done).min(bulk::CHUNK);
        let series = Series { from: done as i64, to: (done + take - 1) as i64 };
        let insert = insert_sql(conn, &series, &timeline, &run, &far_future, (kinds, organizations.max(1)));
        db::write_transaction(conn, |conn| conn.batch_execute(&insert))
            .map_err(|e| anyhow::anyhow!("inserting outbox messages {}–{}: {e}", series.from, series.to))?;
        done += take;
        progress(done);
    }
    conn.batch_execute("DROP TABLE IF EXISTS demo_outbox_kinds")?;
    conn.batch_execute("DROP TABLE IF EXISTS demo_outbox_orgs")?;
    bulk::finish_load(conn, "outbox")?;
    Ok(done)
}

fn insert_sql(
    conn: &DbConn,
    series: &Series,
    timeline: &Timeline,
    run: &str,
    far_future: &str,
    (kinds, organizations): (i64, i64),
) -> String {
    let created = timeline.at(conn, "s.i", "0");
    let sent = timeline.at(conn, "s.i", "s.h % 120 + 1");
    let unopenable = literal(sealed::PREFIX);
    format!(
        "{with} INSERT INTO outbox (message_id, kind, organization_id, recipient, subject, body_text, body_html, \
         status, attempts, next_attempt_at, claimed_until, last_error, created_at, sent_at)
         SELECT '<demo.' || s.i || '.{run}@orgportal.invalid>', k.kind, CASE WHEN k.with_org = 1 THEN o.id END,
                CASE WHEN k.with_org = 1 AND s.h % 3 = 0 THEN 'admin@org' || o.id || '.example'
                     ELSE 'person' || (s.h / 1009 % {PEOPLE}) || '@' || CASE s.h / 7 % 4 WHEN 0 THEN 'example.com'
                          WHEN 1 THEN 'mail.example.org' WHEN 2 THEN 'corp.example.net' ELSE 'example.co.uk' END END,
                CASE WHEN k.with_org = 1 THEN k.subject || o.name ELSE k.subject END,
                CASE WHEN s.status IN ('sent', 'cancelled') THEN '' ELSE {unopenable} END,
                CASE WHEN s.status IN ('sent', 'cancelled') THEN '' ELSE {unopenable} END,
                s.status,
                CASE s.status WHEN 'sent' THEN 1 + s.h % 2 WHEN 'failed' THEN CASE WHEN s.h % 2 = 0 THEN 10 ELSE 1 END
                     WHEN 'queued' THEN s.h % 3 WHEN 'sending' THEN 1 ELSE 0 END,
                CASE WHEN s.status = 'queued' THEN {far_future} ELSE {created} END,
                CASE WHEN s.status = 'sending' THEN {far_future} END,
                CASE WHEN s.status = 'failed' AND s.h % 2 = 0 THEN 'SMTP delivery failed: Connection refused (os error 111)'
                     WHEN s.status = 'failed' THEN 'the SMTP server refused it: 550 5.1.1 mailbox unavailable'
                     WHEN s.status = 'cancelled' THEN 'the removal request was withdrawn before this was due'
                     WHEN s.status = 'queued' AND s.h % 3 > 0 THEN 'SMTP delivery failed: timed out'
                     ELSE '' END,
                {created},
                CASE WHEN s.status = 'sent' THEN {sent} END
         FROM (SELECT i, h, {STATUS_BY_PERMILLE} AS status FROM {source} AS s) AS s
         CROSS JOIN demo_outbox_kinds AS k CROSS JOIN demo_outbox_orgs AS o
         WHERE k.n = s.h / 13 % {kinds} AND o.n = s.h / 17 % {organizations}
         {order}",
        with = series.with_clause(conn),
        source = series.source(conn),
        order = Series::in_order(conn),
    )
}

/// The kinds, each repeated by its weight, in `demo_outbox_kinds` numbered from 0. Without
/// organizations only the kinds about none. Returns how many rows.
fn prepare_kinds(conn: &mut DbConn, with_organizations: bool) -> anyhow::Result<i64> {
    conn.batch_execute(
        "DROP TABLE IF EXISTS demo_outbox_kinds; \
         CREATE TEMPORARY TABLE demo_outbox_kinds (n INTEGER PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL, \
         with_org INTEGER NOT NULL)",
    )?;
    let mut rows = Vec::new();
    for &(kind, subject, with_org, weight) in KINDS {
        if with_org && !with_organizations {
            continue;
        }
        for _ in 0..weight {
            let n = rows.len();
            rows.push(format!("({n}, {}, {}, {})", literal(kind), literal(subject), i32::from(with_org)));
        }
    }
    bulk::insert_values(conn, "demo_outbox_kinds (n, kind, subject, with_org)", &rows)?;
    Ok(rows.len() as i64)
}
