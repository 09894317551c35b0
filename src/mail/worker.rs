//! The delivery worker: claims due messages from the outbox, sends them through lettre (SMTP,
//! or `.eml` files), and marks each one sent once. `serve` runs one per instance; on PostgreSQL
//! several instances share the outbox and `FOR UPDATE SKIP LOCKED` keeps them off each
//! other's messages.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

use crate::clock::Clock;
use crate::config::{Config, MailTransport};
use crate::db::schema::outbox;
use crate::db::{Db, DbConn};

/// Messages claimed in one go. Small, so a lease comfortably outlasts sending all of them.
const BATCH: i64 = 10;
/// How long a claim holds. A worker that dies mid-batch leaves its messages to others after
/// this; it is far longer than a batch can take (10 × the SMTP timeout).
const LEASE: chrono::Duration = chrono::Duration::minutes(10);
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);
/// After this many failed attempts a message is marked failed (an administrator may retry it
/// from `/admin/outbox`). With the backoff below that is about three hours of trying.
pub const MAX_ATTEMPTS: i32 = 10;
/// How often an idle worker looks for due messages (DESIGN: a new message is noticed within
/// two seconds).
const POLL: Duration = Duration::from_secs(1);

/// The delay before attempt `attempts + 1`: 30 s, doubling, at most an hour.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 16) as u32;
    let seconds = 30i64.saturating_mul(1i64 << doublings);
    chrono::Duration::seconds(seconds.min(3_600))
}

/// Where messages go.
pub enum Delivery {
    /// One `.eml` file per message, named by its outbox id (a resend overwrites, never doubles).
    Files(PathBuf),
    Smtp(Box<SmtpTransport>),
}

impl Delivery {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        match &config.mail_transport {
            MailTransport::Files(dir) => Ok(Self::Files(dir.clone())),
            MailTransport::Smtp(url) => Ok(Self::Smtp(Box::new(smtp_transport(&url.0)?))),
        }
    }
}

/// `smtps://` is TLS from the first byte; `smtp://` upgrades with STARTTLS when the server
/// offers it, unless the URL says otherwise (`?tls=required`).
fn smtp_transport(url: &str) -> anyhow::Result<SmtpTransport> {
    let parsed = url::Url::parse(url).context("the SMTP URL cannot be read")?;
    let mut builder = SmtpTransport::from_url(url).context("the SMTP URL is not usable")?;
    let chooses_tls = parsed.query_pairs().any(|(key, _)| key == "tls");
    if parsed.scheme() == "smtp" && !chooses_tls {
        let host = parsed.host_str().unwrap_or_default().to_owned();
        let parameters = TlsParameters::new(host).context("TLS is not available for the SMTP server")?;
        builder = builder.tls(Tls::Opportunistic(parameters));
    }
    Ok(builder.timeout(Some(SMTP_TIMEOUT)).build())
}

/// A message this worker holds the claim on.
#[derive(Debug, QueryableByName)]
struct Claimed {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    message_id: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    recipient: String,
    #[diesel(sql_type = Text)]
    subject: String,
    #[diesel(sql_type = Text)]
    body_text: String,
    #[diesel(sql_type = Text)]
    body_html: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

const CLAIM_POSTGRES: &str = "UPDATE outbox SET status = 'sending', attempts = attempts + 1, claimed_until = $2 \
     WHERE id IN (SELECT id FROM outbox \
                  WHERE (status = 'queued' AND next_attempt_at <= $1) OR (status = 'sending' AND claimed_until < $1) \
                  ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
     RETURNING id, message_id, kind, recipient, subject, body_text, body_html, attempts";

// One UPDATE is atomic on SQLite and takes the database's single write lock.
const CLAIM_SQLITE: &str = "UPDATE outbox SET status = 'sending', attempts = attempts + 1, claimed_until = ?2 \
     WHERE id IN (SELECT id FROM outbox \
                  WHERE (status = 'queued' AND next_attempt_at <= ?1) OR (status = 'sending' AND claimed_until < ?1) \
                  ORDER BY next_attempt_at, id LIMIT ?3) \
     RETURNING id, message_id, kind, recipient, subject, body_text, body_html, attempts";

fn claim(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Vec<Claimed>> {
    let until = now + LEASE;
    match conn {
        DbConn::Pg(pg) => diesel::sql_query(CLAIM_POSTGRES)
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(until)
            .bind::<BigInt, _>(BATCH)
            .load(pg),
        DbConn::Sqlite(sqlite) => diesel::sql_query(CLAIM_SQLITE)
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(until)
            .bind::<BigInt, _>(BATCH)
            .load(sqlite),
    }
}

/// How one attempt went.
enum Outcome {
    Sent,
    /// Worth trying again later (server down, timeout, 4xx).
    Transient(String),
    /// Will never work (a 5xx answer, an address lettre cannot use).
    Permanent(String),
}

/// Claims and delivers due messages; see the module comment.
pub struct Worker {
    db: Db,
    clock: Arc<Clock>,
    delivery: Delivery,
    from: Mailbox,
}

impl Worker {
    pub fn new(db: Db, clock: Arc<Clock>, config: &Config) -> anyhow::Result<Self> {
        let address = config.mail_from.address.as_str().parse().context("the sender address is not usable")?;
        let from = Mailbox::new(config.mail_from.name.clone(), address);
        Ok(Self { db, clock, delivery: Delivery::from_config(config)?, from })
    }

    /// One pass: claim up to a batch of due messages and try each once. Returns how many were
    /// attempted (0 when nothing was due).
    pub fn deliver_due(&self) -> anyhow::Result<usize> {
        let mut conn = self.db.get().map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut claimed = claim(&mut conn, self.clock.now()).context("claiming due messages")?;
        // RETURNING does not keep the subquery's order; send in the order they were queued,
        // so a "withdrawn" notice never arrives before the notice it withdraws.
        claimed.sort_by_key(|message| message.id);
        for message in &claimed {
            let outcome = self.send(message);
            let now = self.clock.now();
            record(&mut conn, message, outcome, now).context("recording a delivery attempt")?;
        }
        Ok(claimed.len())
    }

    fn send(&self, message: &Claimed) -> Outcome {
        let email = match self.build(message) {
            Ok(email) => email,
            Err(why) => return Outcome::Permanent(why),
        };
        match &self.delivery {
            Delivery::Files(dir) => match write_file(dir, message, &email.formatted()) {
                Ok(()) => Outcome::Sent,
                Err(e) => Outcome::Transient(format!("writing the .eml file failed: {e}")),
            },
            Delivery::Smtp(transport) => match transport.send(&email) {
                Ok(_) => Outcome::Sent,
                Err(e) if e.is_permanent() => Outcome::Permanent(format!("the SMTP server refused it: {e}")),
                Err(e) => Outcome::Transient(format!("SMTP delivery failed: {e}")),
            },
        }
    }

    fn build(&self, message: &Claimed) -> Result<Message, String> {
        let to: Mailbox = message.recipient.parse().map_err(|e| format!("the recipient address is not usable: {e}"))?;
        Message::builder()
            .message_id(Some(message.message_id.clone()))
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(message.body_text.clone()))
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(message.body_html.clone())),
            )
            .map_err(|e| format!("the message cannot be built: {e}"))
    }

    /// Run on a thread of its own until the handle is stopped.
    pub fn spawn(self) -> std::io::Result<WorkerHandle> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new().name("mail-worker".into()).spawn({
            let stop = stop.clone();
            move || {
                while !stop.load(Ordering::Relaxed) {
                    let pause = match self.deliver_due() {
                        Ok(0) => POLL,
                        Ok(_) => Duration::ZERO,
                        Err(e) => {
                            log::warn!("mail worker: {e:#}");
                            POLL * 5
                        }
                    };
                    sleep_unless_stopped(pause, &stop);
                }
            }
        })?;
        Ok(WorkerHandle { stop, thread })
    }
}

fn sleep_unless_stopped(pause: Duration, stop: &AtomicBool) {
    let step = Duration::from_millis(100);
    let mut slept = Duration::ZERO;
    while slept < pause && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(step);
        slept += step;
    }
}

/// Stops the worker thread (after the message it is sending, if any).
pub struct WorkerHandle {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl WorkerHandle {
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        if self.thread.join().is_err() {
            log::error!("mail worker: the thread panicked");
        }
    }
}

/// Written under a temporary name and renamed, so a reader never sees half a message.
fn write_file(dir: &Path, message: &Claimed, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let name = format!("{:010}-{}.eml", message.id, message.kind);
    let partial = dir.join(format!(".{name}.partial"));
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, dir.join(name))
}

/// Write what the attempt did. Only the claim this worker holds is updated (`status =
/// 'sending'`), so a message is marked sent once.
fn record(conn: &mut DbConn, message: &Claimed, outcome: Outcome, now: NaiveDateTime) -> QueryResult<()> {
    let held = outbox::table.filter(outbox::id.eq(message.id)).filter(outbox::status.eq("sending"));
    match outcome {
        Outcome::Sent => diesel::update(held)
            .set((
                outbox::status.eq("sent"),
                outbox::sent_at.eq(Some(now)),
                outbox::claimed_until.eq(None::<NaiveDateTime>),
                outbox::last_error.eq(""),
            ))
            .execute(conn)?,
        Outcome::Transient(why) if message.attempts < MAX_ATTEMPTS => {
            log::info!("mail worker: message {} will be retried: {why}", message.id);
            diesel::update(held)
                .set((
                    outbox::status.eq("queued"),
                    outbox::next_attempt_at.eq(now + backoff(message.attempts)),
                    outbox::claimed_until.eq(None::<NaiveDateTime>),
                    outbox::last_error.eq(why),
                ))
                .execute(conn)?
        }
        Outcome::Transient(why) | Outcome::Permanent(why) => {
            log::warn!("mail worker: message {} failed: {why}", message.id);
            diesel::update(held)
                .set((
                    outbox::status.eq("failed"),
                    outbox::claimed_until.eq(None::<NaiveDateTime>),
                    outbox::last_error.eq(why),
                ))
                .execute(conn)?
        }
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_thirty_seconds_up_to_an_hour() {
        let seconds: Vec<i64> = (1..=10).map(|n| backoff(n).num_seconds()).collect();
        assert_eq!(seconds, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(backoff(0).num_seconds(), 30);
        assert_eq!(backoff(i32::MAX).num_seconds(), 3600);
    }
}
