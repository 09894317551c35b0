//! What a signed-in session holds (in the encrypted cookie) and its timeouts.

use actix_session::Session;
use chrono::{Duration, NaiveDateTime};

use crate::error::AppError;

/// A session unused this long is over.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// A session this old is over, however busy.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);
/// `last_seen` is rewritten at most this often, so most responses need no new cookie.
const TOUCH_INTERVAL: Duration = Duration::seconds(60);

const ACCOUNT_ID: &str = "account_id";
const EPOCH: &str = "epoch";
const ISSUED_AT: &str = "issued_at";
const LAST_SEEN: &str = "last_seen";

/// The signed-in part of a session.
#[derive(Debug, Clone, Copy)]
pub struct SessionState {
    pub account_id: i64,
    pub epoch: i64,
    pub issued_at: i64,
    pub last_seen: i64,
}

/// Why a session no longer counts as signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Idle,
    Absolute,
}

impl SessionState {
    pub fn read(session: &Session) -> Option<Self> {
        let get = |key: &str| session.get::<i64>(key).ok().flatten();
        Some(Self {
            account_id: get(ACCOUNT_ID)?,
            epoch: get(EPOCH)?,
            issued_at: get(ISSUED_AT)?,
            last_seen: get(LAST_SEEN)?,
        })
    }

    pub fn expiry(&self, now: NaiveDateTime) -> Option<Expiry> {
        let now = now.and_utc().timestamp();
        if now - self.issued_at >= ABSOLUTE_TIMEOUT.num_seconds() {
            Some(Expiry::Absolute)
        } else if now - self.last_seen >= IDLE_TIMEOUT.num_seconds() {
            Some(Expiry::Idle)
        } else {
            None
        }
    }

    /// Record activity, rewriting the cookie only when enough time has passed.
    pub fn touch(&self, session: &Session, now: NaiveDateTime) -> Result<(), AppError> {
        let now = now.and_utc().timestamp();
        if now - self.last_seen >= TOUCH_INTERVAL.num_seconds() {
            insert(session, LAST_SEEN, now)?;
        }
        Ok(())
    }
}

/// Begin a signed-in session: a fresh session id, the account and its epoch, and a new CSRF token.
pub fn begin(session: &Session, account_id: i64, epoch: i64, now: NaiveDateTime) -> Result<(), AppError> {
    let now = now.and_utc().timestamp();
    // renew + clear rather than purge: actix-session ignores writes after a purge.
    session.renew();
    session.clear();
    insert(session, ACCOUNT_ID, account_id)?;
    insert(session, EPOCH, epoch)?;
    insert(session, ISSUED_AT, now)?;
    insert(session, LAST_SEEN, now)?;
    crate::csrf::rotate(session)?;
    Ok(())
}

/// Carry this session over to a new epoch (after a password change ended the others).
pub fn adopt_epoch(session: &Session, epoch: i64) -> Result<(), AppError> {
    session.renew();
    insert(session, EPOCH, epoch)?;
    crate::csrf::rotate(session)?;
    Ok(())
}

/// End the session: nothing of it survives, and the next page gets a new CSRF token.
/// (Renew + clear, not purge, so a flash message can still be left for the next page.)
pub fn end(session: &Session) {
    session.renew();
    session.clear();
}

fn insert(session: &Session, key: &str, value: i64) -> Result<(), AppError> {
    session.insert(key, value).map_err(|e| AppError::Unexpected(anyhow::anyhow!("cannot write session: {e}")))
}
