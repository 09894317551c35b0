//! `orgportal demo-data --orgs N [--users-per-org M]`: bulk synthetic organizations for
//! benchmarks. Rows go in without per-row upkeep, in transactions of `CHUNK` rows, each of
//! which also moves the organization counter, so a server reading the same database shows the
//! new rows and totals at once. The sort indexes are dropped during the load and built again
//! (sorting is far cheaper than a million random inserts), and the search index is built for
//! all new rows in one statement at the end. A server keeps working meanwhile: its sorted pages
//! are slower, and searches find the new rows once the load ends.

mod bulk;
mod events;
pub mod members;
mod names;
mod outbox;

pub use events::load_events;
pub use outbox::load_outbox;

use std::io::IsTerminal;
use std::time::Instant;

use chrono::{Duration, NaiveDateTime};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::db::{self, org_index, DbConn};
use crate::domain::{fold, AccountStatus, MembershipStatus};

/// Rows per transaction: large enough to amortise the commit, short enough that a server
/// writing the same SQLite database waits well under its busy timeout.
const CHUNK: u64 = 250_000;
/// Rows per INSERT statement.
const STATEMENT_ROWS: usize = 500;

#[derive(Debug)]
pub struct Report {
    pub organizations: u64,
    pub users: u64,
    pub seconds: f64,
    /// Where the time went: writing rows, indexing them for search, sort indexes and
    /// statistics, and waiting for the generator.
    pub phases: [f64; 4],
}

#[derive(QueryableByName)]
struct MaxId {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

fn max_org_id(conn: &mut DbConn) -> QueryResult<i64> {
    let row: MaxId = diesel::sql_query("SELECT COALESCE(MAX(id), 0) AS id FROM organizations").get_result(conn)?;
    Ok(row.id)
}

/// SQL text literal (the generator's own text; quotes doubled).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn timestamp(at: NaiveDateTime) -> String {
    format!("'{}'", at.format("%Y-%m-%d %H:%M:%S%.6f"))
}

/// One generated organization row.
struct DemoRow {
    name: String,
    name_key: String,
    contact: String,
    contact_key: String,
    quota_gb: i64,
    seats: Option<i64>,
    created: NaiveDateTime,
}

impl DemoRow {
    fn sql_values(&self, users_per_org: u64) -> String {
        let seats = self.seats.map_or_else(|| "NULL".to_owned(), |s| s.to_string());
        let created = timestamp(self.created);
        format!(
            "({}, {}, {}, {}, {}, {}, {seats}, FALSE, {users_per_org}, 0, {created}, {created})",
            literal(&self.name),
            literal(&self.name_key),
            literal(&self.contact),
            literal(&self.contact_key),
            literal(&self.contact),
            self.quota_gb,
        )
    }
}

/// Rows made on another thread, so generating them overlaps writing them (a load keeps both
/// cores busy). An endless stream: names that clash with existing ones are skipped by the
/// database, and the loader takes rows until enough landed.
fn spawn_generator(
    first_index: u64,
    users_per_org: u64,
    first_created: NaiveDateTime,
    step: Duration,
) -> std::sync::mpsc::Receiver<Vec<DemoRow>> {
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<DemoRow>>(8);
    std::thread::spawn(move || {
        let mut n = first_index;
        let mut position = 0i32;
        loop {
            let mut rows = Vec::with_capacity(STATEMENT_ROWS);
            for _ in 0..STATEMENT_ROWS {
                let org = names::org(n);
                rows.push(DemoRow {
                    name_key: fold(&org.name),
                    contact_key: fold(&org.contact),
                    name: org.name,
                    contact: org.contact,
                    quota_gb: (n.wrapping_mul(7919) % 5_000) as i64 + 10,
                    seats: (n % 3 != 0).then(|| ((n % 500) + 5 + users_per_org) as i64),
                    created: first_created + step * position,
                });
                n += 1;
                position = position.saturating_add(1);
            }
            // The loader hung up: it has all it needs.
            if sender.send(rows).is_err() {
                return;
            }
        }
    });
    receiver
}

/// Write `rows`, skipping names that exist; returns how many landed. SQLite gets one prepared
/// single-row INSERT, executed again and again (parsing a million rows of SQL text costs
/// seconds); PostgreSQL gets multi-row INSERTs, which save it round trips.
fn insert_rows(conn: &mut DbConn, rows: &[DemoRow], users_per_org: u64) -> QueryResult<u64> {
    use crate::db::schema::organizations::dsl::*;
    match conn {
        DbConn::Sqlite(sqlite) => {
            let mut landed = 0;
            for row in rows {
                landed += diesel::insert_or_ignore_into(organizations)
                    .values((
                        name.eq(&row.name),
                        name_key.eq(&row.name_key),
                        contact_email.eq(&row.contact),
                        contact_key.eq(&row.contact_key),
                        admin_email.eq(&row.contact),
                        quota_gb.eq(row.quota_gb),
                        seats.eq(row.seats),
                        is_default.eq(false),
                        member_count.eq(users_per_org as i64),
                        quota_allocated_gb.eq(0i64),
                        created_at.eq(row.created),
                        updated_at.eq(row.created),
                    ))
                    .execute(sqlite)? as u64;
            }
            Ok(landed)
        }
        DbConn::Pg(_) => {
            let values: Vec<String> = rows.iter().map(|row| row.sql_values(users_per_org)).collect();
            let statement = format!(
                "INSERT INTO organizations (name, name_key, contact_email, contact_key, admin_email, quota_gb, seats, \
                 is_default, member_count, quota_allocated_gb, created_at, updated_at) VALUES {} \
                 ON CONFLICT (name_key) DO NOTHING",
                values.join(", ")
            );
            diesel::sql_query(statement).execute(conn).map(|n| n as u64)
        }
    }
}

/// Insert `orgs` organizations (and `users_per_org` active members each).
pub fn load(conn: &mut DbConn, orgs: u64, users_per_org: u64, now: NaiveDateTime) -> anyhow::Result<Report> {
    let started = Instant::now();
    if let DbConn::Pg(_) = conn {
        // Memory for building the indexes again at the end, for this session only.
        conn.batch_execute("SET maintenance_work_mem = '512MB'")?;
    }
    if let DbConn::Sqlite(_) = conn {
        // For this connection only: index pages stay in memory (1 GiB cache), commits do not
        // fsync, and the WAL is copied back once at the end instead of after every chunk.
        conn.batch_execute(
            "PRAGMA cache_size = -1048576; PRAGMA synchronous = OFF; PRAGMA wal_autocheckpoint = 0; PRAGMA threads = 2;",
        )?;
    }
    let progress = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(orgs);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{wide_bar}] {human_pos}/{human_len} organizations, {per_sec}, {eta} left",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut phases = [0f64; 4];
    org_index::drop_rebuilt_indexes(conn)?;
    let search_from = max_org_id(conn)?;
    // Names are numbered from the current largest id, so a second run adds new names; creation
    // times rise with the index, a minute and a half apart, ending now.
    let step = Duration::seconds(97);
    let first_created = now - step * i32::try_from(orgs).unwrap_or(i32::MAX);
    let rows = spawn_generator(search_from as u64, users_per_org, first_created, step);
    let mut pending: std::collections::VecDeque<DemoRow> = std::collections::VecDeque::new();
    let mut inserted_total = 0u64;
    let mut users_total = 0u64;
    while inserted_total < orgs {
        let want = (orgs - inserted_total).min(CHUNK);
        let (inserted, users) = db::write_transaction(conn, |conn| -> anyhow::Result<(u64, u64)> {
            let before = max_org_id(conn)?;
            let mut inserted = 0u64;
            while inserted < want {
                let take = ((want - inserted) as usize).min(STATEMENT_ROWS);
                let waiting = Instant::now();
                while pending.len() < take {
                    pending.extend(rows.recv().map_err(|_| anyhow::anyhow!("the name generator stopped"))?);
                }
                phases[3] += waiting.elapsed().as_secs_f64();
                let batch: Vec<DemoRow> = pending.drain(..take).collect();
                let writing = Instant::now();
                inserted += insert_rows(conn, &batch, users_per_org)?;
                phases[0] += writing.elapsed().as_secs_f64();
            }
            org_index::bulk_counted(conn, inserted as i64)?;
            let users = if users_per_org > 0 { add_members(conn, before, users_per_org, now)? } else { 0 };
            Ok((inserted, users))
        })?;
        inserted_total += inserted;
        users_total += users;
        progress.inc(inserted);
    }
    drop(rows);
    progress.finish_and_clear();
    // The search index in one statement for the whole load: far cheaper than per chunk.
    let indexing = Instant::now();
    db::write_transaction(conn, |conn| org_index::bulk_indexed(conn, search_from))?;
    phases[1] = indexing.elapsed().as_secs_f64();
    let finishing = Instant::now();
    finish(conn)?;
    phases[2] = finishing.elapsed().as_secs_f64();
    Ok(Report { organizations: inserted_total, users: users_total, seconds: started.elapsed().as_secs_f64(), phases })
}

/// `per_org` active members (accounts without passwords) for every organization above `after_id`.
fn add_members(conn: &mut DbConn, after_id: i64, per_org: u64, now: NaiveDateTime) -> QueryResult<u64> {
    let numbers = (1..=per_org).map(|j| format!("({j})")).collect::<Vec<_>>().join(", ");
    let now = timestamp(now);
    // Constant words of ours and an integer, spliced like `now` (a `?` placeholder is SQLite's
    // spelling only: PostgreSQL's is `$1`, and this text goes to either).
    let (account_active, membership_active) = (AccountStatus::Active, MembershipStatus::Active);
    let accounts = diesel::sql_query(format!(
        "INSERT INTO accounts (email, status, created_at, updated_at)
         SELECT 'member' || v.column1 || '.org' || o.id || '@demo.example', '{account_active}', {now}, {now}
         FROM organizations o, (VALUES {numbers}) AS v
         WHERE o.id > {after_id}"
    ))
    .execute(conn)?;
    diesel::sql_query(format!(
        "INSERT INTO memberships (organization_id, account_id, status, quota_gb, created_at, updated_at)
         SELECT o.id, a.id, '{membership_active}', 0, {now}, {now}
         FROM organizations o, (VALUES {numbers}) AS v, accounts a
         WHERE o.id > {after_id} AND a.email = 'member' || v.column1 || '.org' || o.id || '@demo.example'"
    ))
    .execute(conn)?;
    Ok(accounts as u64)
}

/// After the load: merge the search index and refresh the planner's statistics (and, on
/// PostgreSQL, the visibility map that index-only scans rely on).
fn finish(conn: &mut DbConn) -> anyhow::Result<()> {
    let t = Instant::now();
    org_index::ensure_rebuilt_indexes(conn)?;
    log::info!("indexes built in {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    match conn {
        DbConn::Sqlite(c) => {
            c.batch_execute("PRAGMA analysis_limit = 1000; ANALYZE;")?;
            log::info!("statistics gathered in {:.1} s", t.elapsed().as_secs_f64());
            let t = Instant::now();
            c.batch_execute("PRAGMA synchronous = NORMAL; PRAGMA wal_checkpoint(TRUNCATE);")?;
            log::info!("write-ahead log copied back in {:.1} s", t.elapsed().as_secs_f64());
        }
        DbConn::Pg(c) => {
            // One statement per call: PostgreSQL runs a multi-statement string as one
            // transaction, and VACUUM refuses to run inside one.
            for statement in ["VACUUM ANALYZE organizations", "ANALYZE accounts", "ANALYZE memberships"] {
                c.batch_execute(statement)?;
            }
        }
    }
    Ok(())
}
