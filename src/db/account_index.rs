//! Substring search over accounts (email and folded display name) for an organization's users
//! list, with the backend's own index: SQLite's FTS5 trigram table `accounts_search`,
//! PostgreSQL's pg_trgm GIN indexes on `accounts` (used by `LIKE`). Triggers in the migration
//! `users_scale` keep `accounts_search` in step with every insert, update and delete of an
//! account, wherever it happens (registration, invitations, LDAP sync, demo data).
//!
//! Each query is scoped to one organization and a status filter: `status` is one of the
//! membership status words, spliced as a literal so the planners can match the partial
//! indexes over live (not removed) memberships.

use diesel::connection::SimpleConnection;
use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};

use super::{like_contains, Backend, DbConn};

/// The condition on `memberships.status` for a status filter (`None`: not removed). Only the
/// status words reach SQL; anything else reads as the default filter.
pub fn status_condition(status: Option<&str>) -> &'static str {
    match status {
        Some("invited") => "memberships.status = 'invited'",
        Some("awaiting_validation") => "memberships.status = 'awaiting_validation'",
        Some("active") => "memberships.status = 'active'",
        Some("removed") => "memberships.status = 'removed'",
        _ => "memberships.status <> 'removed'",
    }
}

/// The trigram index query for a search, when SQLite's index can answer it (three characters
/// or more); `None` means `like_filter`.
pub fn fts_match(conn: &DbConn, folded: &str) -> Option<String> {
    if !matches!(conn, DbConn::Sqlite(_)) || folded.chars().count() < 3 {
        return None;
    }
    // An FTS5 phrase: everything inside the quotes is literal, quotes doubled.
    Some(format!("\"{}\"", folded.replace('"', "\"\"")))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Memberships of the organization whose account matches, driven by the trigram index (its
/// cost follows the accounts that match on the whole instance, not the organization's size).
fn fts_members(select: &str, status: Option<&str>) -> String {
    format!(
        "SELECT {select} FROM accounts_search JOIN memberships ON memberships.account_id = accounts_search.rowid \
         WHERE accounts_search MATCH ? AND memberships.organization_id = ? AND {} LIMIT ?",
        status_condition(status)
    )
}

/// How many memberships match, counted up to `cap + 1` (SQLite).
pub fn fts_count(conn: &mut DbConn, fts_match: &str, org_id: i64, status: Option<&str>, cap: i64) -> QueryResult<i64> {
    let DbConn::Sqlite(sqlite) = conn else { return Ok(0) };
    let row: Count = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM ({})", fts_members("1", status)))
        .bind::<Text, _>(fts_match)
        .bind::<BigInt, _>(org_id)
        .bind::<BigInt, _>(cap.saturating_add(1))
        .get_result(sqlite)?;
    Ok(row.n)
}

/// Up to `limit` ids of matching memberships (SQLite), for a search with few matches.
pub fn fts_ids(
    conn: &mut DbConn,
    fts_match: &str,
    org_id: i64,
    status: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    let DbConn::Sqlite(sqlite) = conn else { return Ok(Vec::new()) };
    let rows: Vec<Id> = diesel::sql_query(fts_members("memberships.id AS id", status))
        .bind::<Text, _>(fts_match)
        .bind::<BigInt, _>(org_id)
        .bind::<BigInt, _>(limit)
        .load(sqlite)?;
    Ok(rows.into_iter().map(|row| row.id).collect())
}

/// A filter of memberships on any query source that joins them.
pub type MemberFilter<QS> = Box<dyn BoxableExpression<QS, Backend, SqlType = Bool>>;

/// A `LIKE` over the membership's own copies of its account's email and folded name (kept by
/// triggers): checked row by row while a list walks its sort index, with no join and no index
/// lookup per row.
pub fn sort_keys_like<QS>(folded: &str) -> MemberFilter<QS> {
    let pattern = like_contains(folded);
    Box::new(
        sql::<Bool>("(memberships.sort_email LIKE ")
            .bind::<Text, _>(pattern.clone())
            .sql(" ESCAPE '\\' OR memberships.sort_name LIKE ")
            .bind::<Text, _>(pattern)
            .sql(" ESCAPE '\\')"),
    )
}

/// A plain `LIKE` over the account's email and folded name (the query joins `accounts`):
/// PostgreSQL's trigram GIN indexes answer it, and on SQLite it is the scan for searches too
/// short for trigrams.
pub fn like_filter<QS>(folded: &str) -> MemberFilter<QS> {
    let pattern = like_contains(folded);
    Box::new(
        sql::<Bool>("(accounts.email LIKE ")
            .bind::<Text, _>(pattern.clone())
            .sql(" ESCAPE '\\' OR accounts.name_key LIKE ")
            .bind::<Text, _>(pattern)
            .sql(" ESCAPE '\\')"),
    )
}

/// Memberships of the organization in the status filter whose account's email or folded name
/// holds `folded` (`LIKE`): PostgreSQL's trigram indexes answer it; on SQLite it is the scan
/// for terms too short for trigrams.
fn like_members(conn: &DbConn, select: &str, status: Option<&str>) -> String {
    let sql = format!(
        "SELECT {select} FROM memberships JOIN accounts ON accounts.id = memberships.account_id \
         WHERE memberships.organization_id = ?1 AND {} \
         AND (accounts.email LIKE ?2 ESCAPE '\\' OR accounts.name_key LIKE ?2 ESCAPE '\\') LIMIT ?3",
        status_condition(status)
    );
    match conn {
        DbConn::Pg(_) => sql.replace("?1", "$1").replace("?2", "$2").replace("?3", "$3"),
        DbConn::Sqlite(_) => sql,
    }
}

/// How many memberships match a `LIKE` search, counted inside the database up to `cap + 1`.
pub fn like_count(conn: &mut DbConn, folded: &str, org_id: i64, status: Option<&str>, cap: i64) -> QueryResult<i64> {
    let sql = format!("SELECT COUNT(*) AS n FROM ({}) AS matches", like_members(conn, "1", status));
    let query = diesel::sql_query(sql)
        .bind::<BigInt, _>(org_id)
        .bind::<Text, _>(like_contains(folded))
        .bind::<BigInt, _>(cap.saturating_add(1));
    let row: Count = match conn {
        DbConn::Pg(pg) => query.get_result(pg)?,
        DbConn::Sqlite(sqlite) => query.get_result(sqlite)?,
    };
    Ok(row.n)
}

/// Up to `limit` ids of the memberships a `LIKE` search matches, for a search with few matches.
pub fn like_ids(
    conn: &mut DbConn,
    folded: &str,
    org_id: i64,
    status: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    let query = diesel::sql_query(like_members(conn, "memberships.id AS id", status))
        .bind::<BigInt, _>(org_id)
        .bind::<Text, _>(like_contains(folded))
        .bind::<BigInt, _>(limit);
    let rows: Vec<Id> = match conn {
        DbConn::Pg(pg) => query.load(pg)?,
        DbConn::Sqlite(sqlite) => query.load(sqlite)?,
    };
    Ok(rows.into_iter().map(|row| row.id).collect())
}

/// Bulk loads on SQLite: FTS5 flushes its in-memory postings every `hashsize` bytes (1 MiB by
/// default); a bulk load with 256 MiB writes a few large segments instead of merging thousands
/// of small ones. `bulk_done` puts the default back for ordinary writes.
pub fn bulk_start(conn: &mut DbConn) -> QueryResult<()> {
    set_hashsize(conn, 268_435_456)
}

/// See `bulk_start`.
pub fn bulk_done(conn: &mut DbConn) -> QueryResult<()> {
    set_hashsize(conn, 1_048_576)
}

fn set_hashsize(conn: &mut DbConn, bytes: i64) -> QueryResult<()> {
    if let DbConn::Sqlite(sqlite) = conn {
        sqlite.batch_execute(&format!(
            "INSERT INTO accounts_search (accounts_search, rank) VALUES ('hashsize', {bytes})"
        ))?;
    }
    Ok(())
}
