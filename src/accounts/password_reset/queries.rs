//! Password reset links in the database: asking for one, looking one up, using one up.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};

use super::{EMAIL_INTERVAL, PATH_PREFIX, VALIDITY};
use crate::audit::{self, Actor, NewEvent};
use crate::auth::session::token_hash;
use crate::db::schema::{accounts, ldap_entries, password_resets, sessions, sign_in_failures};
use crate::db::{self, DbConn};
use crate::domain::AccountStatus;
use crate::mail::{self, messages, Site};

/// No account has this id: the key an unknown address looks up, so that it runs the same
/// queries as a known one.
const NO_ACCOUNT: i64 = -1;

/// What a request for a link came to. The person asking is told the same in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requested {
    /// A new link was queued (superseding any earlier one).
    Sent,
    /// The account was sent a link less than `EMAIL_INTERVAL` ago: no new email.
    TooSoon,
    /// No active account has this address.
    NoAccount,
    /// The account came from an LDAP directory, which keeps its password: a local one would be
    /// set and then never asked for (sign-in binds to the directory), so no link is sent and
    /// the person is told what any address is told.
    Directory,
}

impl Requested {
    fn audit_word(self) -> &'static str {
        match self {
            Self::Sent => "link sent",
            Self::TooSoon => "no email: a link was sent less than 5 minutes ago",
            Self::NoAccount => "no active account has this address",
            Self::Directory => "no email: the account's password is kept by its directory",
        }
    }
}

/// Ask for a link for `email` (already parsed and folded), in one write transaction whose
/// statements are the same whether the address has an account or not: the lookup, the read of
/// the last link, the delete of the old link, the rendering and sealing of the email, the two
/// `INSERT … SELECT`s of the link and the email, and the audit event. Only a real, unpaced
/// request makes those inserts write a row.
pub fn request(
    conn: &mut DbConn,
    site: &Site,
    email: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> QueryResult<Requested> {
    db::write_transaction(conn, |conn| {
        let found: Option<(i64, bool)> = accounts::table
            .filter(accounts::email.eq(email))
            .filter(accounts::status.eq(AccountStatus::Active))
            .select((
                accounts::id,
                diesel::dsl::exists(ldap_entries::table.filter(ldap_entries::account_id.eq(accounts::id))),
            ))
            .first(conn)
            .optional()?;
        let account_id = found.map(|(id, _)| id);
        let from_directory = found.is_some_and(|(_, directory)| directory);
        let key = account_id.unwrap_or(NO_ACCOUNT);
        let last_sent: Option<NaiveDateTime> = password_resets::table
            .filter(password_resets::account_id.eq(key))
            .select(password_resets::created_at)
            .first(conn)
            .optional()?;
        let outcome = match (account_id, last_sent) {
            (None, _) => Requested::NoAccount,
            (Some(_), _) if from_directory => Requested::Directory,
            (Some(_), Some(at)) if now - at < EMAIL_INTERVAL => Requested::TooSoon,
            (Some(_), _) => Requested::Sent,
        };
        let token = crate::auth::random_token(32);
        let hash = token_hash(&token);
        let expires_at = now + VALIDITY;
        let message = messages::password_reset(site, email, &site.link(&format!("{PATH_PREFIX}{token}")), expires_at);
        // Supersede: the earlier link stops working (deletes nothing for an unknown address).
        let replaced = if outcome == Requested::TooSoon { NO_ACCOUNT } else { key };
        diesel::delete(password_resets::table.filter(password_resets::account_id.eq(replaced))).execute(conn)?;
        // The same two statements either way; they write rows only for an account that gets
        // an email, and the bodies are sealed in every case.
        let recipient = if outcome == Requested::Sent { key } else { NO_ACCOUNT };
        let link = accounts::table.filter(accounts::id.eq(recipient)).select((
            accounts::id,
            hash.as_str().into_sql::<Text>(),
            now.into_sql::<Timestamp>(),
            expires_at.into_sql::<Timestamp>(),
        ));
        diesel::insert_into(password_resets::table)
            .values(link)
            .into_columns((
                password_resets::account_id,
                password_resets::token_hash,
                password_resets::created_at,
                password_resets::expires_at,
            ))
            .execute(conn)?;
        mail::enqueue_if_account(conn, site, &message, recipient, now, now)?;
        let event = NewEvent::platform(actor, "account.password_reset_requested", email)
            .details(serde_json::json!({ "outcome": outcome.audit_word() }));
        audit::record(conn, &event, now)?;
        Ok(outcome)
    })
}

/// What a link comes to at a given moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// It works: it would set the password of this account.
    Usable { account_id: i64, email: String },
    /// It was issued, but more than `VALIDITY` ago.
    Expired,
    /// Used, superseded by a newer link, or never issued (all look the same).
    Gone,
}

/// Look a link up by its token (read only; opening the page does not use it up).
pub fn lookup(conn: &mut DbConn, token: &str, now: NaiveDateTime) -> QueryResult<Link> {
    let found: Option<(i64, String, NaiveDateTime)> = password_resets::table
        .inner_join(accounts::table)
        .filter(password_resets::token_hash.eq(token_hash(token)))
        .filter(accounts::status.eq(AccountStatus::Active))
        .select((accounts::id, accounts::email, password_resets::expires_at))
        .first(conn)
        .optional()?;
    Ok(match found {
        None => Link::Gone,
        Some((_, _, expires_at)) if expires_at <= now => Link::Expired,
        Some((account_id, email, _)) => Link::Usable { account_id, email },
    })
}

/// What setting the password through a link did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordSet {
    pub sessions_ended: usize,
    pub lockouts_cleared: usize,
}

/// Use the link up and set the password, in one transaction: the link's row is deleted only
/// while it is still live, and that delete's count decides, so of two submissions at once
/// exactly one sets the password (`None` for the other, and for a link that expired or was
/// superseded meanwhile). Every session of the account ends, `browser_session` (the token of
/// the session cookie of the browser using the link, whoever it belonged to) too, and the
/// account's lockout counters are cleared.
pub fn use_link(
    conn: &mut DbConn,
    token: &str,
    account_id: i64,
    password_hash: &str,
    browser_session: Option<&str>,
    actor: &Actor,
    now: NaiveDateTime,
) -> QueryResult<Option<PasswordSet>> {
    db::write_transaction(conn, |conn| {
        let used = diesel::delete(
            password_resets::table
                .filter(password_resets::token_hash.eq(token_hash(token)))
                .filter(password_resets::account_id.eq(account_id))
                .filter(password_resets::expires_at.gt(now)),
        )
        .execute(conn)?;
        if used != 1 {
            return Ok(None);
        }
        crate::accounts::queries::set_password(conn, account_id, password_hash, now)?;
        let sessions_ended = crate::auth::session::end_all_of(conn, account_id, None)?;
        if let Some(browser_session) = browser_session {
            let hash = token_hash(browser_session);
            diesel::delete(sessions::table.filter(sessions::token_hash.eq(hash))).execute(conn)?;
        }
        let lockouts_cleared =
            diesel::delete(sign_in_failures::table.filter(sign_in_failures::account_id.eq(account_id)))
                .execute(conn)?;
        let event = NewEvent::platform(actor, "account.password_reset", &actor.email).details(serde_json::json!({
            "sessions ended": sessions_ended,
            "lockouts cleared": lockouts_cleared,
        }));
        audit::record(conn, &event, now)?;
        Ok(Some(PasswordSet { sessions_ended, lockouts_cleared }))
    })
}
