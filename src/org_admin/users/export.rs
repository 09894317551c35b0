//! `GET /orgs/{id}/users.csv`: the users list with its current search, status filter and sort,
//! streamed a chunk at a time.

use actix_web::{web, HttpRequest, HttpResponse};

use super::list::{export_chunk, Cursor, UserParams};
use crate::auth::OrgAdmin;
use crate::db::Db;
use crate::error::AppError;
use crate::web::csv_export::{stream_csv, Chunk, CHUNK_ROWS};

const HEADER: [&str; 12] = [
    "Username (email)",
    "Name",
    "Status",
    "Delegate",
    "Unsigned Containers",
    "Release Protections",
    "Recover",
    "No 2nd Factor",
    "Account Quota (GB)",
    "Plan",
    "Added (UTC)",
    "Account id",
];

fn yes(set: bool) -> String {
    if set { "yes" } else { "no" }.to_owned()
}

/// `GET /orgs/{id}/users.csv`
pub async fn users_csv(admin: OrgAdmin, db: web::Data<Db>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let org_id = admin.org_id;
    let params = UserParams::parse(req.query_string());
    if let Some(refused) = &params.refused {
        return Err(AppError::Unprocessable(refused.message.clone()));
    }
    let db = db.into_inner();
    let floor = crate::web::own_writes::floor(admin.session());
    // Keyset chunks in the list's own order: each starts after the last row of the one before.
    stream_csv(&format!("users-{org_id}.csv"), &HEADER, None::<Cursor>, move |after| {
        let db = db.clone();
        let params = params.clone();
        async move {
            let sort = params.sort;
            let rows = db
                .run_listing(floor, move |conn| export_chunk(conn, org_id.get(), &params, after.as_ref(), CHUNK_ROWS))
                .await?;
            let next = match rows.last() {
                // The page number is not shown anywhere in an export.
                Some(last) if rows.len() as i64 == CHUNK_ROWS => Some(Some(last.cursor(sort, true, 1))),
                _ => None,
            };
            let rows = rows
                .into_iter()
                .map(|row| {
                    vec![
                        row.email.clone(),
                        row.display_name.clone(),
                        row.status_label().to_owned(),
                        yes(row.settings.is_delegate),
                        yes(row.settings.unsigned_containers),
                        yes(row.settings.release_protections),
                        yes(row.settings.recover),
                        yes(row.settings.no_second_factor),
                        row.settings.quota_gb.to_string(),
                        row.plan_name.clone().unwrap_or_default(),
                        row.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                        row.account_id.to_string(),
                    ]
                })
                .collect();
            Ok(Chunk { rows, next })
        }
    })
    .await
}
