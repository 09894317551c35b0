//! One-shot messages shown on the next page (kept in the session cookie).

use actix_session::Session;
use serde::{Deserialize, Serialize};

const SESSION_KEY: &str = "flash";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum FlashKind {
    Success,
    Info,
    Warning,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

impl Flash {
    /// The CSS modifier for this kind.
    pub fn class(&self) -> &'static str {
        match self.kind {
            FlashKind::Success => "success",
            FlashKind::Info => "info",
            FlashKind::Warning => "warning",
        }
    }
}

/// Leave a message for the next page. Losing it is harmless, so a failure is only logged.
pub fn set(session: &Session, kind: FlashKind, message: impl Into<String>) {
    if let Err(e) = session.insert(SESSION_KEY, Flash { kind, message: message.into() }) {
        log::warn!("cannot store flash message: {e}");
    }
}

/// Take the waiting message, if any.
pub fn take(session: &Session) -> Option<Flash> {
    let flash = session.get::<Flash>(SESSION_KEY).ok().flatten()?;
    session.remove(SESSION_KEY);
    Some(flash)
}
