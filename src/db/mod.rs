//! The database kernel: one connection type over PostgreSQL and SQLite, the pool, migrations,
//! and the few places where the two backends need different SQL.

pub mod account_index;
pub mod backup;
pub mod count;
mod migrations;
pub mod org_index;
pub mod replica;
pub mod schema;
pub mod search;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations};

pub use self::migrations::{run_migrations, under_migration_lock, MIGRATION_LOCK};
pub use self::replica::{Replica, WalPosition};
use crate::error::{AppError, Failure};

/// The SQLite schema's migrations, embedded in the binary (public so tests can build a
/// database at an older version).
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
/// The PostgreSQL schema's migrations, with the same version names.
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long a SQLite writer waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

/// A connection to either backend. Queries are written once against this type.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// The backend type diesel derives for `DbConn`, for dynamically built (boxed) queries.
pub type Backend = MultiBackend;

/// Escape `%`, `_` and `\` so user text matches literally inside a `LIKE … ESCAPE '\'` pattern.
pub fn like_contains(folded: &str) -> String {
    let mut pattern = String::with_capacity(folded.len() + 2);
    pattern.push('%');
    for c in folded.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Which backend a `DATABASE_URL` names, decided from its scheme alone.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    Postgres(String),
    Sqlite(PathBuf),
}

impl DatabaseTarget {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; `sqlite://PATH` or a plain path is
    /// SQLite. Any other scheme is refused rather than opened as a file named after it.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.is_empty() {
            return Err("the database URL is empty".into());
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a file path, e.g. sqlite://data/orgportal.db".into());
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = url.split_once("://") {
            return Err(format!(
                "unsupported database scheme `{scheme}://`: use postgres://, postgresql://, sqlite:// or a file path"
            ));
        }
        Ok(Self::Sqlite(PathBuf::from(url)))
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "PostgreSQL",
            Self::Sqlite(_) => "SQLite",
        }
    }
}

impl fmt::Debug for DatabaseTarget {
    // The PostgreSQL URL may carry a password; never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Postgres(_) => f.write_str("Postgres(…)"),
            Self::Sqlite(path) => write!(f, "Sqlite({})", path.display()),
        }
    }
}

/// The error of opening a connection, with the backend's own text kept intact.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot connect to PostgreSQL: {0}")]
    Postgres(ConnectionError),
    #[error("cannot open SQLite database {path}: {source}")]
    Sqlite { path: String, source: ConnectionError },
    #[error("cannot prepare SQLite connection: {0}")]
    SqliteSetup(diesel::result::Error),
    #[error("connection check failed: {0}")]
    Check(diesel::result::Error),
}

/// Our r2d2 manager: the variant is chosen from the URL scheme, never by trial
/// (SQLite would open almost any string as a file and libpq's error would be lost).
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    target: DatabaseTarget,
}

impl ConnectionManager {
    pub fn new(target: DatabaseTarget) -> Self {
        Self { target }
    }

    /// Open one connection, prepared as every pooled connection is.
    pub fn open(&self) -> Result<DbConn, ConnectError> {
        match &self.target {
            DatabaseTarget::Postgres(url) => {
                diesel::PgConnection::establish(url).map(DbConn::Pg).map_err(ConnectError::Postgres)
            }
            DatabaseTarget::Sqlite(path) => {
                let path_text = path.to_string_lossy().into_owned();
                let mut conn = diesel::SqliteConnection::establish(&path_text)
                    .map_err(|source| ConnectError::Sqlite { path: path_text.clone(), source })?;
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;"
                ))
                .map_err(ConnectError::SqliteSetup)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConn;
    type Error = ConnectError;

    fn connect(&self) -> Result<DbConn, ConnectError> {
        self.open()
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), ConnectError> {
        conn.batch_execute("SELECT 1").map_err(ConnectError::Check)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        match conn {
            DbConn::Pg(c) => AnsiTransactionManager::is_broken_transaction_manager(c),
            DbConn::Sqlite(c) => AnsiTransactionManager::is_broken_transaction_manager(c),
        }
    }
}

pub type Pool = r2d2::Pool<ConnectionManager>;

/// The shared handle handlers use: a pool and the knowledge of which backend it serves.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    target: DatabaseTarget,
    /// Callers blocked in `pool.get()` now; r2d2 does not count them, `/metrics` shows them.
    waiting: Arc<AtomicU32>,
    /// The streaming standby list pages read when it can (`replica`).
    replica: Option<Arc<Replica>>,
}

/// The pool as `/metrics` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    pub in_use: u32,
    pub idle: u32,
    pub waiting: u32,
}

/// Counts one caller waiting for a connection for as long as it lives (also on unwinding).
struct Waiting<'a>(&'a AtomicU32);

impl<'a> Waiting<'a> {
    fn start(counter: &'a AtomicU32) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Db {
    /// Open the pool and check that one connection works, so a wrong URL fails at start
    /// with the backend's message.
    pub fn connect(target: DatabaseTarget, max_size: u32) -> Result<Self, ConnectError> {
        if let DatabaseTarget::Sqlite(path) = &target {
            create_parent_dir(path);
        }
        let manager = ConnectionManager::new(target.clone());
        // Fail early with the real error: r2d2 would only report a timeout.
        drop(manager.open()?);
        let pool = r2d2::Pool::builder()
            .max_size(max_size)
            // Open connections on demand, not on background threads at start.
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(15))
            .build_unchecked(manager);
        Ok(Self { pool, target, waiting: Arc::default(), replica: None })
    }

    /// This pool with a read replica for list pages and exports.
    pub fn with_replica(mut self, replica: Arc<Replica>) -> Self {
        self.replica = Some(replica);
        self
    }

    pub fn replica(&self) -> Option<&Arc<Replica>> {
        self.replica.as_ref()
    }

    /// Connections lent out, idle in the pool, and callers waiting for one.
    pub fn pool_use(&self) -> PoolUse {
        let state = self.pool.state();
        PoolUse {
            in_use: state.connections.saturating_sub(state.idle_connections),
            idle: state.idle_connections,
            waiting: self.waiting.load(Ordering::Relaxed),
        }
    }

    pub fn target(&self) -> &DatabaseTarget {
        &self.target
    }

    /// A pooled connection for blocking code (CLI commands, the bootstrap, tests).
    pub fn get(&self) -> Result<r2d2::PooledConnection<ConnectionManager>, AppError> {
        self.pool.get().map_err(|e| AppError::Unexpected(anyhow::anyhow!("database pool: {e}")))
    }

    /// Run blocking database work off the async executor.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<AppError> + Send + 'static,
    {
        let (pool, waiting) = (self.pool.clone(), self.waiting.clone());
        web::block(move || {
            let mut conn = checkout(&pool, &waiting)?;
            work(&mut conn).map_err(Into::into)
        })
        .await
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("blocking task failed: {e}")))?
    }

    /// Run a list page's or an export's read-only `work`: on the replica when it has replayed
    /// `floor` (the viewer's last change) and is within its lag bound, else on the primary.
    /// `work` may run twice (on the replica, then the primary if the replica fails mid-way).
    pub async fn run_listing<T, F>(&self, floor: Option<WalPosition>, work: F) -> Result<T, AppError>
    where
        F: Fn(&mut DbConn) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (_, read) = self.run_guarded_listing(floor, |_| Ok(((), Some(()))), move |conn, ()| work(conn)).await?;
        read.ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("a list read without a check was refused")))
    }

    /// A guarded list read in one blocking hop: `check` on the primary (sessions and roles are
    /// never read from a replica) says who may read, then `work` runs for them as
    /// `run_listing` does. `work` gets what `check` admitted; it does not run when `check`
    /// admits no one.
    pub async fn run_guarded_listing<G, A, T, C, F>(
        &self,
        floor: Option<WalPosition>,
        check: C,
        work: F,
    ) -> Result<(G, Option<T>), AppError>
    where
        C: FnOnce(&mut DbConn) -> QueryResult<(G, Option<A>)> + Send + 'static,
        F: Fn(&mut DbConn, A) -> QueryResult<T> + Send + 'static,
        G: Send + 'static,
        A: Copy + Send + 'static,
        T: Send + 'static,
    {
        let (pool, waiting, replica) = (self.pool.clone(), self.waiting.clone(), self.replica.clone());
        web::block(move || -> Result<_, AppError> {
            let mut primary = checkout(&pool, &waiting)?;
            let (checked, admitted) = check(&mut primary)?;
            let Some(admitted) = admitted else { return Ok((checked, None)) };
            if let Some(replica) = replica.filter(|replica| replica.serves(floor)) {
                // The primary's connection goes back first: a list read holds one, not two.
                drop(primary);
                if let Some(read) = replica.try_read(|conn| work(conn, admitted)) {
                    return Ok((checked, Some(read)));
                }
                primary = checkout(&pool, &waiting)?;
            }
            Ok((checked, Some(work(&mut primary, admitted)?)))
        })
        .await
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("blocking task failed: {e}")))?
    }

    /// Where the primary's log stands now, past every change committed before: what a session
    /// remembers after its own change. `None` on SQLite.
    pub async fn primary_position(&self) -> Result<Option<WalPosition>, AppError> {
        self.run(replica::primary_position).await
    }

    /// Run a feature's act: its refusal comes back for the handler to re-render, a fault as
    /// the outer error for `?`.
    pub async fn attempt<T, R, F>(&self, work: F) -> Result<Result<T, R>, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, Failure<R>> + Send + 'static,
        T: Send + 'static,
        R: Send + 'static,
    {
        self.run(move |conn| Failure::split(work(conn))).await
    }
}

/// A pooled connection, counted as waiting (for `/metrics`) while the pool has none to lend.
fn checkout(pool: &Pool, waiting: &AtomicU32) -> Result<r2d2::PooledConnection<ConnectionManager>, AppError> {
    let waited = Waiting::start(waiting);
    let conn = pool.get();
    drop(waited);
    conn.map_err(|e| AppError::Unexpected(anyhow::anyhow!("database pool: {e}")))
}

fn create_parent_dir(path: &Path) {
    // The folder is created 0700 and the file 0600 (see `private_fs`). An error here
    // resurfaces, with a better message, when SQLite opens the file.
    if let Err(e) = crate::private_fs::prepare_sqlite_file(path) {
        log::warn!("cannot prepare the database file {}: {e}", path.display());
    }
}

/// A transaction for work that reads and then writes. On SQLite it begins with
/// `BEGIN IMMEDIATE`, taking the write lock up front, so a concurrent writer waits on the busy
/// timeout instead of failing with SQLITE_BUSY when it tries to upgrade a read lock.
pub fn write_transaction<T, E, F>(conn: &mut DbConn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let DbConn::Sqlite(sqlite) = conn else {
        return conn.transaction(work);
    };
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    let outcome = work(conn);
    let DbConn::Sqlite(sqlite) = conn else { unreachable!("a connection does not change its backend") };
    match outcome {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(sqlite)?;
            Ok(value)
        }
        Err(error) => {
            // The work's error is the one worth reporting; a failed rollback marks the
            // connection broken and the pool discards it.
            let _ = AnsiTransactionManager::rollback_transaction(sqlite);
            Err(error)
        }
    }
}

/// True when a diesel error is a unique-constraint violation (a race a form can lose).
pub fn is_unique_violation(error: &diesel::result::Error) -> bool {
    matches!(error, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}

/// True when `error` broke the unique index `index` (a race a form can lose, such as a taken
/// name). PostgreSQL names the index; SQLite names its columns, so both are accepted.
pub fn violates_unique_index(error: &diesel::result::Error, index: &str) -> bool {
    let diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, info) = error else {
        return false;
    };
    let column_form = index.split_once('_').map(|(table, column)| format!("{table}.{column}"));
    info.constraint_name() == Some(index) || column_form.is_some_and(|c| info.message().contains(&c))
}

/// Serialise a one-off piece of work across instances sharing a PostgreSQL database
/// (SQLite's `BEGIN IMMEDIATE` already serialises writers). Call inside a transaction.
pub fn lock_for_transaction(conn: &mut DbConn, key: i64) -> QueryResult<()> {
    if let DbConn::Pg(pg) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({key})")).execute(pg)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_match_wildcards_literally() {
        assert_eq!(like_contains("a%b_c\\d"), "%a\\%b\\_c\\\\d%");
        assert_eq!(like_contains(""), "%%");
    }

    #[test]
    fn postgres_urls_are_postgres() {
        for url in ["postgres://u@h/db", "postgresql://h/db", "  postgres://h/db  "] {
            assert!(matches!(DatabaseTarget::parse(url), Ok(DatabaseTarget::Postgres(_))), "{url}");
        }
    }

    #[test]
    fn sqlite_urls_and_plain_paths_are_sqlite() {
        assert_eq!(DatabaseTarget::parse("sqlite://data/x.db"), Ok(DatabaseTarget::Sqlite(PathBuf::from("data/x.db"))));
        assert_eq!(
            DatabaseTarget::parse("/var/lib/orgportal.db"),
            Ok(DatabaseTarget::Sqlite(PathBuf::from("/var/lib/orgportal.db")))
        );
    }

    #[test]
    fn unknown_schemes_and_empty_urls_are_refused() {
        assert!(DatabaseTarget::parse("mysql://h/db").unwrap_err().contains("mysql://"));
        assert!(DatabaseTarget::parse("").is_err());
        assert!(DatabaseTarget::parse("sqlite://").is_err());
    }

    #[test]
    fn debug_output_hides_postgres_credentials() {
        let target = DatabaseTarget::parse("postgres://u:secret@h/db").unwrap();
        assert!(!format!("{target:?}").contains("secret"));
    }
}
