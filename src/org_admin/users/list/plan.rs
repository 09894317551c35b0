//! How the users list finds a request's rows: the total (the seat counter, or a count capped at
//! `COUNT_CAP`) and the way to read the matches, chosen once per request.

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::params::UserParams;
use crate::db::account_index::{self, status_condition};
use crate::db::schema::organizations;
use crate::db::search::CommonTerms;
use crate::db::DbConn;
use crate::domain::fold;
use crate::web::list::Total;

/// A filtered total is counted only up to here; past it the page says "more than 10,000".
pub const COUNT_CAP: i64 = 10_000;

/// Up to this many matches, a search fetches exactly those rows and sorts them; beyond, it
/// reads in sort order and checks each row (which stops after a page).
const FEW_MATCHES: i64 = 1_000;

/// A cap no count reaches: the counts count up to `cap + 1`.
const UNCAPPED: i64 = i64::MAX - 1;

/// How the rows of a request are found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matching {
    /// No search: the organization's memberships in the status filter.
    Everything,
    /// A term with few matches in the organization: exactly these membership ids.
    Ids(Vec<i64>),
    /// SQLite, a common term: scan in sort order, checking each row's own copies of the
    /// account's email and folded name (`sort_email`, `sort_name`) with `LIKE`. A trigram-index
    /// lookup per row cost more than the scan (60 ms a page for a name in 1% of a million
    /// members); `fts_match` still counts, when a count is needed.
    Probe { fts_match: String, folded: String },
    /// A common term on PostgreSQL (its trigram indexes answer `LIKE`), or one too short for
    /// trigrams.
    Like(String),
}

impl Matching {
    /// Whether reading the rows needs `accounts` joined (the `LIKE` looks at its columns).
    pub fn needs_accounts(&self) -> bool {
        matches!(self, Self::Like(_))
    }
}

/// The total and how to find the rows: the seat counter when neither searched nor filtered by
/// status, else the matches counted up to the cap.
pub fn plan(
    conn: &mut DbConn,
    org_id: i64,
    params: &UserParams,
    common: &CommonTerms,
) -> QueryResult<(Total, Matching)> {
    let capped = |found: i64| if found > COUNT_CAP { Total::MoreThan(COUNT_CAP) } else { Total::Exact(found) };
    if params.q.is_empty() {
        return Ok(match params.status {
            // `member_count` is the seat counter: every membership not removed, kept in the
            // same transaction as each add and removal.
            None => (Total::Exact(member_count(conn, org_id)?), Matching::Everything),
            Some(status) => (capped(status_count(conn, org_id, status, COUNT_CAP)?), Matching::Everything),
        });
    }
    let folded = fold(&params.q);
    // A term known to pass the cap is not counted again for a while (`CommonTerms`).
    let key = format!("users\u{0}{org_id}\u{0}{}\u{0}{folded}", params.status.unwrap_or_default());
    if let Some(fts_match) = account_index::fts_match(conn, &folded) {
        let found = if common.known_key(&key) {
            COUNT_CAP + 1
        } else {
            account_index::fts_count(conn, &fts_match, org_id, params.status, COUNT_CAP)?
        };
        common.remember_key(key, found);
        if found <= FEW_MATCHES {
            let ids = account_index::fts_ids(conn, &fts_match, org_id, params.status, FEW_MATCHES)?;
            return Ok((capped(found), Matching::Ids(ids)));
        }
        return Ok((capped(found), Matching::Probe { fts_match, folded }));
    }
    let found = if common.known_key(&key) {
        COUNT_CAP + 1
    } else {
        account_index::like_count(conn, &folded, org_id, params.status, COUNT_CAP)?
    };
    common.remember_key(key, found);
    if found <= FEW_MATCHES {
        // The planner cannot tell a rare term from a common one, and may walk the whole sort
        // index checking each row: the few matches are fetched by id instead.
        let ids = account_index::like_ids(conn, &folded, org_id, params.status, FEW_MATCHES)?;
        return Ok((capped(found), Matching::Ids(ids)));
    }
    Ok((capped(found), Matching::Like(folded)))
}

/// How the CSV export reads a search, without counting: it reads every match in sort order
/// anyway.
pub fn export_matching(conn: &DbConn, params: &UserParams) -> Matching {
    if params.q.is_empty() {
        return Matching::Everything;
    }
    let folded = fold(&params.q);
    match account_index::fts_match(conn, &folded) {
        Some(fts_match) => Matching::Probe { fts_match, folded },
        None => Matching::Like(folded),
    }
}

/// Every match, counted: only for a page number past the end of a capped total.
pub fn count_all(conn: &mut DbConn, org_id: i64, params: &UserParams, matching: &Matching) -> QueryResult<i64> {
    match matching {
        Matching::Everything => match params.status {
            None => member_count(conn, org_id),
            Some(status) => status_count(conn, org_id, status, UNCAPPED),
        },
        Matching::Ids(ids) => Ok(ids.len() as i64),
        Matching::Probe { fts_match, .. } => account_index::fts_count(conn, fts_match, org_id, params.status, UNCAPPED),
        Matching::Like(folded) => account_index::like_count(conn, folded, org_id, params.status, UNCAPPED),
    }
}

fn member_count(conn: &mut DbConn, org_id: i64) -> QueryResult<i64> {
    organizations::table
        .find(org_id)
        .select(organizations::member_count)
        .first(conn)
        .optional()
        .map(|count| count.unwrap_or(0))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The memberships in one status, counted in the `(organization_id, status, id)` index up to
/// `cap + 1`.
fn status_count(conn: &mut DbConn, org_id: i64, status: &str, cap: i64) -> QueryResult<i64> {
    let sql = format!(
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM memberships WHERE memberships.organization_id = ? AND {} LIMIT ?) \
         AS matches",
        status_condition(Some(status))
    );
    let row: Count = match conn {
        DbConn::Pg(pg) => diesel::sql_query(sql.replacen('?', "$1", 1).replacen('?', "$2", 1))
            .bind::<BigInt, _>(org_id)
            .bind::<BigInt, _>(cap.saturating_add(1))
            .get_result(pg)?,
        DbConn::Sqlite(sqlite) => diesel::sql_query(sql)
            .bind::<BigInt, _>(org_id)
            .bind::<BigInt, _>(cap.saturating_add(1))
            .get_result(sqlite)?,
    };
    Ok(row.n)
}
