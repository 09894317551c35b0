//! What must change with every write of an organization, in the same transaction: the
//! organization counter (so an unfiltered page never counts rows) and, on SQLite, the trigram
//! search index (PostgreSQL's pg_trgm GIN indexes maintain themselves).

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::schema::platform_counters;
use super::DbConn;

const ORGANIZATIONS: &str = "organizations";

/// Call after inserting organization `id` (in the same transaction).
pub fn inserted(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    add_to_count(conn, 1)?;
    reindex(conn, id)
}

/// Call after changing an organization's name or contact person (in the same transaction).
pub fn updated(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    reindex(conn, id)
}

/// Call after deleting organization `id` (in the same transaction).
pub fn deleted(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    add_to_count(conn, -1)?;
    if let DbConn::Sqlite(sqlite) = conn {
        diesel::sql_query("DELETE FROM organizations_search WHERE rowid = ?").bind::<BigInt, _>(id).execute(sqlite)?;
    }
    Ok(())
}

/// Bulk loads: `count` organizations were inserted in this transaction.
pub fn bulk_counted(conn: &mut DbConn, count: i64) -> QueryResult<()> {
    add_to_count(conn, count)
}

/// Bulk loads: index every organization with an id above `after_id` for search, in one
/// statement (rows a bulk load inserted without indexing them one by one).
pub fn bulk_indexed(conn: &mut DbConn, after_id: i64) -> QueryResult<()> {
    if let DbConn::Sqlite(sqlite) = conn {
        // FTS5 flushes its in-memory postings every `hashsize` bytes (1 MiB by default); a
        // bulk build with 256 MiB writes a few large segments instead of merging thousands
        // of small ones (12 s instead of 19 s for a million organizations). Ordinary writes
        // keep the default.
        sqlite.batch_execute(
            "INSERT INTO organizations_search (organizations_search, rank) VALUES ('hashsize', 268435456)",
        )?;
        diesel::sql_query(
            "INSERT INTO organizations_search (rowid, name_key, contact_key)
             SELECT id, name_key, contact_key FROM organizations
             WHERE id > ? AND id NOT IN (SELECT rowid FROM organizations_search WHERE rowid > ?)",
        )
        .bind::<BigInt, _>(after_id)
        .bind::<BigInt, _>(after_id)
        .execute(sqlite)?;
        sqlite.batch_execute(
            "INSERT INTO organizations_search (organizations_search, rank) VALUES ('hashsize', 1048576)",
        )?;
    }
    Ok(())
}

/// How many organizations exist, from the counter.
pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    platform_counters::table
        .find(ORGANIZATIONS)
        .select(platform_counters::value)
        .first(conn)
        .optional()
        .map(|value| value.unwrap_or(0))
}

fn add_to_count(conn: &mut DbConn, delta: i64) -> QueryResult<()> {
    diesel::update(platform_counters::table.find(ORGANIZATIONS))
        .set(platform_counters::value.eq(platform_counters::value + delta))
        .execute(conn)
        .map(drop)
}

fn reindex(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    if let DbConn::Sqlite(sqlite) = conn {
        diesel::sql_query("DELETE FROM organizations_search WHERE rowid = ?").bind::<BigInt, _>(id).execute(sqlite)?;
        diesel::sql_query(
            "INSERT INTO organizations_search (rowid, name_key, contact_key)
             SELECT id, name_key, contact_key FROM organizations WHERE id = ?",
        )
        .bind::<BigInt, _>(id)
        .execute(sqlite)?;
    }
    Ok(())
}

/// The indexes a bulk load drops and builds again at the end (building one by sorting is far
/// cheaper than a million random inserts): the ones the Organizations page sorts by (besides
/// the unique name index, which keeps names unique meanwhile), and on PostgreSQL the trigram
/// search indexes. The migrations create them; every start re-creates any that an interrupted
/// load left missing.
const SORT_INDEXES: &[(&str, &str)] = &[
    ("organizations_contact_key", "organizations (contact_key, id)"),
    ("organizations_quota", "organizations (quota_gb, id)"),
    ("organizations_member_count", "organizations (member_count, id)"),
    ("organizations_created", "organizations (created_at, id)"),
];
const PG_SEARCH_INDEXES: &[(&str, &str)] = &[
    ("organizations_name_trgm", "organizations USING gin (name_key gin_trgm_ops)"),
    ("organizations_contact_trgm", "organizations USING gin (contact_key gin_trgm_ops)"),
];

fn rebuilt_indexes(conn: &DbConn) -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    let search = if matches!(conn, DbConn::Pg(_)) { PG_SEARCH_INDEXES } else { &[] };
    SORT_INDEXES.iter().chain(search)
}

/// Drop the indexes a bulk load builds again afterwards.
pub fn drop_rebuilt_indexes(conn: &mut DbConn) -> QueryResult<()> {
    for (name, _) in rebuilt_indexes(conn).collect::<Vec<_>>() {
        conn.batch_execute(&format!("DROP INDEX IF EXISTS {name}"))?;
    }
    Ok(())
}

/// Create any of them that is missing.
pub fn ensure_rebuilt_indexes(conn: &mut DbConn) -> QueryResult<()> {
    for (name, definition) in rebuilt_indexes(conn).collect::<Vec<_>>() {
        conn.batch_execute(&format!("CREATE INDEX IF NOT EXISTS {name} ON {definition}"))?;
    }
    Ok(())
}
