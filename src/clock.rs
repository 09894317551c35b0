//! The one source of "now", so tests can move time (session timeouts, countdowns, expiry).

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{Duration, NaiveDateTime, Utc};

/// Wall-clock UTC time plus an offset that only tests change.
#[derive(Debug, Default)]
pub struct Clock {
    offset_seconds: AtomicI64,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// The current UTC time, at microsecond precision (what both backends store).
    pub fn now(&self) -> NaiveDateTime {
        let now = Utc::now().naive_utc() + Duration::seconds(self.offset_seconds.load(Ordering::Relaxed));
        now.with_nanosecond_truncated()
    }

    /// Move this clock forward (tests only: no route reaches it).
    pub fn advance(&self, by: Duration) {
        self.offset_seconds.fetch_add(by.num_seconds(), Ordering::Relaxed);
    }
}

trait TruncateToMicros {
    fn with_nanosecond_truncated(self) -> Self;
}

impl TruncateToMicros for NaiveDateTime {
    fn with_nanosecond_truncated(self) -> Self {
        use chrono::Timelike;
        let micros = self.nanosecond() / 1_000 * 1_000;
        self.with_nanosecond(micros).unwrap_or(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_now_forward() {
        let clock = Clock::system();
        let before = clock.now();
        clock.advance(Duration::minutes(31));
        assert!(clock.now() - before >= Duration::minutes(31));
    }
}
