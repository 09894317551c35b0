//! What the event and outbox loaders share: a series of row numbers made by the database
//! itself (so no row passes through Rust), the session settings of a bulk load, and small
//! lookup tables of organizations to spread rows over.

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::DbConn;

/// Rows per transaction: large enough to amortise the commit, short enough that a server
/// writing the same SQLite database waits well under its busy timeout.
pub const CHUNK: u64 = 250_000;
/// Rows per `INSERT … VALUES` of the small lookup tables.
const VALUES_PER_STATEMENT: usize = 500;
/// Organizations rows are spread over: sampled evenly across the id range, so one or ten
/// million organizations cost the same to set up.
const MAX_ORGANIZATIONS: i64 = 4_096;

/// SQL text literal (our own text, or names read back from the database; quotes doubled).
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A timestamp literal either backend stores in a timestamp column.
pub fn timestamp(conn: &DbConn, at: NaiveDateTime) -> String {
    let text = at.format("%Y-%m-%d %H:%M:%S%.6f");
    match conn {
        DbConn::Pg(_) => format!("TIMESTAMP '{text}'"),
        DbConn::Sqlite(_) => format!("'{text}'"),
    }
}

/// For this connection only. SQLite: index pages stay in memory, commits do not fsync, and the
/// write-ahead log is copied back once at the end (as `demo::load` does). PostgreSQL: commits do
/// not wait for the disk.
pub fn tune_for_load(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Sqlite(_) => conn.batch_execute(
            "PRAGMA cache_size = -1048576; PRAGMA synchronous = OFF; PRAGMA wal_autocheckpoint = 0; PRAGMA threads = 2;",
        ),
        DbConn::Pg(_) => conn.batch_execute("SET synchronous_commit = off"),
    }
}

/// After a load into `table`: the planner's statistics, durable settings again, and on SQLite
/// the write-ahead log copied back (PostgreSQL: the visibility map index-only scans use).
pub fn finish_load(conn: &mut DbConn, table: &str) -> QueryResult<()> {
    match conn {
        DbConn::Sqlite(_) => conn.batch_execute(&format!(
            "PRAGMA analysis_limit = 1000; ANALYZE {table}; PRAGMA synchronous = NORMAL; \
             PRAGMA wal_autocheckpoint = 1000; PRAGMA wal_checkpoint(TRUNCATE);"
        )),
        DbConn::Pg(_) => {
            // One statement per call: VACUUM refuses to run inside the transaction a
            // multi-statement string makes.
            conn.batch_execute(&format!("VACUUM ANALYZE {table}"))?;
            conn.batch_execute("SET synchronous_commit = on")
        }
    }
}

/// Row numbers `from..=to` as a table `s (i, h)`, with `h` a hash of `i` that spreads
/// consecutive rows over the lookup tables.
pub struct Series {
    pub from: i64,
    pub to: i64,
}

impl Series {
    /// The `WITH` clause to put before the `INSERT` (SQLite's recursive CTE; PostgreSQL needs none).
    pub fn with_clause(&self, conn: &DbConn) -> String {
        match conn {
            DbConn::Sqlite(_) => format!(
                "WITH RECURSIVE demo_series(i) AS (SELECT {} UNION ALL SELECT i + 1 FROM demo_series WHERE i < {})",
                self.from, self.to
            ),
            DbConn::Pg(_) => String::new(),
        }
    }

    /// The rows, as a subquery to alias.
    pub fn source(&self, conn: &DbConn) -> String {
        const HASH: &str = "(i * 2654435761) % 4294967291";
        match conn {
            DbConn::Sqlite(_) => format!("(SELECT i, {HASH} AS h FROM demo_series)"),
            DbConn::Pg(_) => {
                format!("(SELECT i, {HASH} AS h FROM generate_series({}::bigint, {}::bigint) AS i)", self.from, self.to)
            }
        }
    }

    /// SQLite inserts in the order the series is read; PostgreSQL may join by hashing, so the
    /// order is asked for (ids then rise with times).
    pub fn in_order(conn: &DbConn) -> &'static str {
        match conn {
            DbConn::Sqlite(_) => "",
            DbConn::Pg(_) => "ORDER BY s.i",
        }
    }
}

/// Times that rise evenly with the row number: `start + i × step`, plus `extra_seconds`.
pub struct Timeline {
    pub start: NaiveDateTime,
    pub step_micros: i64,
}

impl Timeline {
    /// `n` rows from `start` up to `end`.
    pub fn over(start: NaiveDateTime, end: NaiveDateTime, n: u64) -> Self {
        let span = (end - start).num_microseconds().unwrap_or(0).max(0);
        Self { start, step_micros: span / i64::try_from(n.max(1)).unwrap_or(i64::MAX) }
    }

    /// The SQL of the time of row `index` (an SQL expression), `extra_seconds` (another) later.
    pub fn at(&self, conn: &DbConn, index: &str, extra_seconds: &str) -> String {
        match conn {
            DbConn::Sqlite(_) => {
                let start = self.start.and_utc().timestamp_micros() as f64 / 1e6;
                let step = self.step_micros as f64 / 1e6;
                format!(
                    "strftime('%Y-%m-%d %H:%M:%f', {start:.6} + {index} * {step:.6} + {extra_seconds}, 'unixepoch')"
                )
            }
            DbConn::Pg(_) => format!(
                "({} + ({index} * {}) * INTERVAL '1 microsecond' + ({extra_seconds}) * INTERVAL '1 second')",
                timestamp(conn, self.start),
                self.step_micros
            ),
        }
    }
}

/// `INSERT INTO {target} VALUES …` of prepared value tuples, in statements of a few hundred.
pub fn insert_values(conn: &mut DbConn, target: &str, rows: &[String]) -> QueryResult<()> {
    for batch in rows.chunks(VALUES_PER_STATEMENT) {
        conn.batch_execute(&format!("INSERT INTO {target} VALUES {}", batch.join(", ")))?;
    }
    Ok(())
}

#[derive(QueryableByName)]
struct IdRange {
    #[diesel(sql_type = BigInt)]
    low: i64,
    #[diesel(sql_type = BigInt)]
    high: i64,
}

/// Up to `MAX_ORGANIZATIONS` organizations, spread evenly over the ids, in a temporary table
/// `table (n, id, name)` numbered from 0. Returns how many (0 when there are none).
pub fn sample_organizations(conn: &mut DbConn, table: &str) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Org {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Text)]
        name: String,
    }
    conn.batch_execute(&format!(
        "DROP TABLE IF EXISTS {table}; \
         CREATE TEMPORARY TABLE {table} (n INTEGER PRIMARY KEY, id BIGINT NOT NULL, name TEXT NOT NULL)"
    ))?;
    let range: IdRange =
        diesel::sql_query("SELECT COALESCE(MIN(id), 1) AS low, COALESCE(MAX(id), 0) AS high FROM organizations")
            .get_result(conn)?;
    if range.high < range.low {
        return Ok(0);
    }
    let ids = range.high - range.low + 1;
    let samples = ids.min(MAX_ORGANIZATIONS);
    let step = ids / samples;
    let mut picked: Vec<Org> = Vec::new();
    for i in 0..samples {
        // The first organization at or after an evenly spaced id: the gaps removals left are skipped.
        let from = range.low + i * step;
        let found: Option<Org> =
            diesel::sql_query(format!("SELECT id, name FROM organizations WHERE id >= {from} ORDER BY id LIMIT 1"))
                .get_result(conn)
                .optional()?;
        if let Some(org) = found.filter(|org| picked.last().is_none_or(|last| last.id < org.id)) {
            picked.push(org);
        }
    }
    let rows: Vec<String> =
        picked.iter().enumerate().map(|(n, org)| format!("({n}, {}, {})", org.id, literal(&org.name))).collect();
    insert_values(conn, &format!("{table} (n, id, name)"), &rows)?;
    Ok(picked.len() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_rise_evenly_over_the_span() {
        let start = NaiveDateTime::default();
        let end = start + chrono::Duration::days(730);
        assert_eq!(Timeline::over(start, end, 10_000_000).step_micros, 6_307_200);
        // No rows, or a span that runs backwards, never divides by zero or steps back.
        assert_eq!(Timeline::over(start, end, 0).step_micros, 730 * 86_400_000_000);
        assert_eq!(Timeline::over(end, start, 5).step_micros, 0);
    }

    #[test]
    fn literals_double_their_quotes() {
        assert_eq!(literal("O'Neil & Co"), "'O''Neil & Co'");
        assert_eq!(literal(""), "''");
        assert_eq!(literal("''"), "''''''");
    }
}
