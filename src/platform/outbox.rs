//! `/admin/outbox`: what the portal sent or tries to send. Metadata only: bodies hold
//! registration links, which are as good as passwords, so they are never shown.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::audit::{self, NewEvent};
use crate::auth::PlatformAdmin;
use crate::clock::Clock;
use crate::csrf::CsrfForm;
use crate::db::schema::outbox;
use crate::db::{self, Db, DbConn};
use crate::error::AppError;
use crate::platform::paths;
use crate::web::client::ClientAddr;
use crate::web::flash::{self, FlashKind};
use crate::web::layout::{Layout, Section};
use crate::web::list::{numbered, Pager, Paging};
use crate::web::{render, see_other};

#[derive(Debug, Queryable)]
pub struct OutboxRow {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: String,
    pub created_at: NaiveDateTime,
    pub next_attempt_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

impl OutboxRow {
    pub fn status_label(&self) -> &'static str {
        match self.status.as_str() {
            "queued" => "Queued",
            "sending" => "Sending",
            "sent" => "Sent",
            "failed" => "Failed",
            _ => "Cancelled",
        }
    }

    /// When it went, or when the next attempt is due.
    pub fn when(&self) -> String {
        let at = |t: NaiveDateTime| t.format("%Y-%m-%d %H:%M").to_string();
        match (self.status.as_str(), self.sent_at) {
            ("sent", Some(sent)) => format!("sent {}", at(sent)),
            ("queued", _) => format!("next attempt {}", at(self.next_attempt_at)),
            _ => String::new(),
        }
    }
}

fn page_of(conn: &mut DbConn, paging: Paging) -> QueryResult<(Vec<OutboxRow>, i64, i64)> {
    let total: i64 = outbox::table.count().get_result(conn)?;
    let (page, offset) = paging.place(total);
    let rows = outbox::table
        .order(outbox::id.desc())
        .limit(paging.per_page)
        .offset(offset)
        .select((
            outbox::id,
            outbox::recipient,
            outbox::subject,
            outbox::status,
            outbox::attempts,
            outbox::last_error,
            outbox::created_at,
            outbox::next_attempt_at,
            outbox::sent_at,
        ))
        .load(conn)?;
    Ok((rows, total, page))
}

#[derive(Template)]
#[template(path = "mail/outbox.html")]
pub struct OutboxPage {
    pub layout: Layout,
    pub rows: Vec<OutboxRow>,
    pub pager: Pager,
}

/// `GET /admin/outbox`
pub async fn show(admin: PlatformAdmin, db: web::Data<Db>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let (rows, pager) = numbered(&db, req.query_string(), page_of, paths::outbox_page).await?;
    render(&OutboxPage { layout: admin.layout("Outbox", Section::Platform)?, rows, pager })
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
