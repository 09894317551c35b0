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

/// Bulk loads: `count` organizations with ids above `after_id` were inserted in this
/// transaction; index them all in one statement.
pub fn bulk_inserted(conn: &mut DbConn, after_id: i64, count: i64) -> QueryResult<()> {
    add_to_count(conn, count)?;
    if let DbConn::Sqlite(sqlite) = conn {
        diesel::sql_query(
            "INSERT INTO organizations_search (rowid, name_key, contact_key)
             SELECT id, name_key, contact_key FROM organizations WHERE id > ?",
        )
        .bind::<BigInt, _>(after_id)
        .execute(sqlite)?;
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

/// Merge the search index's segments after a bulk load, so later queries read fewer of them.
pub fn optimize(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Sqlite(sqlite) = conn {
        sqlite.batch_execute("INSERT INTO organizations_search (organizations_search) VALUES ('optimize')")?;
    }
    Ok(())
}
