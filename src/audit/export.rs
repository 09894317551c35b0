//! `GET /admin/audit.csv` and `GET /orgs/{id}/audit.csv`: a trail's current filters as a CSV
//! download, every matching event newest first, read in keyset chunks (one query each, no
//! connection held between them), so ten million events never sit in memory together.

use actix_web::HttpResponse;

use super::params::TrailParams;
use super::queries::{older_than, EventRow, Trail};
use crate::db::{Db, WalPosition};
use crate::error::AppError;
use crate::web::csv_export::{self, Chunk, CHUNK_ROWS};

const HEADER: [&str; 9] =
    ["Time (UTC)", "Actor", "Action", "Organization id", "Organization", "Target", "Details", "Client", "Event id"];

/// The stored details go out as stored (JSON), so a spreadsheet or a script reads them whole;
/// `encode_rows` neutralises every cell that a spreadsheet would run as a formula.
fn cells(row: &EventRow) -> Vec<String> {
    vec![
        row.occurred_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        row.actor_email.clone(),
        row.action.clone(),
        row.organization_id.map(|id| id.to_string()).unwrap_or_default(),
        row.organization_name.clone(),
        row.target.clone(),
        row.details.clone(),
        row.client_addr.clone(),
        row.id.to_string(),
    ]
}

/// The export of `trail` filtered as `query_string` says (paging and cursors are ignored). A
/// refused filter refuses the download (422), rather than export more than was asked for.
/// Chunks read the replica when it serves a viewer whose last change is at `floor`.
pub async fn stream(
    db: &Db,
    floor: Option<WalPosition>,
    trail: Trail,
    query_string: &str,
) -> Result<HttpResponse, AppError> {
    let params = TrailParams::parse(trail, query_string);
    if let Some(field) =
        ["actor", "action", "target", "org", "from", "to"].into_iter().find(|f| params.errors.get(f).is_some())
    {
        let why = params.errors.get(field).unwrap_or_default();
        return Err(AppError::Unprocessable(format!("The {field} filter was not accepted: {why}")));
    }
    let filter = params.filter;
    let db = db.clone();
    let filename = match trail {
        Trail::Platform => "audit.csv".to_owned(),
        Trail::Organization(id) => format!("organization-{id}-audit.csv"),
    };
    csv_export::stream_csv(&filename, &HEADER, None, move |from| {
        let (db, filter) = (db.clone(), filter.clone());
        async move {
            let rows = db.run_listing(floor, move |conn| older_than(conn, trail, &filter, from, CHUNK_ROWS)).await?;
            // A short chunk is the last.
            let next = match rows.last() {
                Some(row) if rows.len() as i64 >= CHUNK_ROWS => Some(Some((row.occurred_at, row.id))),
                _ => None,
            };
            Ok(Chunk { rows: rows.iter().map(cells).collect(), next })
        }
    })
    .await
}
