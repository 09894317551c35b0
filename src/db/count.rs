//! Counts that stop at a cap: a list says "more than 10,000" instead of counting millions.

use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::BigInt;
use diesel::{QueryResult, RunQueryDsl};

use super::{Backend, DbConn};

/// `SELECT COUNT(*) FROM (<inner>) AS capped`: a count that stops at the inner query's LIMIT.
#[derive(Debug, Clone, Copy)]
pub struct CountOf<Q>(pub Q);

impl<Q> QueryId for CountOf<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for CountOf<Q> {
    type SqlType = BigInt;
}

impl<Q: QueryFragment<Backend>> QueryFragment<Backend> for CountOf<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Backend>) -> QueryResult<()> {
        out.push_sql("SELECT COUNT(*) FROM (");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(") AS capped");
        Ok(())
    }
}

impl<Q> RunQueryDsl<DbConn> for CountOf<Q> {}
