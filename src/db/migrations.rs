//! Migrations: run at start by every instance, one at a time on a shared PostgreSQL database.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::MigrationHarness;

use super::{DbConn, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};

/// Advisory-lock key (PostgreSQL) that lets one starting instance at a time migrate.
pub const MIGRATION_LOCK: i64 = 0x6f72_6770_0002;

/// Run `work` while holding the migration lock: on PostgreSQL a session-level advisory lock,
/// so instances started together on one database migrate it one after the other (the later
/// ones find nothing pending) instead of racing on `CREATE TABLE` and the migrations table.
/// Session-level, not transaction-level, because diesel commits each migration in its own
/// transaction. Released after `work`, whatever it returned. SQLite needs none: its file is
/// served by one process.
pub fn under_migration_lock<T>(
    conn: &mut DbConn,
    work: impl FnOnce(&mut DbConn) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let DbConn::Pg(pg) = conn else {
        return work(conn);
    };
    diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .execute(pg)
        .map_err(|e| anyhow::anyhow!("cannot take the migration lock: {e}"))?;
    let outcome = work(conn);
    let DbConn::Pg(pg) = conn else { unreachable!("a connection does not change its backend") };
    // A migration that failed outside a transaction can leave one aborted; end it so the
    // unlock can run (an error only means none was open).
    if outcome.is_err() {
        let _ = pg.batch_execute("ROLLBACK");
    }
    let unlocked = diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")).execute(pg);
    match (outcome, unlocked) {
        (Ok(value), Ok(_)) => Ok(value),
        (Ok(_), Err(e)) => Err(anyhow::anyhow!("cannot release the migration lock: {e}")),
        // The first error is the one worth reporting; closing the connection frees the lock.
        (Err(e), _) => Err(e),
    }
}

/// Bring the schema up to date under the migration lock; returns the versions applied now
/// (empty when current).
pub fn run_migrations(conn: &mut DbConn) -> anyhow::Result<Vec<String>> {
    under_migration_lock(conn, run_migrations_unlocked)
}

fn run_migrations_unlocked(conn: &mut DbConn) -> anyhow::Result<Vec<String>> {
    let applied = match conn {
        DbConn::Pg(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|applied| applied.iter().map(ToString::to_string).collect())
            .map_err(|e| anyhow::anyhow!("database migration failed: {e}")),
        DbConn::Sqlite(c) => {
            let outcome = c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(|applied| applied.iter().map(ToString::to_string).collect::<Vec<_>>())
                .map_err(|e| anyhow::anyhow!("database migration failed: {e}"));
            if outcome.is_err() {
                // A migration that runs outside diesel's transaction (metadata.toml) opens its
                // own and turns foreign keys off; a failure midway leaves both so. Roll back (an
                // error only means no transaction was open).
                let _ = c.batch_execute("ROLLBACK");
            }
            // Whatever a migration did, this connection goes on with foreign keys enforced.
            c.batch_execute("PRAGMA foreign_keys = ON")
                .map_err(|e| anyhow::anyhow!("cannot enable foreign keys: {e}"))?;
            outcome
        }
    }?;
    Ok(applied)
}
