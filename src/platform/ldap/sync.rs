//! Sync (issue 16 point 3): read the directory page by page and bring the single
//! organization's directory members in line with it.
//!
//! Exactly one instance runs a given connection's sync: `begin` inserts the run's
//! `ldap_syncs` row as `running`, which a partial unique index allows once per connection, so
//! two instances racing both try and one wins. The row is the lease: each batch renews
//! `lease_until` in its own transaction, and a run whose lease has passed (its instance was
//! killed) is marked failed by the next `begin`, so nothing stays "already running" for good.

use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use super::sync_write;
pub use super::sync_write::Counts;
use super::{client, queries, BindPasswordKey};
use crate::audit::{self, Actor, NewEvent};
use crate::clock::Clock;
use crate::db::schema::{ldap_connections, ldap_syncs};
use crate::db::{self, Db, DbConn};

/// How long a lease holds without renewal: far longer than one batch takes.
pub const LEASE: Duration = Duration::minutes(2);
/// Entries written per transaction.
pub const BATCH: usize = 500;
/// How often the schedule looks for due connections.
const TICK: StdDuration = StdDuration::from_secs(30);

const RUNNING: &str = "running";
const FINISHED: &str = "finished";
const FAILED: &str = "failed";

/// A name for this instance's runs, different in every process.
pub fn holder() -> String {
    format!("{}-{:016x}", std::process::id(), rand::random::<u64>())
}

/// Start a run of `connection_id` held by `holder`: `None` while another unexpired run holds
/// it. An expired run is marked failed first.
pub fn begin(conn: &mut DbConn, connection_id: i64, holder: &str, now: NaiveDateTime) -> QueryResult<Option<i64>> {
    db::write_transaction(conn, |conn| {
        diesel::update(
            ldap_syncs::table
                .filter(ldap_syncs::connection_id.eq(connection_id))
                .filter(ldap_syncs::status.eq(RUNNING))
                .filter(ldap_syncs::lease_until.lt(now)),
        )
        .set((
            ldap_syncs::status.eq(FAILED),
            ldap_syncs::finished_at.eq(Some(now)),
            ldap_syncs::last_error.eq("The instance running this sync stopped before it finished (its lease expired)."),
        ))
        .execute(conn)?;
        // A unique violation here (another run holds it) rolls back and answers `None` below.
        diesel::insert_into(ldap_syncs::table)
            .values((
                ldap_syncs::connection_id.eq(connection_id),
                ldap_syncs::started_at.eq(now),
                ldap_syncs::lease_holder.eq(holder),
                ldap_syncs::lease_until.eq(now + LEASE),
                ldap_syncs::status.eq(RUNNING),
            ))
            .execute(conn)?;
        ldap_syncs::table
            .filter(ldap_syncs::connection_id.eq(connection_id))
            .filter(ldap_syncs::status.eq(RUNNING))
            .select(ldap_syncs::id)
            .first(conn)
            .map(Some)
    })
    .or_else(|e| if db::is_unique_violation(&e) { Ok(None) } else { Err(e) })
}

/// A run as the progress page shows it.
#[derive(Debug, Clone)]
pub struct Run {
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub status: String,
    pub counts: Counts,
}

impl Run {
    pub fn is_running(&self) -> bool {
        self.status == RUNNING
    }
}

type RunRow = (NaiveDateTime, Option<NaiveDateTime>, String, (i64, i64, i64, i64, i64, String, String));

/// The connection's latest run.
pub fn latest(conn: &mut DbConn, connection: i64) -> QueryResult<Option<Run>> {
    use ldap_syncs::*;
    let row: Option<RunRow> = table
        .filter(connection_id.eq(connection))
        .order(id.desc())
        .select((
            started_at,
            finished_at,
            status,
            (entries_read, created, updated, removed, errors, last_error, error_list),
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(started, finished, state, (read, new, changed, gone, failed, last, listed))| Run {
        started_at: started,
        finished_at: finished,
        status: state,
        counts: Counts {
            entries_read: read,
            created: new,
            updated: changed,
            removed: gone,
            errors: failed,
            last_error: last,
            error_list: listed.lines().map(str::to_owned).collect(),
        },
    }))
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Another unexpired run holds the connection.
    AlreadyRunning,
    Finished(Counts),
    Failed(String),
}

/// Begin and carry out one run, on this (blocking) thread.
pub fn run(
    conn: &mut DbConn,
    key: &BindPasswordKey,
    clock: &Clock,
    connection_id: i64,
    holder: &str,
) -> anyhow::Result<Ended> {
    match begin(conn, connection_id, holder, clock.now())? {
        Some(sync_id) => carry_out(conn, key, clock, connection_id, sync_id, holder),
        None => Ok(Ended::AlreadyRunning),
    }
}

/// Carry out run `sync_id`, which `holder` began: read, write batch by batch, then end the
/// memberships of entries no longer there, and record how it ended.
pub fn carry_out(
    conn: &mut DbConn,
    key: &BindPasswordKey,
    clock: &Clock,
    connection_id: i64,
    sync_id: i64,
    holder: &str,
) -> anyhow::Result<Ended> {
    let job = Job { key, clock, connection_id, sync_id, holder };
    let mut counts = Counts::default();
    let outcome = read_and_write(conn, &job, &mut counts);
    let now = clock.now();
    let (status, ended) = match outcome {
        Ok(()) => (FINISHED, Ended::Finished(counts.clone())),
        Err(why) => {
            counts.last_error.clone_from(&why);
            (FAILED, Ended::Failed(why))
        }
    };
    db::write_transaction(conn, |conn| -> QueryResult<()> {
        let mine = diesel::update(
            ldap_syncs::table
                .find(sync_id)
                .filter(ldap_syncs::lease_holder.eq(holder))
                .filter(ldap_syncs::status.eq(RUNNING)),
        )
        .set((ldap_syncs::status.eq(status), ldap_syncs::finished_at.eq(Some(now)), counts.progress()))
        .execute(conn)?;
        if mine == 0 {
            return Ok(());
        }
        let name: String = ldap_connections::table
            .find(connection_id)
            .select(ldap_connections::name)
            .first(conn)
            .optional()?
            .unwrap_or_default();
        let details = json!({
            "status": status,
            "entries_read": counts.entries_read,
            "created": counts.created,
            "updated": counts.updated,
            "removed": counts.removed,
            "errors": counts.errors,
            "last_error": counts.last_error,
        });
        let actor = Actor { email: "LDAP sync".into(), ..Actor::command_line() };
        audit::record(conn, &NewEvent::platform(&actor, "ldap.synced", &name).details(details), now)
    })?;
    Ok(ended)
}

/// One run being carried out.
struct Job<'a> {
    key: &'a BindPasswordKey,
    clock: &'a Clock,
    connection_id: i64,
    sync_id: i64,
    holder: &'a str,
}

fn read_and_write(conn: &mut DbConn, job: &Job<'_>, counts: &mut Counts) -> Result<(), String> {
    let Job { key, clock, connection_id, sync_id, holder } = *job;
    let loaded = queries::load_with_password(conn, key, connection_id).map_err(|e| e.to_string())?;
    let (stored, password) = loaded.ok_or("The connection was deleted.")?;
    let password = password?;
    let org = sync_write::single_organization(conn).map_err(|e| e.to_string())??;
    let status = stored.settings.new_entry_status;
    let read = client::read_entries(&stored.settings, &password, BATCH, |entries| {
        let batch = sync_write::Batch { connection_id, sync_id, holder, org, status };
        sync_write::write_batch(conn, &batch, &entries, counts, clock.now())
    })?;
    let batch = sync_write::Batch { connection_id, sync_id, holder, org, status };
    if read == 0 && sync_write::tracked(conn, connection_id).map_err(|e| e.to_string())? > 0 {
        // A filter or base DN gone wrong reads nothing; that must not end every membership.
        return Err(
            "The directory returned no entries: nothing was removed. Check the base DN and the user filter.".into()
        );
    }
    sync_write::remove_unseen(conn, &batch, counts, || clock.now())
}

/// The schedule: on its own thread, start the runs of connections whose `schedule_minutes`
/// have passed since their last run began. Every instance may tick; the lease lets one run.
pub fn spawn_schedule(db: Db, key: BindPasswordKey, clock: std::sync::Arc<Clock>) -> std::io::Result<()> {
    std::thread::Builder::new().name("ldap-schedule".into()).spawn(move || {
        let holder = holder();
        loop {
            if let Err(e) = run_due(&db, &key, &clock, &holder) {
                log::warn!("LDAP schedule: {e:#}");
            }
            std::thread::sleep(TICK);
        }
    })?;
    Ok(())
}

/// Run every connection that is due now, one after another. Returns how many ran.
pub fn run_due(db: &Db, key: &BindPasswordKey, clock: &Clock, holder: &str) -> anyhow::Result<usize> {
    let mut conn = db.get()?;
    let due = due(&mut conn, clock.now())?;
    let mut ran = 0;
    for connection_id in due {
        match run(&mut conn, key, clock, connection_id, holder)? {
            Ended::AlreadyRunning => {}
            Ended::Failed(why) => {
                ran += 1;
                log::warn!("LDAP sync of connection {connection_id} failed: {why}");
            }
            Ended::Finished(_) => ran += 1,
        }
    }
    Ok(ran)
}

fn due(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Vec<i64>> {
    let scheduled: Vec<(i64, Option<i32>)> = ldap_connections::table
        .filter(ldap_connections::schedule_minutes.is_not_null())
        .select((ldap_connections::id, ldap_connections::schedule_minutes))
        .load(conn)?;
    let mut due = Vec::new();
    for (id, minutes) in scheduled {
        let Some(minutes) = minutes else { continue };
        let last: Option<NaiveDateTime> = ldap_syncs::table
            .filter(ldap_syncs::connection_id.eq(id))
            .select(diesel::dsl::max(ldap_syncs::started_at))
            .first(conn)?;
        if last.is_none_or(|last| last + Duration::minutes(i64::from(minutes)) <= now) {
            due.push(id);
        }
    }
    Ok(due)
}
