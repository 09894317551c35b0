//! Sign-in attempts per client address: bursts of 30, then one a second (GCRA, by `governor`).
//! Kept in memory per instance: it only slows a guesser down. The lockout, which must hold
//! across instances, lives in the database (`lockout.rs`).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// Attempts a client may make at once before the one-a-second pace applies.
pub const BURST: u32 = 30;
/// Addresses remembered before idle ones are forgotten (bounds the memory a botnet can take).
const FORGET_ABOVE: usize = 10_000;

/// The per-address limiter of `POST /login`.
pub struct SignInLimiter {
    limiter: DefaultKeyedRateLimiter<Option<IpAddr>>,
}

impl Default for SignInLimiter {
    fn default() -> Self {
        Self::new(BURST)
    }
}

impl SignInLimiter {
    /// Bursts of `burst` attempts, refilled at one a second.
    pub fn new(burst: u32) -> Self {
        Self::with_period(burst, Duration::from_secs(1))
    }

    /// Bursts of `burst` attempts, refilled at one per `period` (a zero period counts as one
    /// second). Other forms that must be slowed per client (password reset) use this.
    pub fn with_period(burst: u32, period: Duration) -> Self {
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period).unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN)).allow_burst(burst);
        Self { limiter: DefaultKeyedRateLimiter::keyed(quota) }
    }

    /// `Ok` when this client may try now, else the whole seconds to wait (at least one).
    /// A client whose address is unknown shares one bucket with every other such client.
    pub fn check(&self, client: Option<IpAddr>) -> Result<(), u64> {
        if self.limiter.len() > FORGET_ABOVE {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_refusal_with_a_wait() {
        let limiter = SignInLimiter::new(3);
        let client = Some("203.0.113.7".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(limiter.check(client), Ok(()));
        }
        let wait = limiter.check(client).unwrap_err();
        assert_eq!(wait, 1, "one attempt a second refills the bucket");
    }

    #[test]
    fn addresses_have_their_own_buckets() {
        let limiter = SignInLimiter::new(1);
        assert!(limiter.check(Some("203.0.113.7".parse().unwrap())).is_ok());
        assert!(limiter.check(Some("203.0.113.7".parse().unwrap())).is_err());
        assert!(limiter.check(Some("198.51.100.1".parse().unwrap())).is_ok());
    }

    #[test]
    fn a_longer_period_asks_for_a_longer_wait() {
        let limiter = SignInLimiter::with_period(2, Duration::from_secs(60));
        let client = Some("203.0.113.9".parse().unwrap());
        assert!(limiter.check(client).is_ok());
        assert!(limiter.check(client).is_ok());
        let wait = limiter.check(client).unwrap_err();
        assert!((50..=60).contains(&wait), "about a minute, got {wait}");
    }
}
