//! The removal request's rules, free of the database and the web: who may do what when, and
//! the Removal Status each viewer reads. Every action × state × viewer is tested below.

use chrono::{Duration, NaiveDateTime};

/// A pending request, as the rules need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub initiated_by: i64,
    pub actionable_at: NaiveDateTime,
}

impl Request {
    pub fn is_actionable(&self, now: NaiveDateTime) -> bool {
        now >= self.actionable_at
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Initiate,
    Cancel,
    Decline,
    Approve,
}

impl Action {
    pub const ALL: [Action; 4] = [Action::Initiate, Action::Cancel, Action::Decline, Action::Approve];
}

/// Why an action is refused. Each says what the viewer can do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("A removal of this organization is already requested. Open its removal page to see the request.")]
    AlreadyRequested,
    #[error("There is no removal request for this organization (it may have just been cancelled or declined).")]
    NoRequest,
    #[error("Only the administrator who initiated this removal can cancel it. To withdraw it, use Decline.")]
    NotTheInitiator,
    #[error("You initiated this removal, so you cannot decline it. To withdraw it, use Cancel.")]
    InitiatorCannotDecline,
    #[error("A removal needs a second platform administrator: the one who initiated it cannot approve it.")]
    InitiatorCannotApprove,
    #[error("This removal cannot be approved yet: {0}. The contact person was promised this notice.")]
    NotYetActionable(String),
}

impl Refusal {
    /// Refusals about who the viewer is (403) rather than the request's state (409).
    pub fn is_about_the_viewer(&self) -> bool {
        matches!(self, Self::NotTheInitiator | Self::InitiatorCannotDecline | Self::InitiatorCannotApprove)
    }
}

/// May `viewer` take `action` on the organization whose request (if any) is `request`?
pub fn check(action: Action, request: Option<&Request>, viewer: i64, now: NaiveDateTime) -> Result<(), Refusal> {
    let initiated_by_viewer = request.map(|r| r.initiated_by == viewer);
    match (action, request, initiated_by_viewer) {
        (Action::Initiate, None, _) => Ok(()),
        (Action::Initiate, Some(_), _) => Err(Refusal::AlreadyRequested),
        (_, None, _) => Err(Refusal::NoRequest),
        (Action::Cancel, Some(_), Some(true)) => Ok(()),
        (Action::Cancel, Some(_), _) => Err(Refusal::NotTheInitiator),
        (Action::Decline, Some(_), Some(true)) => Err(Refusal::InitiatorCannotDecline),
        (Action::Decline, Some(_), _) => Ok(()),
        (Action::Approve, Some(_), Some(true)) => Err(Refusal::InitiatorCannotApprove),
        (Action::Approve, Some(r), _) if !r.is_actionable(now) => {
            Err(Refusal::NotYetActionable(status(Some(r), viewer, now).to_lowercase()))
        }
        (Action::Approve, Some(_), _) => Ok(()),
    }
}

/// The actions `viewer` may take now, in the order the page offers them.
pub fn allowed(request: Option<&Request>, viewer: i64, now: NaiveDateTime) -> Vec<Action> {
    Action::ALL.into_iter().filter(|a| check(*a, request, viewer, now).is_ok()).collect()
}

/// Whole days left before the request becomes actionable, or `None` once it is. Rounded down,
/// and a request exactly N days away counts N − 1 (so D − 1 right after initiation, and
/// `Action today` for the whole last 24 hours).
pub fn days_left(request: &Request, now: NaiveDateTime) -> Option<i64> {
    let left = request.actionable_at - now;
    if left <= Duration::zero() {
        return None;
    }
    let micros = left.num_microseconds().unwrap_or(i64::MAX);
    Some((micros - 1) / Duration::days(1).num_microseconds().unwrap_or(86_400_000_000))
}

/// The Removal Status column, in the exact words of the contract; empty without a request.
pub fn status(request: Option<&Request>, viewer: i64, now: NaiveDateTime) -> String {
    let Some(request) = request else { return String::new() };
    match days_left(request, now) {
        Some(0) => "Action today".into(),
        Some(1) => "Action in 1 day".into(),
        Some(days) => format!("Action in {days} days"),
        None if request.initiated_by == viewer => "Pending".into(),
        None => "Awaiting approval".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: i64 = 1;
    const B: i64 = 2;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn request(actionable_at: &str) -> Request {
        Request { initiated_by: A, actionable_at: at(actionable_at) }
    }

    /// Every action, for the initiator and another administrator, with no request, a request
    /// still counting down, and an actionable one.
    #[test]
    fn every_action_in_every_state_for_each_viewer() {
        let now = at("2026-11-23 12:00:00");
        let counting = request("2026-11-30 12:00:00");
        let ready = request("2026-11-23 12:00:00");
        use Action::*;
        type Case<'a> = (Action, Option<&'a Request>, i64, Result<(), Refusal>);
        let cases: [Case; 24] = [
            (Initiate, None, A, Ok(())),
            (Initiate, None, B, Ok(())),
            (Initiate, Some(&counting), A, Err(Refusal::AlreadyRequested)),
            (Initiate, Some(&counting), B, Err(Refusal::AlreadyRequested)),
            (Initiate, Some(&ready), A, Err(Refusal::AlreadyRequested)),
            (Initiate, Some(&ready), B, Err(Refusal::AlreadyRequested)),
            (Cancel, None, A, Err(Refusal::NoRequest)),
            (Cancel, None, B, Err(Refusal::NoRequest)),
            (Cancel, Some(&counting), A, Ok(())),
            (Cancel, Some(&counting), B, Err(Refusal::NotTheInitiator)),
            (Cancel, Some(&ready), A, Ok(())),
            (Cancel, Some(&ready), B, Err(Refusal::NotTheInitiator)),
            (Decline, None, A, Err(Refusal::NoRequest)),
            (Decline, None, B, Err(Refusal::NoRequest)),
            (Decline, Some(&counting), A, Err(Refusal::InitiatorCannotDecline)),
            (Decline, Some(&counting), B, Ok(())),
            (Decline, Some(&ready), A, Err(Refusal::InitiatorCannotDecline)),
            (Decline, Some(&ready), B, Ok(())),
            (Approve, None, A, Err(Refusal::NoRequest)),
            (Approve, None, B, Err(Refusal::NoRequest)),
            (Approve, Some(&counting), A, Err(Refusal::InitiatorCannotApprove)),
            (Approve, Some(&counting), B, Err(Refusal::NotYetActionable("action in 6 days".into()))),
            (Approve, Some(&ready), A, Err(Refusal::InitiatorCannotApprove)),
            (Approve, Some(&ready), B, Ok(())),
        ];
        for (action, req, viewer, expected) in cases {
            assert_eq!(check(action, req, viewer, now), expected, "{action:?} by {viewer} on {req:?}");
        }
    }

    #[test]
    fn the_offered_actions_follow_the_rules() {
        let now = at("2026-11-23 12:00:00");
        let counting = request("2026-11-25 12:00:00");
        let ready = request("2026-11-20 12:00:00");
        assert_eq!(allowed(None, B, now), [Action::Initiate]);
        assert_eq!(allowed(Some(&counting), A, now), [Action::Cancel]);
        assert_eq!(allowed(Some(&counting), B, now), [Action::Decline]);
        assert_eq!(allowed(Some(&ready), A, now), [Action::Cancel]);
        assert_eq!(allowed(Some(&ready), B, now), [Action::Decline, Action::Approve]);
    }

    #[test]
    fn the_countdown_runs_from_d_minus_1_to_action_today_then_pending() {
        let initiated = at("2026-11-23 12:00:00");
        let r = Request { initiated_by: A, actionable_at: initiated + Duration::days(7) };
        let read = |offset: Duration, viewer| status(Some(&r), viewer, initiated + offset);
        assert_eq!(read(Duration::zero(), A), "Action in 6 days");
        assert_eq!(read(Duration::seconds(1), B), "Action in 6 days");
        assert_eq!(read(Duration::days(1), A), "Action in 5 days");
        assert_eq!(read(Duration::days(5) - Duration::seconds(1), A), "Action in 2 days");
        assert_eq!(read(Duration::days(5), A), "Action in 1 day");
        assert_eq!(read(Duration::days(6) - Duration::seconds(1), B), "Action in 1 day");
        assert_eq!(read(Duration::days(6), A), "Action today");
        assert_eq!(read(Duration::days(7) - Duration::microseconds(1), B), "Action today");
        assert_eq!(read(Duration::days(7), A), "Pending");
        assert_eq!(read(Duration::days(7), B), "Awaiting approval");
        assert_eq!(read(Duration::days(30), B), "Awaiting approval");
        assert_eq!(status(None, A, initiated), "");
    }

    #[test]
    fn a_request_without_notice_is_actionable_at_once() {
        let now = at("2026-11-23 12:00:00");
        let r = Request { initiated_by: A, actionable_at: now };
        assert_eq!(status(Some(&r), A, now), "Pending");
        assert_eq!(status(Some(&r), B, now), "Awaiting approval");
        assert_eq!(check(Action::Approve, Some(&r), B, now), Ok(()));
    }
}
