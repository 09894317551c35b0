//! `GET /admin/outbox` and `POST /admin/outbox/{id}/retry`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;

use super::params::OutboxParams;
use super::queries::{list, OutboxPage, OutboxRow};
use super::views::OutboxListPage;

use crate::audit::{self, NewEvent};
use crate::auth::{PlatformAdmin, PlatformAdminRead};
use crate::clock::Clock;
use crate::csrf::CsrfForm;
use crate::db::schema::outbox;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::platform::paths;
use crate::web::client::ClientAddr;
use crate::web::flash::{self, FlashKind};
use crate::web::layout::Section;
use crate::web::list::{pager, Pager};
use crate::web::{render_with, see_other};

/// `GET /admin/outbox`
pub async fn show(admin: PlatformAdminRead, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let params = OutboxParams::parse(req.query_string());
    let query = params.clone();
    let (admin, page) = admin.read(move |conn, _| list(conn, &query)).await?;
    let pager = pager_of(&params, &page);
    // A refused recipient still shows the list (not narrowed by it), with the reason beside the box.
    let status = if params.recipient_error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    render_with(
        status,
        &OutboxListPage {
            layout: admin.layout("Outbox", Section::Platform)?,
            params,
            rows: page.rows,
            pager,
            page_sizes: pager::PAGE_SIZES,
        },
    )
}

fn pager_of(params: &OutboxParams, page: &OutboxPage) -> Pager {
    let cursor_href = |row: &OutboxRow, after, n| params.cursor_href(&row.cursor(after, n));
    pager::keyset(page.page, params.per_page, &page.rows, page.total, page.has_next, |n| params.href(n), cursor_href)
}

#[derive(serde::Deserialize)]
pub struct RetryForm {}

/// `POST /admin/outbox/{id}/retry`: a failed message goes back in the queue, due now, with
/// its attempts counted afresh.
pub async fn retry(
    admin: PlatformAdmin,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    client: ClientAddr,
    path: web::Path<i64>,
    CsrfForm(_): CsrfForm<RetryForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let actor = admin.actor(client);
    let now = clock.now();
    let requeued = db
        .run(move |conn| {
            db::write_transaction(conn, |conn| -> QueryResult<Option<String>> {
                let recipient: Option<String> =
                    outbox::table.filter(outbox::id.eq(id)).select(outbox::recipient).first(conn).optional()?;
                let requeued =
                    diesel::update(outbox::table.filter(outbox::id.eq(id)).filter(outbox::status.eq("failed")))
                        .set((outbox::status.eq("queued"), outbox::attempts.eq(0), outbox::next_attempt_at.eq(now)))
                        .execute(conn)?;
                let recipient = recipient.filter(|_| requeued == 1);
                if let Some(recipient) = &recipient {
                    let target = format!("message {id} to {recipient}");
                    audit::record(conn, &NewEvent::platform(&actor, "outbox.retried", &target), now)?;
                }
                Ok(recipient)
            })
        })
        .await?;
    match requeued {
        Some(recipient) => flash::set(
            admin.session(),
            FlashKind::Success,
            format!("The message to {recipient} is queued again and will be sent within a few seconds."),
        ),
        None => return Err(AppError::Conflict(
            "Only a failed message can be retried; this one is queued, being sent, already sent, or does not exist."
                .into(),
        )),
    }
    Ok(see_other(paths::OUTBOX))
}
