//! A list paged by number over a counted total (the audit trails, the outbox): small enough to
//! count, read with `OFFSET`, newest first.

use diesel::QueryResult;

use super::pager::{Pager, Paging};
use super::query::Query;
use crate::db::{Db, DbConn};
use crate::error::AppError;

/// Reads the query string's paging, loads the page (`load` answers the rows, the total and the
/// page shown) and builds its pager, whose links are `href(page, per_page)`.
pub async fn numbered<R, F>(
    db: &Db,
    query_string: &str,
    load: F,
    href: impl Fn(i64, i64) -> String,
) -> Result<(Vec<R>, Pager), AppError>
where
    R: Send + 'static,
    F: FnOnce(&mut DbConn, Paging) -> QueryResult<(Vec<R>, i64, i64)> + Send + 'static,
{
    let paging = Query::parse(query_string).paging();
    let (rows, total, page) = db.run(move |conn| load(conn, paging)).await?;
    let pager = paging.pager(page, rows.len(), total, |n| href(n, paging.per_page));
    Ok((rows, pager))
}
