//! `GET /admin/organizations.csv`: the Organizations page's search and sort as a CSV download,
//! every matching row, read in keyset chunks with the page's own query.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::auth::PlatformAdmin;
use crate::db::Db;
use crate::error::AppError;
use crate::platform::orgs::list::{iso_time, list, CommonTerms, Cursor, ListParams, OrgRow};
use crate::web::csv_export::{self, Chunk, CHUNK_ROWS};

const HEADER: [&str; 5] = ["Name", "Contact Person", "Quota (GB)", "Users", "Created"];

fn cells(row: &OrgRow) -> Vec<String> {
    vec![
        row.name.clone(),
        row.contact_email.clone(),
        row.quota_gb.to_string(),
        row.member_count.to_string(),
        iso_time(row.created_at),
    ]
}

/// `GET /admin/organizations.csv` with the page's `q`, `by`, `sort` and `dir`; paging
/// parameters are ignored. Each chunk is the page's next page of `CHUNK_ROWS` rows, reached
/// with the same `after` cursor as its "next" link, so every row comes out once, in the
/// page's order.
pub async fn organizations_csv(
    admin: PlatformAdmin,
    db: web::Data<Db>,
    common: web::Data<CommonTerms>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let params = ListParams { per_page: CHUNK_ROWS, page: 1, cursor: None, ..ListParams::parse(req.query_string()) };
    if let Some(refused) = &params.refused {
        return Err(AppError::Unprocessable(refused.message.clone()));
    }
    let floor = crate::web::own_writes::floor(admin.session());
    csv_export::stream_csv("organizations.csv", &HEADER, None, move |cursor: Option<Cursor>| {
        let (db, common) = (db.clone(), common.clone());
        let params = ListParams { cursor, ..params.clone() };
        async move {
            let page_number = params.cursor.as_ref().map_or(1, |cursor| cursor.page);
            let sort = params.sort;
            let page = db.run_listing(floor, move |conn| list(conn, &params, &common)).await?;
            // A short chunk is the last; the page's `has_next` is not used, as it counts pages
            // of a total that rows added or removed meanwhile may have changed.
            let next = match page.rows.last() {
                Some(row) if page.rows.len() as i64 >= CHUNK_ROWS => {
                    Some(Some(Cursor { after: true, key: row.sort_value(sort), id: row.id, page: page_number + 1 }))
                }
                _ => None,
            };
            Ok(Chunk { rows: page.rows.iter().map(cells).collect(), next })
        }
    })
    .await
}
