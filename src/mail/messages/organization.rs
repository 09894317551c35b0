//! Messages about a membership: invitations, validation.

use chrono::NaiveDateTime;

use super::{day_and_time, own_link, Content, Email, Help};
use crate::domain::{MembershipStatus, OrgId};
use crate::mail::Site;

pub const USER_INVITATION: &str = "user_invitation";
pub const ADDED_TO_ORGANIZATION: &str = "added_to_organization";
pub const ACCOUNT_VALIDATED: &str = "account_validated";

/// An invitation to join an organization (Add user, Resend invitation): to whom, for which
/// organization, the registration link. `help` is the organization's Organization Admin Email.
pub struct Invitation<'a> {
    pub to: &'a str,
    pub org_id: i64,
    pub org_name: &'a str,
    pub help: &'a str,
    pub link: &'a str,
    pub expires_at: NaiveDateTime,
    /// The address already has an account: the link lets the person accept once signed in,
    /// rather than set up an account. Same kind and subject either way.
    pub has_account: bool,
}

/// The invitation email; only its words depend on whether the person has an account.
pub fn user_invitation(site: &Site, invitation: &Invitation<'_>) -> Email {
    let org_name = invitation.org_name;
    let (paragraphs, button) = if invitation.has_account {
        (
            vec![
                format!("An administrator of “{org_name}” invited you to join the organization."),
                "You already have an account: open the link below, sign in if asked, and accept the invitation. An administrator then confirms your membership, usually after speaking with you.".into(),
            ],
            "Accept the invitation",
        )
    } else {
        (
            vec![
                format!("An administrator of “{org_name}” added you as a user."),
                "Open the link below to choose your password. An administrator then confirms your account, usually after speaking with you, and you can start.".into(),
            ],
            "Set up your account",
        )
    };
    invitation.email(site, paragraphs, button)
}

impl Invitation<'_> {
    /// What both invitations share; only their words differ.
    fn email(&self, site: &Site, paragraphs: Vec<String>, button: &str) -> Email {
        let org_name = self.org_name;
        Content {
            subject: format!("You are invited to join {org_name}"),
            name: None,
            paragraphs,
            action: Some((button.into(), own_link(site, self.link))),
            notes: vec![format!("The link works once and expires on {}.", day_and_time(self.expires_at))],
            why: format!("You receive this email because an administrator of “{org_name}” entered your address."),
            help: Help::for_organization(self.help),
        }
        .into_email(site, USER_INVITATION, self.to, Some(self.org_id))
    }
}

pub const READY_FOR_VALIDATION: &str = "ready_for_validation";

/// To each active Delegate of an organization: someone registered (or accepted) and awaits
/// validation.
pub fn ready_for_validation(
    site: &Site,
    to: &str,
    org_id: i64,
    org_name: &str,
    help: &str,
    person_name: &str,
    person_email: &str,
) -> Email {
    let who = if person_name.is_empty() { person_email.to_owned() } else { format!("{person_name} ({person_email})") };
    Content {
        subject: format!("{who} is ready for validation in {org_name}"),
        name: None,
        paragraphs: vec![
            format!("{who} accepted the invitation to “{org_name}” and now awaits validation."),
            "Speak with the person to confirm who they are, then validate them on the users list.".into(),
        ],
        action: Some((
            "Review who awaits validation".into(),
            site.link(&crate::org_admin::paths::users_with_status(OrgId(org_id), MembershipStatus::AwaitingValidation)),
        )),
        notes: vec![],
        why: format!("You receive this email because you are an administrator of “{org_name}”."),
        help: Help::Delegates { admin_email: help.trim().to_owned() },
    }
    .into_email(site, READY_FOR_VALIDATION, to, Some(org_id))
}

/// An account that can already sign in was added to another organization.
pub fn added_to_organization(site: &Site, to: &str, org_id: i64, org_name: &str, help: &str) -> Email {
    Content {
        subject: format!("You were added to {org_name}"),
        name: None,
        paragraphs: vec![
            format!("An administrator of “{org_name}” added your existing account as a user."),
            "An administrator confirms the membership, usually after speaking with you; you will get an email when it is ready.".into(),
        ],
        action: None,
        notes: vec![],
        why: format!("You receive this email because an administrator of “{org_name}” entered your address."),
        help: Help::for_organization(help),
    }
    .into_email(site, ADDED_TO_ORGANIZATION, to, Some(org_id))
}

/// Validation done: the membership is active. `display_name` is the account's name, when it
/// has one (older accounts may not): the greeting names the person then.
pub fn account_validated(
    site: &Site,
    to: &str,
    display_name: Option<&str>,
    org_id: i64,
    org_name: &str,
    help: &str,
) -> Email {
    Content {
        subject: format!("Your account in {org_name} is ready"),
        name: display_name.map(str::to_owned),
        paragraphs: vec![format!(
            "An administrator of “{org_name}” confirmed your account. You can sign in and start."
        )],
        action: Some(("Sign in".into(), site.link("/login"))),
        notes: vec![],
        why: format!("You receive this email because an administrator of “{org_name}” validated your membership."),
        help: Help::for_organization(help),
    }
    .into_email(site, ACCOUNT_VALIDATED, to, Some(org_id))
}
