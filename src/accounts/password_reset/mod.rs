//! Password reset (`/password-reset`): a person who forgot their password asks for a link by
//! email address and gets one by email, if an active account has that address; the answer is
//! the same, in the same time, either way. The link (`/password-reset/{token}`, 256 random
//! bits, only its SHA-256 stored) works once, for an hour, and a newer link supersedes it.
//! Using it sets the password, ends every session of the account and clears its lockouts.

pub(super) mod handlers;
pub mod queries;

use std::net::IpAddr;
use std::time::Duration as StdDuration;

use chrono::Duration;

use crate::auth::rate_limit::SignInLimiter;

/// How long a link works.
pub const VALIDITY: Duration = Duration::hours(1);
/// At most one email per account this often; a request in between changes nothing.
pub const EMAIL_INTERVAL: Duration = Duration::minutes(5);
/// Where links point; the token follows (the access log hides it, see `registration`).
pub const PATH_PREFIX: &str = "/password-reset/";

/// Requests a client may make at once before the pace below applies.
pub const CLIENT_BURST: u32 = 5;
/// One more request per client this often, once the burst is spent.
pub const CLIENT_PERIOD: StdDuration = StdDuration::from_secs(60);

/// The per-client-address limit of `POST /password-reset`: bursts of `CLIENT_BURST`, then one
/// a minute. Its own type, so it is its own `web::Data` beside the sign-in limiter.
pub struct ResetLimiter(SignInLimiter);

impl Default for ResetLimiter {
    fn default() -> Self {
        Self(SignInLimiter::with_period(CLIENT_BURST, CLIENT_PERIOD))
    }
}

impl ResetLimiter {
    /// `Ok` when this client may ask now, else the whole seconds to wait.
    pub fn check(&self, client: Option<IpAddr>) -> Result<(), u64> {
        self.0.check(client)
    }
}
