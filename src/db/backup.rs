//! Consistent copies of a SQLite database (`VACUUM INTO`, which reads one snapshot while
//! other connections keep writing): on demand (`orgportal backup PATH`), and before migrations
//! change a database that already holds a schema. PostgreSQL is copied with its own tools.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_migrations::MigrationHarness;

use super::{DbConn, SQLITE_MIGRATIONS};

/// The folder under the data dir that holds the copies made before migrations.
pub const BACKUPS_DIR: &str = "backups";

/// What to tell an operator who asks `orgportal backup` for a PostgreSQL database.
pub const PG_DUMP_ADVICE: &str =
    "`orgportal backup` copies SQLite databases only; back up PostgreSQL with pg_dump, e.g.\n    \
     pg_dump --format=custom --file=orgportal.dump \"$DATABASE_URL\"\n\
     and restore it with pg_restore, e.g.\n    \
     pg_restore --clean --if-exists --no-owner --dbname=\"$DATABASE_URL\" orgportal.dump";

/// Write a consistent copy of the SQLite database behind `conn` to `path`, which must not
/// exist yet (an existing file is refused, never overwritten). The copy is readable by its
/// owner only. Returns its size in bytes.
pub fn backup_sqlite(conn: &mut DbConn, path: &Path) -> anyhow::Result<u64> {
    let DbConn::Sqlite(sqlite) = conn else {
        anyhow::bail!("{PG_DUMP_ADVICE}");
    };
    let target = path.to_str().with_context(|| format!("{} is not a UTF-8 path", path.display()))?;
    // Claim the name first: this refuses an existing file, even one created a moment ago, and
    // gives the copy its permissions before any data is in it. VACUUM INTO fills an empty file.
    crate::private_fs::open_options().write(true).create_new(true).open(path).map(drop).map_err(|e| {
        match e.kind() {
            io::ErrorKind::AlreadyExists => anyhow::anyhow!("{} exists; refusing to overwrite it", path.display()),
            _ => anyhow::anyhow!("cannot create {}: {e}", path.display()),
        }
    })?;
    if let Err(e) = diesel::sql_query("VACUUM INTO ?").bind::<Text, _>(target).execute(sqlite) {
        // Leave no half-written copy that could be mistaken for a good one.
        let _ = fs::remove_file(path);
        return Err(anyhow::anyhow!("cannot copy the database to {}: {e}", path.display()));
    }
    let size = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?.len();
    Ok(size)
}

/// What [`migrate_with_backup`] did.
#[derive(Debug, Default)]
pub struct Migrated {
    /// The versions applied now (empty when the schema was current).
    pub applied: Vec<String>,
    /// The copy written before migrating, when one was.
    pub backup: Option<PathBuf>,
}

/// Bring the schema up to date. On SQLite, when migrations are pending on a database that
/// already has some applied, first write a copy to `DATA_DIR/backups/` named after the time
/// (UTC) and the last version applied; no migration runs if the copy cannot be written.
pub fn migrate_with_backup(conn: &mut DbConn, data_dir: &Path, now: NaiveDateTime) -> anyhow::Result<Migrated> {
    let last_applied = match conn {
        DbConn::Sqlite(sqlite) => {
            let fail = |e| anyhow::anyhow!("cannot read the applied migrations: {e}");
            let pending = sqlite.has_pending_migration(SQLITE_MIGRATIONS).map_err(fail)?;
            // Newest first.
            let applied = sqlite.applied_migrations().map_err(fail)?;
            applied.first().filter(|_| pending).map(ToString::to_string)
        }
        DbConn::Pg(_) => None,
    };
    let backup = match last_applied {
        Some(version) => Some(backup_before_migrating(conn, data_dir, &version, now)?),
        None => None,
    };
    let applied = super::run_migrations(conn)?;
    Ok(Migrated { applied, backup })
}

fn backup_before_migrating(
    conn: &mut DbConn,
    data_dir: &Path,
    version: &str,
    now: NaiveDateTime,
) -> anyhow::Result<PathBuf> {
    let dir = data_dir.join(BACKUPS_DIR);
    crate::private_fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let stem = format!("orgportal-{}-v{version}", now.format("%Y%m%dT%H%M%SZ"));
    // Two starts within one second get distinct names.
    for n in 1..=100 {
        let name = if n == 1 { format!("{stem}.db") } else { format!("{stem}-{n}.db") };
        let path = dir.join(name);
        if path.exists() {
            continue;
        }
        backup_sqlite(conn, &path).context("no migration was applied, since the backup before it failed")?;
        return Ok(path);
    }
    anyhow::bail!("cannot find a free name for a backup in {}", dir.display())
}
