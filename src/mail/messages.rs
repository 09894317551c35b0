//! Every email the portal sends, in one place: each function words one message, and the two
//! shared templates (`templates/mail/message.{txt,html}`) lay it out as plain text and HTML.

use askama::Template;
use chrono::NaiveDateTime;

use super::Site;

/// A rendered email, ready for the outbox. `Debug` leaves out the bodies, which may hold a
/// registration link.
#[derive(Clone)]
pub struct Email {
    /// What kind of message this is (kept in the outbox; lets a queued one be withdrawn).
    pub kind: &'static str,
    pub to: String,
    pub organization_id: Option<i64>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("kind", &self.kind)
            .field("to", &self.to)
            .field("organization_id", &self.organization_id)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// The words of one message, before layout.
struct Content {
    subject: String,
    paragraphs: Vec<String>,
    /// A button in HTML, a bare link in text.
    action: Option<(String, String)>,
    /// Smaller print under the action.
    notes: Vec<String>,
}

#[derive(Template)]
#[template(path = "mail/message.txt")]
struct TextBody<'a> {
    content: &'a Content,
    site: &'a Site,
}

#[derive(Template)]
#[template(path = "mail/message.html")]
struct HtmlBody<'a> {
    content: &'a Content,
    site: &'a Site,
}

impl Content {
    fn into_email(self, site: &Site, kind: &'static str, to: &str, organization_id: Option<i64>) -> Email {
        // Both templates are compiled in and take only strings; rendering cannot fail on data.
        let text = TextBody { content: &self, site }.render().unwrap_or_default();
        let html = HtmlBody { content: &self, site }.render().unwrap_or_default();
        Email { kind, to: to.to_owned(), organization_id, subject: self.subject, text, html }
    }
}

fn day_and_time(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn days(n: i64) -> String {
    if n == 1 {
        "1 day".into()
    } else {
        format!("{n} days")
    }
}

pub const INVITATION: &str = "invitation";
pub const ADDED_AS_ADMINISTRATOR: &str = "added_as_administrator";
pub const REMOVAL_NOTICE: &str = "removal_notice";
pub const REMOVAL_WITHDRAWN: &str = "removal_withdrawn";
pub const REMOVAL_CARRIED_OUT: &str = "removal_carried_out";
pub const REMOVAL_AWAITS_APPROVAL: &str = "removal_awaits_approval";

/// Invitation to administer a new organization (an unknown Administrator email on Add
/// organization).
pub fn organization_admin_invitation(
    site: &Site,
    to: &str,
    org_id: i64,
    org_name: &str,
    link: &str,
    expires_at: NaiveDateTime,
) -> Email {
    Content {
        subject: format!("You are invited to administer {org_name}"),
        paragraphs: vec![
            format!("A platform administrator added the organization “{org_name}” and named you its administrator."),
            "Open the link below to choose your password. Once you have, you can sign in and manage the organization's users, quotas and properties.".into(),
        ],
        action: Some(("Set up your account".into(), link.to_owned())),
        notes: vec![
            format!("The link works once and expires on {}.", day_and_time(expires_at)),
            "If you did not expect this email, you can ignore it.".into(),
        ],
    }
    .into_email(site, INVITATION, to, Some(org_id))
}

/// Invitation to become a platform administrator (an unknown email on Platform administrators).
pub fn platform_admin_invitation(site: &Site, to: &str, link: &str, expires_at: NaiveDateTime) -> Email {
    Content {
        subject: "You are invited to be a platform administrator".into(),
        paragraphs: vec![
            "A platform administrator invited you to help run the portal: organizations, their removal, and platform settings.".into(),
            "Open the link below to choose your password.".into(),
        ],
        action: Some(("Set up your account".into(), link.to_owned())),
        notes: vec![
            format!("The link works once and expires on {}.", day_and_time(expires_at)),
            "If you did not expect this email, you can ignore it.".into(),
        ],
    }
    .into_email(site, INVITATION, to, None)
}

/// An existing account was named the administrator of a new organization.
pub fn added_as_organization_admin(site: &Site, to: &str, org_id: i64, org_name: &str) -> Email {
    Content {
        subject: format!("You now administer {org_name}"),
        paragraphs: vec![
            format!("A platform administrator added the organization “{org_name}” and named you its administrator."),
            "Sign in with your existing account to manage it.".into(),
        ],
        action: Some(("Sign in".into(), site.link("/login"))),
        notes: vec![],
    }
    .into_email(site, ADDED_AS_ADMINISTRATOR, to, Some(org_id))
}

/// To the contact person: a removal was requested and may be carried out after the notice.
pub fn removal_notice(
    site: &Site,
    to: &str,
    org_id: i64,
    org_name: &str,
    notice_days: i64,
    actionable_at: NaiveDateTime,
) -> Email {
    Content {
        subject: format!("{org_name} is scheduled for removal"),
        paragraphs: vec![
            format!("A platform administrator has asked for the organization “{org_name}” to be removed, with all of its users and data."),
            format!(
                "The removal may be carried out in {}, from {}, once a second platform administrator approves it.",
                days(notice_days),
                day_and_time(actionable_at)
            ),
            "If this is a mistake, contact your platform administrators before then: either of them can withdraw the request.".into(),
        ],
        action: None,
        notes: vec!["You receive this email because you are the organization's contact person.".into()],
    }
    .into_email(site, REMOVAL_NOTICE, to, Some(org_id))
}

/// How a request was withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withdrawal {
    Cancelled,
    Declined,
}

/// To the contact person of a notified request: it was withdrawn.
pub fn removal_withdrawn(site: &Site, to: &str, org_id: i64, org_name: &str, how: Withdrawal) -> Email {
    let what = match how {
        Withdrawal::Cancelled => "cancelled by the administrator who asked for it",
        Withdrawal::Declined => "declined by another platform administrator",
    };
    Content {
        subject: format!("The removal of {org_name} was withdrawn"),
        paragraphs: vec![
            format!("The request to remove the organization “{org_name}” was {what}."),
            "Nothing was removed; the organization stays as it is.".into(),
        ],
        action: None,
        notes: vec!["You receive this email because you are the organization's contact person.".into()],
    }
    .into_email(site, REMOVAL_WITHDRAWN, to, Some(org_id))
}

/// To the contact person of a notified request: the organization is gone.
pub fn removal_carried_out(site: &Site, to: &str, org_id: i64, org_name: &str) -> Email {
    Content {
        subject: format!("{org_name} was removed"),
        paragraphs: vec![
            format!("The organization “{org_name}” was removed after two platform administrators agreed."),
            "Its users, plans and settings were deleted and cannot be restored.".into(),
        ],
        action: None,
        notes: vec!["You receive this email because you were the organization's contact person.".into()],
    }
    .into_email(site, REMOVAL_CARRIED_OUT, to, Some(org_id))
}

/// To every other platform administrator, when a removal becomes actionable.
pub fn removal_awaits_approval(site: &Site, to: &str, org_id: i64, org_name: &str, initiator: &str) -> Email {
    Content {
        subject: format!("Removal of {org_name} awaits your approval"),
        paragraphs: vec![
            format!("{initiator} asked for the organization “{org_name}” to be removed, and the request can now be approved."),
            "A removal needs a second platform administrator. Review what would be lost, then approve or decline it.".into(),
        ],
        action: Some(("Review the request".into(), site.link(&format!("/admin/organizations/{org_id}/removal")))),
        notes: vec!["You receive this email because you are a platform administrator.".into()],
    }
    .into_email(site, REMOVAL_AWAITS_APPROVAL, to, Some(org_id))
}

pub const USER_INVITATION: &str = "user_invitation";
pub const ADDED_TO_ORGANIZATION: &str = "added_to_organization";
pub const ACCOUNT_VALIDATED: &str = "account_validated";

fn help_note(help: &str) -> String {
    if help.is_empty() {
        "Questions? Ask your organization's administrators.".into()
    } else {
        format!("Questions? Write to your organization's administrators at {help}.")
    }
}

/// Invitation to a new user of an organization (Add user, Resend invitation).
pub fn user_invitation(
    site: &Site,
    to: &str,
    org_id: i64,
    org_name: &str,
    help: &str,
    link: &str,
    expires_at: NaiveDateTime,
) -> Email {
    Content {
        subject: format!("You are invited to join {org_name}"),
        paragraphs: vec![
            format!("An administrator of “{org_name}” added you as a user."),
            "Open the link below to choose your password. An administrator then confirms your account, usually after speaking with you, and you can start.".into(),
        ],
        action: Some(("Set up your account".into(), link.to_owned())),
        notes: vec![format!("The link works once and expires on {}.", day_and_time(expires_at)), help_note(help)],
    }
    .into_email(site, USER_INVITATION, to, Some(org_id))
}

/// Invitation to join an organization, sent to an address that already has an account: the
/// link lets the person accept once signed in. Same kind and subject as `user_invitation`.
pub fn user_invitation_to_accept(
    site: &Site,
    to: &str,
    org_id: i64,
    org_name: &str,
    help: &str,
    link: &str,
    expires_at: NaiveDateTime,
) -> Email {
    Content {
        subject: format!("You are invited to join {org_name}"),
        paragraphs: vec![
            format!("An administrator of “{org_name}” invited you to join the organization."),
            "You already have an account: open the link below, sign in if asked, and accept the invitation. An administrator then confirms your membership, usually after speaking with you.".into(),
        ],
        action: Some(("Accept the invitation".into(), link.to_owned())),
        notes: vec![
            format!("The link works once and expires on {}.", day_and_time(expires_at)),
            "You receive this email because an administrator of the organization entered your address.".into(),
            help_note(help),
        ],
    }
    .into_email(site, USER_INVITATION, to, Some(org_id))
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
    let help_line = if help.is_empty() {
        "Questions? Ask the other administrators of the organization.".to_owned()
    } else {
        format!("The organization's help address is {help}.")
    };
    Content {
        subject: format!("{who} is ready for validation in {org_name}"),
        paragraphs: vec![
            format!("{who} accepted the invitation to “{org_name}” and now awaits validation."),
            "Speak with the person to confirm who they are, then validate them on the users list.".into(),
        ],
        action: Some((
            "Review who awaits validation".into(),
            site.link(&format!("/orgs/{org_id}/users?status=awaiting_validation")),
        )),
        notes: vec!["You receive this email because you are an administrator of the organization.".into(), help_line],
    }
    .into_email(site, READY_FOR_VALIDATION, to, Some(org_id))
}

/// An account that can already sign in was added to another organization.
pub fn added_to_organization(site: &Site, to: &str, org_id: i64, org_name: &str, help: &str) -> Email {
    Content {
        subject: format!("You were added to {org_name}"),
        paragraphs: vec![
            format!("An administrator of “{org_name}” added your existing account as a user."),
            "An administrator confirms the membership, usually after speaking with you; you will get an email when it is ready.".into(),
        ],
        action: None,
        notes: vec![help_note(help)],
    }
    .into_email(site, ADDED_TO_ORGANIZATION, to, Some(org_id))
}

/// Validation done: the membership is active.
pub fn account_validated(site: &Site, to: &str, org_id: i64, org_name: &str, help: &str) -> Email {
    Content {
        subject: format!("Your account in {org_name} is ready"),
        paragraphs: vec![format!(
            "An administrator of “{org_name}” confirmed your account. You can sign in and start."
        )],
        action: Some(("Sign in".into(), site.link("/login"))),
        notes: vec![help_note(help)],
    }
    .into_email(site, ACCOUNT_VALIDATED, to, Some(org_id))
}

pub const PASSWORD_RESET: &str = "password_reset";

/// A link to choose a new password (`POST /password-reset`), working once within the hour.
pub fn password_reset(site: &Site, to: &str, link: &str, expires_at: NaiveDateTime) -> Email {
    Content {
        subject: "Choose a new password".into(),
        paragraphs: vec![
            "Someone asked to reset the password of the account with this email address.".into(),
            "If it was you, open the link below and choose a new password. Your old password keeps working until you do; once you have, every place where the account is signed in is signed out.".into(),
        ],
        action: Some(("Choose a new password".into(), link.to_owned())),
        notes: vec![
            format!("The link works once and expires on {}.", day_and_time(expires_at)),
            "You receive this email because a password reset was asked for at this address. If you did not ask for it, you can ignore it: nothing changes.".into(),
        ],
    }
    .into_email(site, PASSWORD_RESET, to, None)
}
