//! The pages of `/register/{token}`: the registration form, the "accept the invitation" page,
//! and the page of a link that no longer works (which says why, and whom to ask).

use askama::Template;
use chrono::NaiveDateTime;

use super::queries::{DeadLink, Help};
use crate::domain::FieldErrors;
use crate::web::layout::Layout;

/// `GET /register/{token}` of an address without an account: name and password.
#[derive(Template)]
#[template(path = "registration/register.html")]
pub struct RegisterPage {
    pub layout: Layout,
    pub token: String,
    pub email: String,
    pub inviters: Vec<String>,
    pub expires_at: NaiveDateTime,
    pub display_name: String,
    pub errors: FieldErrors,
}

impl RegisterPage {
    /// "Example Ltd and the platform administrators".
    pub fn inviters_text(&self) -> String {
        join_names(&self.inviters)
    }
}

/// Who the signed-in browser is, relative to the invited account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    SignedOut,
    Invited,
    Other,
}

/// `GET /register/{token}` of an address that has an account: accept the invitation.
#[derive(Template)]
#[template(path = "registration/accept.html")]
pub struct AcceptPage {
    pub layout: Layout,
    pub token: String,
    pub inviters: Vec<String>,
    pub expires_at: NaiveDateTime,
    pub viewer: Viewer,
    /// Where sign-in comes back to (this page).
    pub sign_in_href: String,
}

impl AcceptPage {
    pub fn inviters_text(&self) -> String {
        join_names(&self.inviters)
    }

    pub fn signed_out(&self) -> bool {
        self.viewer == Viewer::SignedOut
    }

    pub fn is_invited_account(&self) -> bool {
        self.viewer == Viewer::Invited
    }
}

/// A link that no longer works.
#[derive(Template)]
#[template(path = "registration/dead_link.html")]
pub struct DeadLinkPage {
    pub layout: Layout,
    pub heading: &'static str,
    pub explanation: &'static str,
    /// What to do now.
    pub next_step: String,
    /// Registered or used: signing in is what is left to do.
    pub offer_sign_in: bool,
}

impl DeadLinkPage {
    pub fn new(layout: Layout, dead: &DeadLink) -> Self {
        let (heading, explanation) = match dead {
            DeadLink::Expired { .. } => {
                ("This invitation link has expired", "Invitation links work for 7 days, and this one is older.")
            }
            DeadLink::Used { .. } => (
                "This invitation link was already used",
                "Each invitation link works once, and this one has done its work. If you registered or accepted with it, sign in.",
            ),
            DeadLink::Registered { .. } => (
                "You have already registered",
                "You registered through another invitation, which took this one along. Sign in to see where you stand.",
            ),
            DeadLink::Superseded { .. } => (
                "This invitation link was replaced by a newer one",
                "A newer invitation email was sent to the same address, and only its link works now.",
            ),
            DeadLink::Withdrawn { help } if help.organization_name.is_some() => {
                ("This invitation was withdrawn", "The organization withdrew the invitation, so the link no longer works.")
            }
            DeadLink::Withdrawn { .. } => (
                "This invitation was withdrawn",
                "The platform administrators withdrew the invitation, so the link no longer works.",
            ),
            DeadLink::Unknown => (
                "This invitation link is not valid",
                "The link is incomplete or was never issued here. Check that you copied all of it from the email.",
            ),
        };
        let offer_sign_in = matches!(dead, DeadLink::Used { .. } | DeadLink::Registered { .. });
        Self { layout, heading, explanation, next_step: next_step(dead), offer_sign_in }
    }
}

fn next_step(dead: &DeadLink) -> String {
    let ask = match dead.help() {
        Some(Help { organization_name: Some(name), admin_email }) if !admin_email.is_empty() => {
            format!("ask the administrators of {name} at {admin_email}")
        }
        Some(Help { organization_name: Some(name), .. }) => format!("ask the administrators of {name}"),
        Some(Help { organization_name: None, .. }) => "ask the platform administrator who invited you".into(),
        None => "ask whoever invited you".into(),
    };
    match dead {
        DeadLink::Superseded { .. } => {
            format!("Use the link in the most recent invitation email. If you cannot find it, {ask} for a new one.")
        }
        DeadLink::Used { .. } | DeadLink::Registered { .. } => {
            format!("Sign in with your email address and password. If you need a new invitation, {ask}.")
        }
        _ => {
            let mut step = ask;
            if let Some(first) = step.get(..1) {
                step = first.to_uppercase() + &step[1..];
            }
            format!("{step} for a new invitation.")
        }
    }
}

fn join_names(names: &[String]) -> String {
    match names {
        [] => "an administrator".into(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_join_as_people_write_them() {
        assert_eq!(join_names(&[]), "an administrator");
        assert_eq!(join_names(&["A".into()]), "A");
        assert_eq!(join_names(&["A".into(), "B".into(), "C".into()]), "A, B and C");
    }

    #[test]
    fn a_dead_link_names_the_organization_admin_email() {
        let help = Help { organization_name: Some("Acme".into()), admin_email: "help@acme.test".into() };
        let step = next_step(&DeadLink::Expired { help });
        assert_eq!(step, "Ask the administrators of Acme at help@acme.test for a new invitation.");
    }
}
