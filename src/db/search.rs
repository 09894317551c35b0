//! Case-insensitive substring search over organizations' folded keys, with the backend's own
//! index: SQLite's FTS5 trigram table, PostgreSQL's pg_trgm GIN indexes (used by `LIKE`).
//! Shorter than three characters no trigram exists: a plain `LIKE` scan, which the callers
//! bound (a capped count, one page of rows).

use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::schema::organizations;
use super::{like_contains, Backend, DbConn};

/// Which folded keys a search looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgField {
    All,
    Name,
    Contact,
}

pub type OrgFilter = Box<dyn BoxableExpression<organizations::table, Backend, SqlType = Bool>>;

/// The filter for organizations whose key(s) contain `folded` (already folded by the caller).
pub fn org_filter(conn: &DbConn, field: OrgField, folded: &str) -> OrgFilter {
    if matches!(conn, DbConn::Sqlite(_)) && folded.chars().count() >= 3 {
        // An FTS5 phrase: everything inside the quotes is literal, quotes doubled.
        let phrase = format!("\"{}\"", folded.replace('"', "\"\""));
        let query = match field {
            OrgField::All => phrase,
            OrgField::Name => format!("name_key : {phrase}"),
            OrgField::Contact => format!("contact_key : {phrase}"),
        };
        return Box::new(
            sql::<Bool>(
                "organizations.id IN (SELECT rowid FROM organizations_search WHERE organizations_search MATCH ",
            )
            .bind::<Text, _>(query)
            .sql(")"),
        );
    }
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
