//! Case-insensitive substring search over organizations' folded keys, with the backend's own
//! index: SQLite's FTS5 trigram table, PostgreSQL's pg_trgm GIN indexes (used by `LIKE`).
//! Shorter than three characters no trigram exists: a plain `LIKE` scan, which the callers
//! bound (a capped count, one page of rows).

use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};

use super::schema::organizations;
use super::{like_contains, Backend, DbConn};

/// Which folded keys a search looks in: the Organizations page's Search By box (`by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrgField {
    All,
    Name,
    Contact,
}

impl OrgField {
    pub const ALL: [OrgField; 3] = [Self::All, Self::Name, Self::Contact];

    /// Leniently: anything unknown searches everywhere.
    pub fn parse(raw: Option<&str>) -> Self {
        Self::ALL.into_iter().find(|field| Some(field.as_str()) == raw).unwrap_or(Self::All)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Name => "name",
            Self::Contact => "contact",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::All => "All",
            Self::Name => "Name",
            Self::Contact => "Contact Person",
        }
    }
}

/// A filtered total is counted only up to here; past it the page says "more than 10,000".
pub const COUNT_CAP: i64 = 10_000;

/// Searches known to match more than `COUNT_CAP` rows, and when that was counted. Counting
/// past the cap is the one costly part of such a search (15 ms on PostgreSQL at a million
/// organizations, 90 ms for a common name among a million members on SQLite) and its outcome
/// only changes after mass removals, so each application instance remembers it for half a
/// minute; exact totals are always counted. Each list keys its own searches (`key`).
#[derive(Default)]
pub struct CommonTerms(std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>);

impl CommonTerms {
    const TTL: std::time::Duration = std::time::Duration::from_secs(30);
    const KEPT: usize = 1_000;

    /// An Organizations page search.
    pub fn known(&self, field: OrgField, folded: &str) -> bool {
        self.known_key(&Self::org_key(field, folded))
    }

    pub fn remember(&self, field: OrgField, folded: &str, found: i64) {
        self.remember_key(Self::org_key(field, folded), found)
    }

    fn org_key(field: OrgField, folded: &str) -> String {
        format!("organizations\u{0}{}\u{0}{folded}", field.as_str())
    }

    /// Any list's search, under a key that names the list and everything that narrows it.
    pub fn known_key(&self, key: &str) -> bool {
        let Ok(terms) = self.0.lock() else { return false };
        terms.get(key).is_some_and(|counted| counted.elapsed() < Self::TTL)
    }

    pub fn remember_key(&self, key: String, found: i64) {
        if found <= COUNT_CAP {
            return;
        }
        if let Ok(mut terms) = self.0.lock() {
            if terms.len() >= Self::KEPT {
                terms.retain(|_, counted| counted.elapsed() < Self::TTL);
                if terms.len() >= Self::KEPT {
                    terms.clear();
                }
            }
            terms.insert(key, std::time::Instant::now());
        }
    }
}

pub type OrgFilter = Box<dyn BoxableExpression<organizations::table, Backend, SqlType = Bool>>;

/// The trigram index query for a search, when SQLite's index can answer it (three characters
/// or more); `None` means `like_filter`.
pub fn fts_match(conn: &DbConn, field: OrgField, folded: &str) -> Option<String> {
    if !matches!(conn, DbConn::Sqlite(_)) || folded.chars().count() < 3 {
        return None;
    }
    // An FTS5 phrase: everything inside the quotes is literal, quotes doubled.
    let phrase = format!("\"{}\"", folded.replace('"', "\"\""));
    Some(match field {
        OrgField::All => phrase,
        OrgField::Name => format!("name_key : {phrase}"),
        OrgField::Contact => format!("contact_key : {phrase}"),
    })
}

#[derive(QueryableByName)]
struct Rowid {
    #[diesel(sql_type = BigInt)]
    rowid: i64,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many organizations match, counted inside the trigram index up to `cap + 1`.
pub fn fts_count(conn: &mut DbConn, fts_match: &str, cap: i64) -> QueryResult<i64> {
    let DbConn::Sqlite(sqlite) = conn else { return Ok(0) };
    let row: Count = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM organizations_search WHERE organizations_search MATCH ? LIMIT ?)",
    )
    .bind::<Text, _>(fts_match)
    .bind::<BigInt, _>(cap + 1)
    .get_result(sqlite)?;
    Ok(row.n)
}

/// Up to `limit` matching organization ids, straight from the trigram index (ascending).
pub fn fts_ids(conn: &mut DbConn, fts_match: &str, limit: i64) -> QueryResult<Vec<i64>> {
    let DbConn::Sqlite(sqlite) = conn else { return Ok(Vec::new()) };
    let rows: Vec<Rowid> =
        diesel::sql_query("SELECT rowid FROM organizations_search WHERE organizations_search MATCH ? LIMIT ?")
            .bind::<Text, _>(fts_match)
            .bind::<BigInt, _>(limit)
            .load(sqlite)?;
    Ok(rows.into_iter().map(|r| r.rowid).collect())
}

/// A row-by-row check against the trigram index, for scans in sort order over a common term:
/// the scan stops after a page of matches instead of sorting all of them.
pub fn fts_probe(fts_match: &str) -> OrgFilter {
    Box::new(
        sql::<Bool>(
            "EXISTS (SELECT 1 FROM organizations_search WHERE organizations_search.rowid = organizations.id \
             AND organizations_search MATCH ",
        )
        .bind::<Text, _>(fts_match.to_owned())
        .sql(")"),
    )
}

/// A plain `LIKE` over the folded keys: PostgreSQL's trigram GIN indexes answer it, and on
/// SQLite it is the scan for searches too short for trigrams.
pub fn like_filter(field: OrgField, folded: &str) -> OrgFilter {
    let pattern = like_contains(folded);
    match field {
        OrgField::Name => Box::new(organizations::name_key.like(pattern).escape('\\')),
        OrgField::Contact => Box::new(organizations::contact_key.like(pattern).escape('\\')),
        OrgField::All => Box::new(
            organizations::name_key
                .like(pattern.clone())
                .escape('\\')
                .or(organizations::contact_key.like(pattern).escape('\\')),
        ),
    }
}

/// One page of matching ids in natural (id) order, straight from the trigram index: after or
/// before an id (`ascending` false reads backwards), or past `offset` matches.
pub fn fts_window(
    conn: &mut DbConn,
    fts_match: &str,
    from: Option<(i64, bool)>,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    let DbConn::Sqlite(sqlite) = conn else { return Ok(Vec::new()) };
    let (condition, order, bound) = match from {
        Some((id, true)) => ("AND rowid > ?", "ASC", id),
        Some((id, false)) => ("AND rowid < ?", "DESC", id),
        None => ("AND rowid > ?", "ASC", 0),
    };
    let rows: Vec<Rowid> = diesel::sql_query(format!(
        "SELECT rowid FROM organizations_search WHERE organizations_search MATCH ? {condition} \
         ORDER BY rowid {order} LIMIT ? OFFSET ?"
    ))
    .bind::<Text, _>(fts_match)
    .bind::<BigInt, _>(bound)
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(offset)
    .load(sqlite)?;
    Ok(rows.into_iter().map(|r| r.rowid).collect())
}

/// How many organizations match a `LIKE` search, counted inside the database up to `cap + 1`
/// (fetching the ids to count them cost 55 ms instead of 15 ms for a common term at a million).
pub fn like_count(conn: &mut DbConn, field: OrgField, folded: &str, cap: i64) -> QueryResult<i64> {
    let condition = match field {
        OrgField::All => "name_key LIKE $1 ESCAPE '\\' OR contact_key LIKE $1 ESCAPE '\\'",
        OrgField::Name => "name_key LIKE $1 ESCAPE '\\'",
        OrgField::Contact => "contact_key LIKE $1 ESCAPE '\\'",
    };
    let pattern = like_contains(folded);
    let row: Count = match conn {
        DbConn::Pg(pg) => diesel::sql_query(format!(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM organizations WHERE {condition} LIMIT $2) AS matches"
        ))
        .bind::<Text, _>(pattern)
        .bind::<BigInt, _>(cap + 1)
        .get_result(pg)?,
        DbConn::Sqlite(sqlite) => diesel::sql_query(format!(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM organizations WHERE {} LIMIT ?2) AS matches",
            condition.replace("$1", "?1")
        ))
        .bind::<Text, _>(pattern)
        .bind::<BigInt, _>(cap + 1)
        .get_result(sqlite)?,
    };
    Ok(row.n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_totals_past_the_cap_are_remembered() {
        let terms = CommonTerms::default();
        terms.remember(OrgField::All, "abc", COUNT_CAP);
        assert!(!terms.known(OrgField::All, "abc"), "an exact total is always counted again");
        terms.remember(OrgField::All, "abc", COUNT_CAP + 1);
        assert!(terms.known(OrgField::All, "abc"));
        assert!(!terms.known(OrgField::Name, "abc"), "per search field");
        assert!(!CommonTerms::default().known(OrgField::All, "abc"), "per application instance");
    }

    #[test]
    fn the_search_field_is_read_leniently() {
        assert_eq!(OrgField::parse(Some("contact")), OrgField::Contact);
        assert_eq!(OrgField::parse(Some("bogus")), OrgField::All);
        assert_eq!(OrgField::parse(None), OrgField::All);
    }
}
