//! How the Organizations page finds a search's rows: the total (a counter, or a count capped at
//! `COUNT_CAP`) and the way to read the matches, chosen once per request.

use diesel::prelude::*;

use super::params::ListParams;
use super::queries::OrgQuery;
use crate::db::schema::organizations;
use crate::db::search::{self, CommonTerms, OrgField, COUNT_CAP};
use crate::db::{org_index, DbConn};
use crate::domain::fold;
use crate::web::list::pager;
use crate::web::list::Total;

/// Up to this many matches, a search fetches exactly those rows and sorts them; beyond, it
/// reads in sort order and checks each row (which stops after a page).
const FEW_MATCHES: i64 = 1_000;

/// How the rows of a search are found, decided once per request from the (capped) count.
pub(super) enum Matching {
    /// No search.
    Everything,
    /// SQLite, a term with few matches: exactly these ids.
    Ids(Vec<i64>),
    /// SQLite, a common term in natural order: this page's ids, already read from the trigram
    /// index at the page's position (no offset or cursor applies any more).
    Window(Vec<i64>),
    /// SQLite, a common term: scan in sort order, checking each row in the trigram index.
    Probe(String),
    /// PostgreSQL (its trigram indexes answer `LIKE`), or a term too short for trigrams.
    Like(OrgField, String),
}

pub(super) fn filtered(matching: &Matching) -> OrgQuery {
    let query = organizations::table.into_boxed();
    match matching {
        Matching::Everything => query,
        Matching::Ids(ids) | Matching::Window(ids) => query.filter(organizations::id.eq_any(ids.clone())),
        Matching::Probe(fts_match) => query.filter(search::fts_probe(fts_match)),
        Matching::Like(field, folded) => query.filter(search::like_filter(*field, folded)),
    }
}

/// The total and how to find the rows: the counter when unfiltered, else the matches counted
/// up to the cap (on SQLite straight from the trigram index).
pub(super) fn plan(conn: &mut DbConn, params: &ListParams, common: &CommonTerms) -> QueryResult<(Total, Matching)> {
    if params.q.is_empty() {
        return Ok((Total::Exact(org_index::count(conn)?), Matching::Everything));
    }
    let folded = fold(&params.q);
    let field = params.by;
    let capped = |found: usize| {
        let found = found as i64;
        if found > COUNT_CAP {
            Total::MoreThan(COUNT_CAP)
        } else {
            Total::Exact(found)
        }
    };
    if let Some(fts_match) = search::fts_match(conn, field, &folded) {
        let found =
            if common.known(field, &folded) { COUNT_CAP + 1 } else { search::fts_count(conn, &fts_match, COUNT_CAP)? };
        common.remember(field, &folded, found);
        let total = capped(found as usize);
        if found <= FEW_MATCHES {
            return Ok((total, Matching::Ids(search::fts_ids(conn, &fts_match, FEW_MATCHES)?)));
        }
        if params.sort.is_none() {
            // Natural order is the index's own order: read just this page's ids from it.
            let from = params.cursor.as_ref().map(|c| (c.id, c.after));
            let page = total.clamp(params.page, params.per_page);
            let offset = if from.is_some() { 0 } else { pager::offset(page, params.per_page) };
            let window = search::fts_window(conn, &fts_match, from, offset, params.per_page)?;
            if window.is_empty() && from.is_none() && page > 1 {
                // A page number past the end of a total not counted: count it after all (only
                // for this odd request) and show the last real page.
                let found = search::fts_count(conn, &fts_match, UNCAPPED)?;
                let last = pager::page_count(found, params.per_page);
                let offset = pager::offset(last, params.per_page);
                let window = search::fts_window(conn, &fts_match, None, offset, params.per_page)?;
                return Ok((Total::Exact(found), Matching::Window(window)));
            }
            return Ok((total, Matching::Window(window)));
        }
        return Ok((total, Matching::Probe(fts_match)));
    }
    let found =
        if common.known(field, &folded) { COUNT_CAP + 1 } else { search::like_count(conn, field, &folded, COUNT_CAP)? };
    common.remember(field, &folded, found);
    Ok((capped(found as usize), Matching::Like(field, folded)))
}

/// A cap no count reaches: `fts_count`/`like_count` count up to `cap + 1`.
const UNCAPPED: i64 = i64::MAX - 1;

/// Every match, counted: only for a page number past the end of a capped total.
pub(super) fn count_all(conn: &mut DbConn, matching: &Matching) -> QueryResult<i64> {
    match matching {
        Matching::Everything => org_index::count(conn),
        Matching::Ids(ids) | Matching::Window(ids) => Ok(ids.len() as i64),
        Matching::Probe(fts_match) => search::fts_count(conn, fts_match, UNCAPPED),
        Matching::Like(field, folded) => search::like_count(conn, *field, folded, UNCAPPED),
    }
}
