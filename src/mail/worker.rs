//! The delivery worker: claims due messages from the outbox, opens their sealed bodies, sends
//! them through lettre (SMTP, encrypted unless `?tls=none`, or `.eml` files), and marks each one
//! sent once, wiping its bodies. `serve` runs one per instance; on PostgreSQL
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

use super::sealed::{BodyKey, Part};
use crate::clock::Clock;
use crate::config::{Config, MailTransport};
use crate::db::schema::outbox;
use crate::db::{Db, DbConn};

/// Messages claimed in one go.
const BATCH: i64 = 10;
/// How long a claim holds. A worker that dies (an instance killed mid-batch) leaves its
/// messages to the other instances after this, so it is kept short; a live worker renews the
/// claim on what it has not sent yet whenever less than `RENEW_BELOW` is left (a slow SMTP
/// server can take up to the timeout per message), so a batch never outlives its claim.
pub const LEASE: chrono::Duration = chrono::Duration::seconds(60);
const RENEW_BELOW: chrono::Duration = chrono::Duration::seconds(45);
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
    Smtp(Box<Smtp>),
}

/// An SMTP server and how the connection to it is protected.
pub struct Smtp {
    transport: SmtpTransport,
    /// `host:port`, for messages (never the URL: it may hold the password).
    server: String,
    /// `smtp://` without `?tls=none`: STARTTLS or nothing is sent.
    requires_starttls: bool,
}

impl Delivery {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        match &config.mail_transport {
            MailTransport::Files(dir) => Ok(Self::Files(dir.clone())),
            MailTransport::Smtp(url) => Ok(Self::Smtp(Box::new(smtp_transport(&url.0)?))),
        }
    }
}

/// `smtps://` is TLS from the first byte. `smtp://` requires STARTTLS: a server that does not
/// offer it (or an attacker who strips it from the answer) gets nothing, not the password and
/// not the links. `smtp://…?tls=none` is plain SMTP, for a relay on this machine.
fn smtp_transport(url: &str) -> anyhow::Result<Smtp> {
    let mut parsed = url::Url::parse(url).context("the SMTP URL cannot be read")?;
    let host = parsed.host_str().unwrap_or_default().to_owned();
    let tls: Option<String> = parsed.query_pairs().find(|(key, _)| key == "tls").map(|(_, value)| value.into_owned());
    let plain = parsed.scheme() == "smtp" && tls.as_deref() == Some("none");
    let builder = if plain {
        // lettre reads an `smtp://` URL without `tls` as plain SMTP; `none` is our word for it.
        let others: Vec<(String, String)> = parsed
            .query_pairs()
            .filter(|(key, _)| key != "tls")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        parsed.set_query(None);
        if !others.is_empty() {
            parsed.query_pairs_mut().extend_pairs(others);
        }
        SmtpTransport::from_url(parsed.as_str()).context("the SMTP URL is not usable")?
    } else if parsed.scheme() == "smtp" && tls.is_none() {
        // Port 25 unless the URL names one, as before; STARTTLS required.
        let parameters = TlsParameters::new(host.clone()).context("TLS is not available for the SMTP server")?;
        SmtpTransport::from_url(url).context("the SMTP URL is not usable")?.tls(Tls::Required(parameters))
    } else {
        // `smtp://…?tls=required` (port 587 unless named) or `smtps://`.
        SmtpTransport::from_url(url).context("the SMTP URL is not usable")?
    };
    let port = parsed.port().map_or_else(String::new, |port| format!(":{port}"));
    Ok(Smtp {
        transport: builder.timeout(Some(SMTP_TIMEOUT)).build(),
        server: format!("{host}{port}"),
        requires_starttls: parsed.scheme() == "smtp" && !plain,
    })
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

fn claim(conn: &mut DbConn, now: NaiveDateTime, until: NaiveDateTime) -> QueryResult<Vec<Claimed>> {
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
    /// Opens the sealed bodies the outbox stores.
    body_key: BodyKey,
}

impl Worker {
    pub fn new(db: Db, clock: Arc<Clock>, config: &Config) -> anyhow::Result<Self> {
        let address = config.mail_from.address.as_str().parse().context("the sender address is not usable")?;
        let from = Mailbox::new(config.mail_from.name.clone(), address);
        let body_key = BodyKey::derive(&config.load_secret_key()?);
        Ok(Self { db, clock, delivery: Delivery::from_config(config)?, from, body_key })
    }

    /// One pass: claim up to a batch of due messages and try each once. Returns how many were
    /// attempted (0 when nothing was due).
    pub fn deliver_due(&self) -> anyhow::Result<usize> {
        let mut conn = self.db.get().map_err(|e| anyhow::anyhow!("{e}"))?;
        let now = self.clock.now();
        let mut held_until = now + LEASE;
        let mut claimed = claim(&mut conn, now, held_until).context("claiming due messages")?;
        // RETURNING does not keep the subquery's order; send in the order they were queued,
        // so a "withdrawn" notice never arrives before the notice it withdraws.
        claimed.sort_by_key(|message| message.id);
        let mut still_ours: Option<Vec<i64>> = None;
        for (sent_so_far, message) in claimed.iter().enumerate() {
            let now = self.clock.now();
            if held_until - now < RENEW_BELOW {
                let rest: Vec<i64> = claimed[sent_so_far..].iter().map(|m| m.id).collect();
                let renewed_until = now + LEASE;
                still_ours = Some(renew(&mut conn, &rest, held_until, renewed_until).context("renewing a claim")?);
                held_until = renewed_until;
            }
            // A claim that ran out was taken by another worker, which sends the message.
            if still_ours.as_ref().is_some_and(|ours| !ours.contains(&message.id)) {
                log::warn!("mail worker: message {} was taken over after its claim ran out", message.id);
                continue;
            }
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
            Delivery::Smtp(smtp) => match smtp.transport.send(&email) {
                Ok(_) => Outcome::Sent,
                Err(e) if e.is_permanent() => Outcome::Permanent(format!("the SMTP server refused it: {e}")),
                // lettre says so before it sends a password or a message; nothing left the
                // portal. Retrying cannot help until the server (or its setting) changes.
                Err(e) if smtp.requires_starttls && e.is_client() && e.to_string().contains("STARTTLS") => {
                    Outcome::Permanent(format!(
                        "not sent: the SMTP server {} does not offer STARTTLS, which smtp:// requires, so neither the \
                         password nor the message was sent in clear. Enable STARTTLS on the server, use smtps://, or, \
                         only for a relay on this machine, add ?tls=none to ORGPORTAL_SMTP_URL",
                        smtp.server
                    ))
                }
                Err(e) => Outcome::Transient(format!("SMTP delivery failed: {e}")),
            },
        }
    }

    fn build(&self, message: &Claimed) -> Result<Message, String> {
        let to: Mailbox = message.recipient.parse().map_err(|e| format!("the recipient address is not usable: {e}"))?;
        let open = |stored: &str, part| {
            self.body_key
                .open(stored, &message.message_id, &message.recipient, part)
                .map_err(|e| format!("the message body cannot be opened: {e}"))
        };
        let text = open(&message.body_text, Part::Text)?;
        let html = open(&message.body_html, Part::Html)?;
        Message::builder()
            .message_id(Some(message.message_id.clone()))
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text))
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html)),
            )
            .map_err(|e| format!("the message cannot be built: {e}"))
    }

    /// Seal the bodies of messages queued before bodies were sealed and not sent yet (the
    /// upgrade's migration wiped those already sent), so the outbox holds no link in clear.
    /// Returns how many messages it sealed.
    pub fn seal_legacy_bodies(&self) -> anyhow::Result<usize> {
        #[derive(Queryable)]
        struct Legacy {
            id: i64,
            message_id: String,
            recipient: String,
            body_text: String,
            body_html: String,
        }
        let mut conn = self.db.get().map_err(|e| anyhow::anyhow!("{e}"))?;
        let legacy: Vec<Legacy> = outbox::table
            .filter(outbox::status.ne("sent"))
            .filter(outbox::status.ne("cancelled"))
            .filter(outbox::body_text.not_like(format!("{}%", super::sealed::PREFIX)))
            .select((outbox::id, outbox::message_id, outbox::recipient, outbox::body_text, outbox::body_html))
            .load(&mut conn)
            .context("reading older message bodies")?;
        let mut sealed = 0;
        for message in legacy {
            let seal = |body: &str, part| {
                self.body_key
                    .seal(body, &message.message_id, &message.recipient, part)
                    .map_err(|e| anyhow::anyhow!("message {}: {e}", message.id))
            };
            let text = seal(&message.body_text, Part::Text)?;
            let html = seal(&message.body_html, Part::Html)?;
            // Only if still unsealed: another instance may have sealed it meanwhile.
            sealed += diesel::update(outbox::table.find(message.id).filter(outbox::body_text.eq(&message.body_text)))
                .set((outbox::body_text.eq(text), outbox::body_html.eq(html)))
                .execute(&mut conn)
                .context("sealing an older message body")?;
        }
        Ok(sealed)
    }

    /// Run on a thread of its own until the handle is stopped.
    pub fn spawn(self) -> std::io::Result<WorkerHandle> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new().name("mail-worker".into()).spawn({
            let stop = stop.clone();
            move || {
                match self.seal_legacy_bodies() {
                    Ok(0) => {}
                    Ok(n) => {
                        log::info!("mail worker: sealed the bodies of {n} messages queued before bodies were sealed")
                    }
                    Err(e) => log::warn!("mail worker: sealing older message bodies: {e:#}"),
                }
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

/// Extend this worker's claim on `ids` (those still held under `held_until`, its own claim's
/// end: a message another worker claimed since has another end) to `until`. Returns the ids
/// still held.
fn renew(conn: &mut DbConn, ids: &[i64], held_until: NaiveDateTime, until: NaiveDateTime) -> QueryResult<Vec<i64>> {
    diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(ids))
            .filter(outbox::status.eq("sending"))
            .filter(outbox::claimed_until.eq(held_until)),
    )
    .set(outbox::claimed_until.eq(until))
    .execute(conn)?;
    outbox::table
        .filter(outbox::id.eq_any(ids))
        .filter(outbox::status.eq("sending"))
        .filter(outbox::claimed_until.eq(until))
        .select(outbox::id)
        .load(conn)
}

/// Written under a temporary name and renamed, so a reader never sees half a message. The
/// file holds the message's link, as a mailbox would: it is 0600 in a 0700 folder.
fn write_file(dir: &Path, message: &Claimed, bytes: &[u8]) -> std::io::Result<()> {
    let name = format!("{:010}-{}.eml", message.id, message.kind);
    crate::private_fs::write_atomically(dir, &name, bytes)
}

/// Write what the attempt did. Only the claim this worker holds is updated (`status =
/// 'sending'`), so a message is marked sent once. A sent message's bodies are wiped: nothing
/// needs them again, and the outbox then keeps no link at all.
fn record(conn: &mut DbConn, message: &Claimed, outcome: Outcome, now: NaiveDateTime) -> QueryResult<()> {
    let held = outbox::table.filter(outbox::id.eq(message.id)).filter(outbox::status.eq("sending"));
    match outcome {
        Outcome::Sent => diesel::update(held)
            .set((
                outbox::status.eq("sent"),
                outbox::sent_at.eq(Some(now)),
                outbox::claimed_until.eq(None::<NaiveDateTime>),
                outbox::last_error.eq(""),
                outbox::body_text.eq(""),
                outbox::body_html.eq(""),
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
