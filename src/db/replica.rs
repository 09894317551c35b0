//! The read replica (`DATABASE_REPLICA_URL`): a PostgreSQL streaming standby that serves list
//! pages and CSV exports, so the primary keeps its connections for writes.
//!
//! Who reads where:
//! - every write, every guard (sessions, roles) and every other page: the primary, always;
//! - a list page or an export: the replica, but only when the monitor has heard from it within
//!   the last few seconds, it is a standby lagging no more than `ORGPORTAL_REPLICA_MAX_LAG`, and
//!   it has replayed the viewer's own last change (the session's *floor*, below). Otherwise the
//!   primary: a replica that is down, lagging or not a standby is skipped with a warning in the
//!   log, never shown as an error page.
//!
//! "Just made a change": after each state-changing request of a signed-in session, the
//! primary's WAL position (`pg_current_wal_lsn()`, which is past that request's commits) is kept
//! in the session (`web::own_writes`). A read goes to the replica only once the replica's replay
//! position has reached it. The replay position used is the monitor's last reading (at most
//! about a second old), which can only understate it: the check errs towards the primary,
//! never towards a page without the viewer's change.
//!
//! The lag is measured without trusting either server's clock: each second the monitor notes
//! the primary's position, and the lag is the age of the oldest noted position the replica has
//! not replayed yet (so it is exact to about a second, and 0 on an idle primary).

use std::collections::VecDeque;
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::r2d2;
use diesel::sql_types::{Bool, Nullable, Text};

use super::{ConnectionManager, DatabaseTarget, Db, DbConn, Pool};
use crate::config::ReplicaSettings;

/// How often the monitor reads both servers' positions.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// A reading older than this no longer vouches for the replica (the monitor may be stuck on a
/// replica that stopped answering).
const STALE_AFTER: Duration = Duration::from_secs(3);
/// How long a list read waits for a replica connection before it reads the primary instead.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(1);
/// libpq's connect timeout for the monitor's own connection, in seconds.
const CONNECT_TIMEOUT_SECS: u32 = 2;
/// Primary positions kept for measuring the lag: past this, the lag is "at least" this old.
const LAG_MEMORY: Duration = Duration::from_secs(600);

/// A position in PostgreSQL's write-ahead log (`pg_lsn`), as one comparable number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, serde::Serialize, serde::Deserialize)]
pub struct WalPosition(pub u64);

impl WalPosition {
    /// `pg_lsn`'s text form, `16/B374D848`: two hexadecimal halves of a 64-bit number.
    pub fn parse(text: &str) -> Option<Self> {
        let (high, low) = text.trim().split_once('/')?;
        let high = u32::from_str_radix(high, 16).ok()?;
        let low = u32::from_str_radix(low, 16).ok()?;
        Some(Self((u64::from(high) << 32) | u64::from(low)))
    }
}

/// What the last reading found.
#[derive(Debug, Clone, PartialEq)]
pub enum Health {
    /// No reading yet (just started): the primary serves until the first one.
    NotChecked,
    /// A standby within the lag bound: it serves list reads.
    Serving { lag: Duration },
    /// A standby further behind than the bound.
    Lagging { lag: Duration },
    /// It answers but is not replaying a log (a primary, or a promoted standby): its data may
    /// have parted from the primary's, so it is never read.
    NotStandby,
    /// It could not be reached or failed a query.
    Down(String),
}

impl Health {
    /// One line for `/readyz` and the log.
    pub fn describe(&self) -> String {
        match self {
            Health::NotChecked => "not checked yet (reads use the primary)".into(),
            Health::Serving { lag } => format!("serving list reads, lag {:.1} s", lag.as_secs_f64()),
            Health::Lagging { lag } => format!("skipped: lag {:.1} s is past the bound", lag.as_secs_f64()),
            Health::NotStandby => "skipped: it is not a streaming standby (not in recovery)".into(),
            Health::Down(why) => format!("skipped: {why}"),
        }
    }

    fn lag(&self) -> Option<Duration> {
        match self {
            Health::Serving { lag } | Health::Lagging { lag } => Some(*lag),
            _ => None,
        }
    }
}

/// The last reading, and when it was taken.
#[derive(Debug, Clone)]
struct Reading {
    at: Instant,
    health: Health,
    replayed: WalPosition,
}

/// The read replica of one instance: its pool, and the monitor's last reading.
pub struct Replica {
    url: String,
    max_lag: Duration,
    pool: Pool,
    reading: RwLock<Reading>,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica").field("max_lag", &self.max_lag).finish_non_exhaustive()
    }
}

impl Replica {
    /// The replica's pool, opened lazily: a replica that is down at start delays nothing.
    pub fn new(settings: &ReplicaSettings, max_connections: u32) -> Arc<Self> {
        let manager = ConnectionManager::new(DatabaseTarget::Postgres(with_connect_timeout(&settings.url)));
        let pool = r2d2::Pool::builder()
            .max_size(max_connections)
            .min_idle(Some(0))
            .connection_timeout(CHECKOUT_TIMEOUT)
            // r2d2 logs every failed connection as an error; while the replica is away that
            // would be one line per attempt. `observe` says it once per change of state.
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(manager);
        Arc::new(Self {
            url: settings.url.clone(),
            max_lag: settings.max_lag,
            pool,
            reading: RwLock::new(Reading { at: Instant::now(), health: Health::NotChecked, replayed: WalPosition(0) }),
        })
    }

    /// Record a reading: what the replica is, and how far it has replayed. Logs each change of
    /// state once (not each second). Public so tests can stand in for the monitor.
    pub fn observe(&self, health: Health, replayed: WalPosition) {
        let Ok(mut reading) = self.reading.write() else { return };
        let was_serving = matches!(reading.health, Health::Serving { .. });
        let serving = matches!(health, Health::Serving { .. });
        if was_serving && !serving {
            log::warn!("read replica {}; list pages read the primary", health.describe());
        } else if serving && !was_serving {
            log::info!("read replica {}", health.describe());
        } else if !serving && std::mem::discriminant(&reading.health) != std::mem::discriminant(&health) {
            log::warn!("read replica {}", health.describe());
        }
        *reading = Reading { at: Instant::now(), health, replayed };
    }

    /// The state as `/readyz` reports it: a reading gone stale reads as down.
    pub fn health(&self) -> Health {
        let Ok(reading) = self.reading.read() else {
            return Health::Down("its state is unreadable".into());
        };
        if !matches!(reading.health, Health::NotChecked) && reading.at.elapsed() > STALE_AFTER {
            return Health::Down(format!("no reading for {} s", reading.at.elapsed().as_secs()));
        }
        reading.health.clone()
    }

    /// The last measured lag in seconds, `None` when there is no fresh measure.
    pub fn lag_seconds(&self) -> Option<f64> {
        self.health().lag().map(|lag| lag.as_secs_f64())
    }

    /// Whether a list read for a viewer whose last change is at `floor` may use the replica.
    pub fn serves(&self, floor: Option<WalPosition>) -> bool {
        let Ok(reading) = self.reading.read() else { return false };
        matches!(reading.health, Health::Serving { .. })
            && reading.at.elapsed() <= STALE_AFTER
            && floor.is_none_or(|floor| reading.replayed >= floor)
    }

    /// Run `work` on a replica connection; `None` (with the replica marked down until the next
    /// reading) when it cannot, so the caller reads the primary instead.
    pub(super) fn try_read<T>(&self, work: impl FnOnce(&mut DbConn) -> QueryResult<T>) -> Option<T> {
        let mut conn = match self.pool.get() {
            Ok(conn) => conn,
            Err(error) => {
                self.failed(format!(
                    "no connection within {} s ({})",
                    CHECKOUT_TIMEOUT.as_secs(),
                    first_line(&error.to_string())
                ));
                return None;
            }
        };
        match work(&mut conn) {
            Ok(value) => Some(value),
            Err(error) => {
                // Also a hot standby's "canceling statement due to conflict with recovery":
                // the primary answers the same read without that risk.
                self.failed(format!("a list read failed there ({})", first_line(&error.to_string())));
                None
            }
        }
    }

    fn failed(&self, why: String) {
        let replayed = self.reading.read().map(|r| r.replayed).unwrap_or_default();
        self.observe(Health::Down(why), replayed);
    }

    /// Start the monitor on its own thread; it ends when the replica is dropped.
    pub fn spawn_monitor(self: &Arc<Self>, primary: Db) -> std::io::Result<()> {
        let replica = Arc::downgrade(self);
        let url = with_connect_timeout(&self.url);
        std::thread::Builder::new().name("replica-monitor".into()).spawn(move || monitor(replica, url, primary))?;
        Ok(())
    }
}

/// Each second: note the primary's position, read the replica's, record what it means.
fn monitor(replica: Weak<Replica>, url: String, primary: Db) {
    let manager = ConnectionManager::new(DatabaseTarget::Postgres(url));
    let mut conn: Option<DbConn> = None;
    let mut lag_clock = LagClock::default();
    loop {
        let Some(replica) = replica.upgrade() else { return };
        let started = Instant::now();
        match primary.get().and_then(|mut c| primary_position(&mut c).map_err(Into::into)) {
            Ok(Some(position)) => lag_clock.note(started, position),
            Ok(None) => {}
            // The primary's own trouble shows on `/readyz`; the lag is measured from what was
            // noted before.
            Err(error) => log::debug!("replica monitor: cannot read the primary's position: {error}"),
        }
        let answer = match conn.as_mut() {
            Some(c) => replay_state(c),
            None => manager.open().map_err(|e| e.to_string()).and_then(|mut c| {
                let answer = replay_state(&mut c);
                conn = Some(c);
                answer
            }),
        };
        match answer {
            Ok(Some(replayed)) => {
                let lag = lag_clock.lag(Instant::now(), replayed);
                let health = if lag <= replica.max_lag { Health::Serving { lag } } else { Health::Lagging { lag } };
                replica.observe(health, replayed);
            }
            Ok(None) => replica.observe(Health::NotStandby, WalPosition(0)),
            Err(why) => {
                conn = None;
                replica.failed(format!("it does not answer ({})", first_line(&why)));
            }
        }
        drop(replica);
        std::thread::sleep(CHECK_EVERY.saturating_sub(started.elapsed()));
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text).trim()
}

#[derive(QueryableByName)]
struct ReplayRow {
    #[diesel(sql_type = Bool)]
    in_recovery: bool,
    #[diesel(sql_type = Nullable<Text>)]
    replayed: Option<String>,
}

/// The replica's replay position, `None` when it is not a standby.
fn replay_state(conn: &mut DbConn) -> Result<Option<WalPosition>, String> {
    let DbConn::Pg(pg) = conn else { return Err("the replica is not PostgreSQL".into()) };
    let row: ReplayRow =
        diesel::sql_query("SELECT pg_is_in_recovery() AS in_recovery, pg_last_wal_replay_lsn()::text AS replayed")
            .get_result(pg)
            .map_err(|e| e.to_string())?;
    if !row.in_recovery {
        return Ok(None);
    }
    // A standby that has replayed nothing yet is at position 0, behind everything.
    Ok(Some(row.replayed.as_deref().and_then(WalPosition::parse).unwrap_or_default()))
}

#[derive(QueryableByName)]
struct PositionRow {
    #[diesel(sql_type = Text)]
    position: String,
}

/// The primary's current WAL position: past every commit made before the call. `None` on
/// SQLite, which has no replica.
pub fn primary_position(conn: &mut DbConn) -> QueryResult<Option<WalPosition>> {
    let DbConn::Pg(pg) = conn else { return Ok(None) };
    let row: PositionRow = diesel::sql_query("SELECT pg_current_wal_lsn()::text AS position").get_result(pg)?;
    Ok(WalPosition::parse(&row.position))
}

/// The primary's positions over the last minutes, for measuring the replica's lag.
#[derive(Debug, Default)]
pub struct LagClock {
    noted: VecDeque<(Instant, WalPosition)>,
}

impl LagClock {
    /// Note the primary's position at `at`. Only advances are kept.
    pub fn note(&mut self, at: Instant, position: WalPosition) {
        if self.noted.back().is_some_and(|&(_, last)| last >= position) {
            return;
        }
        self.noted.push_back((at, position));
        while self.noted.front().is_some_and(|&(noted_at, _)| at.saturating_duration_since(noted_at) > LAG_MEMORY) {
            // Keep one entry past the memory, so a replica stuck that long still reads as
            // behind by at least the memory, not as caught up.
            if self.noted.len() == 1 {
                break;
            }
            self.noted.pop_front();
        }
    }

    /// How long ago the primary held a position the replica has not replayed yet (0 when it
    /// has replayed everything noted).
    pub fn lag(&mut self, now: Instant, replayed: WalPosition) -> Duration {
        // Positions the replica has reached can no longer make it lag (its replay position only
        // moves forward), so they are forgotten.
        while self.noted.front().is_some_and(|&(_, position)| position <= replayed) {
            self.noted.pop_front();
        }
        self.noted.front().map_or(Duration::ZERO, |&(at, _)| now.saturating_duration_since(at))
    }
}

/// libpq waits for a connection as long as the network does unless told; a replica that went
/// silent must cost a second or two, not minutes.
fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}connect_timeout={CONNECT_TIMEOUT_SECS}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_parse_as_pg_lsn_prints_them() {
        assert_eq!(WalPosition::parse("0/0"), Some(WalPosition(0)));
        assert_eq!(WalPosition::parse("16/B374D848"), Some(WalPosition(0x16_B374_D848)));
        assert_eq!(WalPosition::parse("FFFFFFFF/FFFFFFFF"), Some(WalPosition(u64::MAX)));
        assert!(WalPosition::parse("0/1") > WalPosition::parse("0/0"));
        assert!(WalPosition::parse("1/0") > WalPosition::parse("0/FFFFFFFF"));
        for junk in ["", "16", "16/", "/1", "g/1", "1/2/3", "100000000/0"] {
            assert_eq!(WalPosition::parse(junk), None, "{junk}");
        }
    }

    #[test]
    fn lag_is_the_age_of_the_oldest_position_not_replayed() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut clock = LagClock::default();
        clock.note(at(0), WalPosition(100));
        clock.note(at(1), WalPosition(200));
        clock.note(at(2), WalPosition(300));
        // Replayed up to 150: the primary was at 200 one second in, so 4 s later it lags 4 s.
        assert_eq!(clock.lag(at(5), WalPosition(150)), Duration::from_secs(4));
        assert_eq!(clock.lag(at(5), WalPosition(250)), Duration::from_secs(3));
        assert_eq!(clock.lag(at(5), WalPosition(300)), Duration::ZERO);
        // An idle primary (no new position) does not make a caught-up replica lag.
        assert_eq!(clock.lag(at(60), WalPosition(300)), Duration::ZERO);
    }

    #[test]
    fn a_replica_that_replays_nothing_lags_from_the_first_position_it_missed() {
        let start = Instant::now();
        let mut clock = LagClock::default();
        clock.note(start, WalPosition(10));
        assert_eq!(clock.lag(start + Duration::from_secs(7), WalPosition(10)), Duration::ZERO);
        clock.note(start + Duration::from_secs(8), WalPosition(20));
        clock.note(start + Duration::from_secs(9), WalPosition(30));
        assert_eq!(clock.lag(start + Duration::from_secs(12), WalPosition(10)), Duration::from_secs(4));
        // Far past the memory, a stuck replica still reads as lagging (by at least the memory).
        for s in 10..2000 {
            clock.note(start + Duration::from_secs(s), WalPosition(30 + s));
        }
        assert!(clock.lag(start + Duration::from_secs(2000), WalPosition(10)) >= LAG_MEMORY);
    }

    fn replica(max_lag: u64) -> Arc<Replica> {
        Replica::new(
            &ReplicaSettings { url: "postgres://127.0.0.1:1/none".into(), max_lag: Duration::from_secs(max_lag) },
            1,
        )
    }

    #[test]
    fn only_a_fresh_serving_reading_past_the_floor_serves() {
        let replica = replica(5);
        assert!(!replica.serves(None), "nothing read before the first reading");
        replica.observe(Health::Serving { lag: Duration::ZERO }, WalPosition(500));
        assert!(replica.serves(None));
        assert!(replica.serves(Some(WalPosition(500))));
        assert!(!replica.serves(Some(WalPosition(501))), "the viewer's own change is not there yet");
        replica.observe(Health::Lagging { lag: Duration::from_secs(9) }, WalPosition(500));
        assert!(!replica.serves(None));
        replica.observe(Health::NotStandby, WalPosition(0));
        assert!(!replica.serves(None));
        replica.observe(Health::Down("gone".into()), WalPosition(500));
        assert!(!replica.serves(None));
        assert_eq!(replica.lag_seconds(), None);
    }

    #[test]
    fn a_replica_that_cannot_be_reached_is_skipped_not_an_error() {
        let replica = replica(5);
        replica.observe(Health::Serving { lag: Duration::ZERO }, WalPosition(1));
        assert_eq!(replica.try_read(|_| Ok(1)), None);
        assert!(matches!(replica.health(), Health::Down(_)));
        assert!(!replica.serves(None));
    }

    #[test]
    fn the_connect_timeout_is_added_once() {
        assert_eq!(with_connect_timeout("postgres://h/db"), "postgres://h/db?connect_timeout=2");
        assert_eq!(
            with_connect_timeout("postgres://h/db?sslmode=disable"),
            "postgres://h/db?sslmode=disable&connect_timeout=2"
        );
        assert_eq!(with_connect_timeout("postgres://h/db?connect_timeout=9"), "postgres://h/db?connect_timeout=9");
    }
}
