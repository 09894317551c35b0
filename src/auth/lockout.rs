//! Lockout: ten failed sign-ins in a row for one account from one client address lock that
//! pair for 15 minutes. Attempts while locked neither count nor extend the lock. Counters live
//! in the database so every instance sees them; only existing accounts get a row, so guessing
//! at an unknown address leaves nothing that could later block whoever registers it.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::sign_in_failures;
use crate::db::{self, DbConn};

/// Failures in a row that lock the pair.
pub const MAX_FAILURES: i64 = 10;
/// How long a lock lasts.
pub const LOCK_DURATION: Duration = Duration::minutes(15);
/// Failures older than this no longer count toward a lock (and their rows are purged).
pub const FAILURE_MEMORY: Duration = Duration::hours(24);
/// Advisory-lock keys (PostgreSQL) serialising the counter of one account.
const LOCK_KEY_BASE: i64 = 0x6f72_6704_0000_0000;

/// The stored counter of one (account, client address) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable)]
pub struct PairState {
    pub failures: i64,
    pub locked_until: Option<NaiveDateTime>,
    pub last_failure_at: NaiveDateTime,
}

impl PairState {
    pub fn is_locked(&self, now: NaiveDateTime) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

/// What a failed attempt did to the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Counted: this many in a row now.
    Counted(i64),
    /// This failure was the tenth: locked until then.
    LockedNow(NaiveDateTime),
    /// The pair was already locked: not counted, lock not extended.
    WhileLocked,
}

/// The pair's state after one more failure at `now` (pure: the rule, unit-tested).
pub fn after_failure(before: Option<PairState>, now: NaiveDateTime) -> (Option<PairState>, Failure) {
    let counted_so_far = match before {
        Some(state) if state.is_locked(now) => return (Some(state), Failure::WhileLocked),
        // An expired lock, or failures long ago, start the count again.
        Some(state) if state.locked_until.is_some() || now - state.last_failure_at >= FAILURE_MEMORY => 0,
        Some(state) => state.failures,
        None => 0,
    };
    let failures = counted_so_far + 1;
    if failures >= MAX_FAILURES {
        let until = now + LOCK_DURATION;
        (Some(PairState { failures, locked_until: Some(until), last_failure_at: now }), Failure::LockedNow(until))
    } else {
        (Some(PairState { failures, locked_until: None, last_failure_at: now }), Failure::Counted(failures))
    }
}

/// The stored counter of a pair.
pub fn state(conn: &mut DbConn, account_id: i64, client: &str) -> QueryResult<Option<PairState>> {
    sign_in_failures::table
        .find((account_id, client))
        .select((sign_in_failures::failures, sign_in_failures::locked_until, sign_in_failures::last_failure_at))
        .first(conn)
        .optional()
}

/// True when the pair is locked at `now`.
pub fn is_locked(conn: &mut DbConn, account_id: i64, client: &str, now: NaiveDateTime) -> QueryResult<bool> {
    Ok(state(conn, account_id, client)?.is_some_and(|s| s.is_locked(now)))
}

/// Count a failure. Call inside a write transaction (`db::write_transaction`): on SQLite it
/// holds the write lock; on PostgreSQL an advisory lock per account serialises the read and
/// the write, so two instances counting at once never lose a failure.
pub fn record_failure(conn: &mut DbConn, account_id: i64, client: &str, now: NaiveDateTime) -> QueryResult<Failure> {
    db::lock_for_transaction(conn, LOCK_KEY_BASE.wrapping_add(account_id))?;
    let before = state(conn, account_id, client)?;
    let (after, outcome) = after_failure(before, now);
    if let (Some(after), false) = (after, outcome == Failure::WhileLocked) {
        let values = (
            sign_in_failures::failures.eq(after.failures),
            sign_in_failures::locked_until.eq(after.locked_until),
            sign_in_failures::last_failure_at.eq(after.last_failure_at),
        );
        if before.is_some() {
            diesel::update(sign_in_failures::table.find((account_id, client))).set(values).execute(conn)?;
        } else {
            diesel::insert_into(sign_in_failures::table)
                .values((sign_in_failures::account_id.eq(account_id), sign_in_failures::client_addr.eq(client), values))
                .execute(conn)?;
        }
    }
    Ok(outcome)
}

/// A successful sign-in ends the run of failures for its pair; stale rows of every pair go too.
pub fn clear(conn: &mut DbConn, account_id: i64, client: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::delete(sign_in_failures::table.find((account_id, client))).execute(conn)?;
    diesel::delete(
        sign_in_failures::table
            .filter(sign_in_failures::last_failure_at.lt(now - FAILURE_MEMORY))
            .filter(sign_in_failures::locked_until.is_null().or(sign_in_failures::locked_until.lt(now))),
    )
    .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).unwrap().naive_utc()
    }

    fn fail_times(n: i64, start: Option<PairState>, now: NaiveDateTime) -> (Option<PairState>, Failure) {
        let mut state = start;
        let mut last = Failure::WhileLocked;
        for _ in 0..n {
            (state, last) = after_failure(state, now);
        }
        (state, last)
    }

    #[test]
    fn the_tenth_failure_in_a_row_locks_for_fifteen_minutes() {
        let (state, last) = fail_times(9, None, at(0));
        assert_eq!(last, Failure::Counted(9));
        let (state, last) = after_failure(state, at(1));
        assert_eq!(last, Failure::LockedNow(at(16)));
        assert!(state.unwrap().is_locked(at(15)));
        assert!(!state.unwrap().is_locked(at(16)));
    }

    #[test]
    fn failures_while_locked_neither_count_nor_extend() {
        let (locked, _) = fail_times(10, None, at(0));
        let (after, outcome) = after_failure(locked, at(10));
        assert_eq!(outcome, Failure::WhileLocked);
        assert_eq!(after, locked);
    }

    #[test]
    fn after_the_lock_the_count_starts_again() {
        let (locked, _) = fail_times(10, None, at(0));
        let (after, outcome) = after_failure(locked, at(15));
        assert_eq!(outcome, Failure::Counted(1));
        assert!(!after.unwrap().is_locked(at(15)));
    }

    #[test]
    fn failures_a_day_old_are_forgotten() {
        let (state, _) = fail_times(9, None, at(0));
        let (_, outcome) = after_failure(state, at(24 * 60));
        assert_eq!(outcome, Failure::Counted(1));
    }
}
