//! `GET /orgs/{id}/users.csv`: the users list with its current search, status filter and sort,
//! streamed a chunk at a time.

use actix_web::{web, HttpRequest, HttpResponse};

use super::list::{rows_after, UserParams};
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
    let db = db.into_inner();
    // Chunks follow the list's own order by offset within this one organization (see the
    // issue note: an organization's membership count is small next to the organizations').
    stream_csv(&format!("users-{org_id}.csv"), &HEADER, 0i64, move |offset| {
        let db = db.clone();
        let params = params.clone();
        async move {
            let rows = db.run(move |conn| rows_after(conn, org_id, &params, offset, CHUNK_ROWS)).await?;
            let next = (rows.len() as i64 == CHUNK_ROWS).then_some(offset + CHUNK_ROWS);
            let rows = rows
                .into_iter()
                .map(|row| {
                    vec![
                        row.email.clone(),
                        row.display_name.clone(),
                        row.status_label().to_owned(),
                        yes(row.is_delegate),
                        yes(row.unsigned_containers),
                        yes(row.release_protections),
                        yes(row.recover),
                        yes(row.no_second_factor),
                        row.quota_gb.to_string(),
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
