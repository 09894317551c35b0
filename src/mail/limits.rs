//! Limits on the emails an organization administrator can make the portal send to addresses
//! of their choosing: at most `ORGPORTAL_INVITATIONS_PER_HOUR` invitation emails per
//! organization in any hour, and a resend to one person at most once a minute. Both are
//! checked inside the transaction that queues the email, under the organization's lock, so
//! concurrent requests cannot pass them together.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::messages;
use crate::db::schema::outbox;
use crate::db::DbConn;

/// The kinds that count: invitations and "you were added" notices (an address that already has
/// an account gets the second instead of the first, so both count alike and the limit reveals
/// nothing about the address).
pub const COUNTED_KINDS: [&str; 3] = [messages::INVITATION, messages::USER_INVITATION, messages::ADDED_TO_ORGANIZATION];
/// The window of the per-organization limit.
pub const WINDOW: Duration = Duration::hours(1);
/// The shortest time between two resends to one person.
pub const RESEND_INTERVAL: Duration = Duration::minutes(1);

/// A refused email: what to tell the administrator, and when trying again can work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limited {
    pub message: String,
    pub retry_after_secs: u64,
}

fn seconds_until(then: NaiveDateTime, now: NaiveDateTime) -> u64 {
    u64::try_from((then - now).num_seconds()).unwrap_or(0).max(1)
}

/// `None` when `org_id` may send one more invitation email now; else why not.
pub fn check_invitations(
    conn: &mut DbConn,
    org_id: i64,
    per_hour: u32,
    now: NaiveDateTime,
) -> QueryResult<Option<Limited>> {
    let since = now - WINDOW;
    let in_window = || {
        outbox::table
            .filter(outbox::organization_id.eq(org_id))
            .filter(outbox::kind.eq_any(COUNTED_KINDS))
            .filter(outbox::created_at.gt(since))
    };
    let sent: i64 = in_window().count().get_result(conn)?;
    if sent < i64::from(per_hour) {
        return Ok(None);
    }
    // Room returns when enough of the window's emails have aged out of it.
    let over = sent - i64::from(per_hour);
    let freed_at: Option<NaiveDateTime> = in_window()
        .order((outbox::created_at.asc(), outbox::id.asc()))
        .select(outbox::created_at)
        .offset(over)
        .first(conn)
        .optional()?;
    let retry_at = freed_at.map_or(now + WINDOW, |at| at + WINDOW);
    Ok(Some(Limited {
        message: format!(
            "This organization has sent {per_hour} invitation emails in the past hour, the most allowed, so no email \
             was sent. Try again after {} UTC.",
            retry_at.format("%H:%M")
        ),
        retry_after_secs: seconds_until(retry_at, now),
    }))
}

/// `None` when a resend to this person may go now (the last one was at `last_resent_at`).
pub fn check_resend(last_resent_at: Option<NaiveDateTime>, now: NaiveDateTime) -> Option<Limited> {
    let next = last_resent_at? + RESEND_INTERVAL;
    (next > now).then(|| {
        let wait = seconds_until(next, now);
        Limited {
            message: format!(
                "An invitation was resent to this person less than a minute ago. Wait {wait} second{} before resending it again.",
                if wait == 1 { "" } else { "s" }
            ),
            retry_after_secs: wait,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap().naive_utc()
    }

    #[test]
    fn a_resend_waits_a_minute_after_the_last_resend() {
        assert_eq!(check_resend(None, at(0)), None);
        let refused = check_resend(Some(at(0)), at(45)).unwrap();
        assert_eq!(refused.retry_after_secs, 15);
        assert!(refused.message.contains("Wait 15 seconds"), "{}", refused.message);
        assert_eq!(check_resend(Some(at(0)), at(59)).unwrap().retry_after_secs, 1);
        assert_eq!(check_resend(Some(at(0)), at(60)), None);
    }
}
