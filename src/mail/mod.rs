//! Email: messages are rendered and written to the `outbox` table in the same transaction as
//! the change that causes them, and a background worker delivers them (`worker`). Nothing
//! sends mail from a request. Bodies are stored sealed (`sealed`), since they carry
//! registration links, and wiped once sent.

pub mod limits;
pub mod messages;
pub mod sealed;
pub mod worker;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::config::Config;
use crate::db::schema::outbox;
use crate::db::DbConn;

pub use messages::Email;

/// What every email needs to know about the portal: where its links point, the domain of its
/// Message-IDs, the key its bodies are sealed with, and how many invitations an organization
/// may send. Built from the settings.
#[derive(Debug, Clone)]
pub struct Site {
    /// `ORGPORTAL_BASE_URL`, without a trailing slash: the only source of links in emails.
    pub base_url: String,
    message_id_domain: String,
    /// `None` only when the secret key cannot be read; queuing a message then fails.
    body_key: Option<sealed::BodyKey>,
    /// `ORGPORTAL_INVITATIONS_PER_HOUR`.
    pub invitations_per_hour: u32,
}

impl Site {
    pub fn from_config(config: &Config) -> Self {
        let domain = url::Url::parse(&config.base_url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .filter(|host| !host.is_empty())
            .unwrap_or_else(|| config.mail_from.address.as_str().rsplit('@').next().unwrap_or("localhost").to_owned());
        // The application state loads the key before building any `Site`, so this reads no file.
        let body_key = match config.load_secret_key() {
            Ok(secret) => Some(sealed::BodyKey::derive(&secret)),
            Err(e) => {
                log::error!("mail: the secret key cannot be read, so no email can be queued: {e:#}");
                None
            }
        };
        Self {
            base_url: config.base_url.clone(),
            message_id_domain: domain.trim_matches(['[', ']']).to_owned(),
            body_key,
            invitations_per_hour: config.invitations_per_hour,
        }
    }

    /// An absolute link to `path` (which starts with `/`).
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A fresh, globally unique Message-ID. It is stored with the message, so a resend after
    /// a lost acknowledgement carries the same one and receivers can drop the duplicate.
    fn new_message_id(&self) -> String {
        format!("<{}@{}>", crate::auth::random_token(18), self.message_id_domain)
    }
}

/// Queue `email` for delivery at `due` (now, or later for a message that must wait, such as a
/// removal becoming actionable). Call inside the transaction of the change that causes it. The
/// bodies are stored sealed: the outbox never holds a working link.
pub fn enqueue(
    conn: &mut DbConn,
    site: &Site,
    email: &Email,
    due: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let (message_id, text, html) = seal(site, email)?;
    diesel::insert_into(outbox::table)
        .values((
            outbox::message_id.eq(message_id),
            outbox::kind.eq(email.kind),
            outbox::organization_id.eq(email.organization_id),
            outbox::recipient.eq(&email.to),
            outbox::subject.eq(&email.subject),
            outbox::body_text.eq(text),
            outbox::body_html.eq(html),
            outbox::status.eq("queued"),
            outbox::next_attempt_at.eq(due),
            outbox::created_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// Like `enqueue`, but only when an account with id `account_id` exists, in one
/// `INSERT … SELECT` that runs (and seals the bodies) just the same when it does not: for
/// answers that must take the same time either way (password reset).
pub fn enqueue_if_account(
    conn: &mut DbConn,
    site: &Site,
    email: &Email,
    account_id: i64,
    due: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    use diesel::sql_types::{Nullable, Text, Timestamp};
    let (message_id, text, html) = seal(site, email)?;
    let row = crate::db::schema::accounts::table.filter(crate::db::schema::accounts::id.eq(account_id)).select((
        message_id.into_sql::<Text>(),
        email.kind.into_sql::<Text>(),
        email.organization_id.into_sql::<Nullable<diesel::sql_types::BigInt>>(),
        email.to.as_str().into_sql::<Text>(),
        email.subject.as_str().into_sql::<Text>(),
        text.into_sql::<Text>(),
        html.into_sql::<Text>(),
        "queued".into_sql::<Text>(),
        due.into_sql::<Timestamp>(),
        now.into_sql::<Timestamp>(),
    ));
    diesel::insert_into(outbox::table)
        .values(row)
        .into_columns((
            outbox::message_id,
            outbox::kind,
            outbox::organization_id,
            outbox::recipient,
            outbox::subject,
            outbox::body_text,
            outbox::body_html,
            outbox::status,
            outbox::next_attempt_at,
            outbox::created_at,
        ))
        .execute(conn)
}

/// A new Message-ID and the two bodies sealed under it.
fn seal(site: &Site, email: &Email) -> QueryResult<(String, String, String)> {
    let message_id = site.new_message_id();
    let unsealable = |e: sealed::OpenError| diesel::result::Error::QueryBuilderError(Box::new(e));
    let key = site.body_key.as_ref().ok_or_else(|| {
        diesel::result::Error::QueryBuilderError("the secret key that seals email bodies is not available".into())
    })?;
    let text = key.seal(&email.text, &message_id, &email.to, sealed::Part::Text).map_err(unsealable)?;
    let html = key.seal(&email.html, &message_id, &email.to, sealed::Part::Html).map_err(unsealable)?;
    Ok((message_id, text, html))
}

/// Withdraw messages of `kind` about `organization_id` that are still waiting (a removal
/// request that was cancelled before its "awaits approval" emails were due). They stay in the
/// outbox, marked cancelled, so the history is complete; their bodies are wiped.
pub fn cancel_queued(conn: &mut DbConn, organization_id: i64, kind: &str, why: &str) -> QueryResult<usize> {
    diesel::update(outbox::table)
        .filter(outbox::organization_id.eq(organization_id))
        .filter(outbox::kind.eq(kind))
        .filter(outbox::status.eq("queued"))
        .set((
            outbox::status.eq("cancelled"),
            outbox::last_error.eq(why),
            outbox::body_text.eq(""),
            outbox::body_html.eq(""),
        ))
        .execute(conn)
}
