//! Server-side sessions. The encrypted cookie carries only a random 256-bit session token (and
//! the CSRF token and flash messages); the `sessions` table holds its SHA-256 with the account,
//! times, client address and browser. Every instance reads the same rows, so signing out,
//! "sign out everywhere else" and a password change take effect on all of them at once.

use actix_session::Session;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::sessions;
use crate::db::DbConn;
use crate::error::AppError;
use crate::web::client::ClientAddr;

/// A session unused this long is over.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// A session this old is over, however busy.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);
/// `last_seen_at` is rewritten at most this often, so most requests only read.
pub const TOUCH_INTERVAL: Duration = Duration::seconds(60);
/// The longest browser description kept (user agents are free text, sometimes huge).
const USER_AGENT_MAX_CHARS: usize = 300;

const TOKEN_KEY: &str = "sid";

/// Why a session no longer counts as signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Idle,
    Absolute,
}

/// Whether a session begun at `created_at` and last used at `last_seen_at` is over at `now`.
pub fn expiry(created_at: NaiveDateTime, last_seen_at: NaiveDateTime, now: NaiveDateTime) -> Option<Expiry> {
    if now - created_at >= ABSOLUTE_TIMEOUT {
        Some(Expiry::Absolute)
    } else if now - last_seen_at >= IDLE_TIMEOUT {
        Some(Expiry::Idle)
    } else {
        None
    }
}

/// The session token the cookie carries, if any.
pub fn cookie_token(session: &Session) -> Option<String> {
    session.get::<String>(TOKEN_KEY).ok().flatten().filter(|t| !t.is_empty())
}

/// The stored form of a session token: 256 random bits need no slow hash, and a database
/// leak gives no usable cookie.
pub fn token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Who and what a new session records.
pub struct NewSession<'a> {
    pub account_id: i64,
    pub client: ClientAddr,
    pub user_agent: &'a str,
}

/// Store a new session row and return its token (for the cookie). Expired rows of every
/// account are purged on the way, so the table holds only live sessions and recent leftovers.
pub fn create(conn: &mut DbConn, new: &NewSession<'_>, now: NaiveDateTime) -> QueryResult<String> {
    purge_expired(conn, now)?;
    let token = crate::auth::random_token(32);
    let user_agent: String = new.user_agent.chars().filter(|c| !c.is_control()).take(USER_AGENT_MAX_CHARS).collect();
    diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(token_hash(&token)),
            sessions::account_id.eq(new.account_id),
            sessions::created_at.eq(now),
            sessions::last_seen_at.eq(now),
            sessions::client_addr.eq(new.client.to_audit_string()),
            sessions::user_agent.eq(user_agent),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Delete sessions past either limit (both columns are indexed).
pub fn purge_expired(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        sessions::table
            .filter(sessions::last_seen_at.le(now - IDLE_TIMEOUT).or(sessions::created_at.le(now - ABSOLUTE_TIMEOUT))),
    )
    .execute(conn)
}

/// End the session whose token is `token` (sign-out). Returns whether a row was deleted.
pub fn delete_by_token(conn: &mut DbConn, token: &str) -> QueryResult<bool> {
    diesel::delete(sessions::table.filter(sessions::token_hash.eq(token_hash(token)))).execute(conn).map(|n| n > 0)
}

/// End every session of `account_id` except `keep` (a password change, "sign out everywhere
/// else", an administrator ending another's sessions). Returns how many ended.
pub fn end_all_of(conn: &mut DbConn, account_id: i64, keep: Option<i64>) -> QueryResult<usize> {
    use crate::db::schema::accounts;
    let of_account = sessions::table.filter(sessions::account_id.eq(account_id));
    let ended = match keep {
        Some(keep) => diesel::delete(of_account.filter(sessions::id.ne(keep))).execute(conn)?,
        None => diesel::delete(of_account).execute(conn)?,
    };
    // A sign-in half done elsewhere (password given, second step to come) ends with them: its
    // cookie carries the epoch it began in.
    diesel::update(accounts::table.find(account_id))
        .set(accounts::session_epoch.eq(accounts::session_epoch + 1))
        .execute(conn)?;
    Ok(ended)
}

/// End one session of `account_id`; another account's session id ends nothing.
pub fn end_one_of(conn: &mut DbConn, account_id: i64, session_id: i64) -> QueryResult<bool> {
    diesel::delete(sessions::table.filter(sessions::id.eq(session_id)).filter(sessions::account_id.eq(account_id)))
        .execute(conn)
        .map(|n| n > 0)
}

/// One of an account's sessions, as the account page lists it.
#[derive(Debug, Clone, Queryable)]
pub struct SessionRow {
    pub id: i64,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub client_addr: String,
    pub user_agent: String,
}

impl SessionRow {
    /// "Firefox on Linux", from the user agent; "Unknown browser" when it says nothing useful.
    pub fn browser(&self) -> String {
        describe_user_agent(&self.user_agent)
    }

    pub fn address(&self) -> &str {
        if self.client_addr.is_empty() {
            "unknown"
        } else {
            &self.client_addr
        }
    }
}

/// The account's live sessions, most recently used first.
pub fn list_of(conn: &mut DbConn, account_id: i64, now: NaiveDateTime) -> QueryResult<Vec<SessionRow>> {
    sessions::table
        .filter(sessions::account_id.eq(account_id))
        .filter(sessions::last_seen_at.gt(now - IDLE_TIMEOUT))
        .filter(sessions::created_at.gt(now - ABSOLUTE_TIMEOUT))
        .order((sessions::last_seen_at.desc(), sessions::id.desc()))
        .select((
            sessions::id,
            sessions::created_at,
            sessions::last_seen_at,
            sessions::client_addr,
            sessions::user_agent,
        ))
        .load(conn)
}

/// A short human description of a user agent. Order matters: Edge and Opera also say Chrome,
/// Chrome also says Safari.
pub fn describe_user_agent(user_agent: &str) -> String {
    const BROWSERS: [(&str, &str); 8] = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("python-requests", "Python requests"),
    ];
    const SYSTEMS: [(&str, &str); 7] = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ];
    let browser = BROWSERS.iter().find(|(marker, _)| user_agent.contains(marker)).map(|(_, name)| *name);
    let system = SYSTEMS.iter().find(|(marker, _)| user_agent.contains(marker)).map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => format!("A browser on {s}"),
        (None, None) => "Unknown browser".to_owned(),
    }
}

/// Put a freshly created session's token in the cookie: a renewed cookie (no state of the
/// anonymous session carries over) and a new CSRF token.
pub fn begin_cookie(session: &Session, token: &str) -> Result<(), AppError> {
    // renew + clear rather than purge: actix-session ignores writes after a purge.
    session.renew();
    session.clear();
    session.insert(TOKEN_KEY, token).map_err(|e| AppError::Unexpected(anyhow::anyhow!("cannot write session: {e}")))?;
    crate::csrf::rotate(session)?;
    Ok(())
}

/// Forget the session in this browser: nothing of it survives, and the next page gets a new
/// CSRF token. (Renew + clear, not purge, so a flash message can still be left for the next
/// page.) The row is deleted separately, by the caller that knows why the session ended.
pub fn end_cookie(session: &Session) {
    session.renew();
    session.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).unwrap().naive_utc()
    }

    #[test]
    fn idle_and_absolute_limits() {
        assert_eq!(expiry(at(0), at(0), at(29)), None);
        assert_eq!(expiry(at(0), at(0), at(30)), Some(Expiry::Idle));
        assert_eq!(expiry(at(0), at(700), at(719)), None);
        assert_eq!(expiry(at(0), at(719), at(720)), Some(Expiry::Absolute));
    }

    #[test]
    fn user_agents_read_as_people_say_them() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                    Chrome/120.0 Safari/537.36 Edg/120.0";
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_user_agent(firefox), "Firefox on Linux");
        assert_eq!(describe_user_agent(edge), "Edge on Windows");
        assert_eq!(describe_user_agent(safari), "Safari on iOS");
        assert_eq!(describe_user_agent(""), "Unknown browser");
    }

    #[test]
    fn token_hashes_are_hex_sha256() {
        let hash = token_hash("abc");
        assert_eq!(hash.len(), 64);
        assert_ne!(hash, token_hash("abd"));
    }
}
