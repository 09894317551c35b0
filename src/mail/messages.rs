//! Every email the portal sends, in one place: each function words one message, and the two
//! shared templates (`templates/mail/message.{txt,html}`) lay it out as plain text and HTML.
//! Every message says why the person got it and where to turn with questions (the
//! organization's Organization Admin Email when it comes from an organization), and links only
//! into the portal at `Site::base_url`. Askama escapes every value in the HTML part.

use askama::Template;
use chrono::NaiveDateTime;

use super::Site;
use crate::domain::{MembershipStatus, OrgId};

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
    /// The person's display name, when the sender knows it: the greeting then names them.
    name: Option<String>,
    paragraphs: Vec<String>,
    /// A button in HTML, a bare link in text. Built with `own_link` or `Site::link`.
    action: Option<(String, String)>,
    /// Smaller print under the action, before the why and help lines.
    notes: Vec<String>,
    /// One line saying why the person gets this message ("You receive this email because …").
    why: String,
    /// Where to turn with questions.
    help: Help,
}

/// Where the recipient of a message can turn with questions.
enum Help {
    /// A user of an organization: its Organization Admin Email (may be empty, as on the
    /// default organization).
    Organization { admin_email: String },
    /// A Delegate: the organization's help address, which its users are told to write to.
    Delegates { admin_email: String },
    /// A message from the platform itself (organizations, their removal, administrators).
    Platform,
    /// A message that concerns the account, not one organization (password reset).
    Account,
}

/// Messages from the platform itself have no one to answer a reply.
const SENT_AUTOMATICALLY: &str = "This email was sent automatically; please do not reply to it.";

impl Help {
    fn for_organization(admin_email: &str) -> Self {
        Help::Organization { admin_email: admin_email.trim().to_owned() }
    }

    fn line(&self) -> String {
        match self {
            Help::Organization { admin_email } if admin_email.is_empty() => {
                "Questions? Ask your organization's administrators.".into()
            }
            Help::Organization { admin_email } => {
                format!("Questions? Write to your organization's administrators at {admin_email}.")
            }
            Help::Delegates { admin_email } if admin_email.is_empty() => {
                "Questions? Ask the other administrators of the organization.".into()
            }
            Help::Delegates { admin_email } => format!("The organization's help address is {admin_email}."),
            Help::Platform => format!("Questions? Ask a platform administrator. {SENT_AUTOMATICALLY}"),
            Help::Account => format!("Questions? Ask your organization's administrators. {SENT_AUTOMATICALLY}"),
        }
    }
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
    /// The name to greet, if one is known and not blank.
    fn greeting_name(&self) -> Option<&str> {
        self.name.as_deref().map(str::trim).filter(|name| !name.is_empty())
    }

    fn into_email(mut self, site: &Site, kind: &'static str, to: &str, organization_id: Option<i64>) -> Email {
        self.notes.push(std::mem::take(&mut self.why));
        self.notes.push(self.help.line());
        // Both templates are compiled in and take only strings; rendering cannot fail on data.
        let text = TextBody { content: &self, site }.render().unwrap_or_default();
        let html = HtmlBody { content: &self, site }.render().unwrap_or_default();
        Email { kind, to: to.to_owned(), organization_id, subject: self.subject, text, html }
    }
}

/// `link` as it goes into an email: it must point into the portal at `site.base_url`. Callers
/// build their links with `Site::link`; anything else keeps only its path and query, so no
/// email ever links elsewhere.
fn own_link(site: &Site, link: &str) -> String {
    if link.strip_prefix(site.base_url.as_str()).is_some_and(|rest| rest.starts_with('/')) {
        return link.to_owned();
    }
    let path = match url::Url::parse(link) {
        Ok(url) => match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        },
        Err(_) if link.starts_with('/') && !link.starts_with("//") => link.to_owned(),
        Err(_) => "/".to_owned(),
    };
    // Not the link itself: it may hold a registration token.
    log::warn!("mail: a link outside the base URL was rebuilt from the base URL");
    site.link(&path)
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
        name: None,
        paragraphs: vec![
            format!("A platform administrator added the organization “{org_name}” and named you its administrator."),
            "Open the link below to choose your password. Once you have, you can sign in and manage the organization's users, quotas and properties.".into(),
        ],
        action: Some(("Set up your account".into(), own_link(site, link))),
        notes: vec![
            format!("The link works once and expires on {}.", day_and_time(expires_at)),
            "If you did not expect this email, you can ignore it.".into(),
        ],
        why: format!("You receive this email because a platform administrator named your address as the administrator of “{org_name}”."),
        help: Help::Platform,
    }
    .into_email(site, INVITATION, to, Some(org_id))
}

/// Invitation to become a platform administrator (an unknown email on Platform administrators).
pub fn platform_admin_invitation(site: &Site, to: &str, link: &str, expires_at: NaiveDateTime) -> Email {
    Content {
        subject: "You are invited to be a platform administrator".into(),
        name: None,
        paragraphs: vec![
            "A platform administrator invited you to help run the portal: organizations, their removal, and platform settings.".into(),
            "Open the link below to choose your password.".into(),
        ],
        action: Some(("Set up your account".into(), own_link(site, link))),
        notes: vec![
            format!("The link works once and expires on {}.", day_and_time(expires_at)),
            "If you did not expect this email, you can ignore it.".into(),
        ],
        why: "You receive this email because a platform administrator added your address to the platform administrators.".into(),
        help: Help::Platform,
    }
    .into_email(site, INVITATION, to, None)
}

/// An existing account was named the administrator of a new organization.
pub fn added_as_organization_admin(site: &Site, to: &str, org_id: i64, org_name: &str) -> Email {
    Content {
        subject: format!("You now administer {org_name}"),
        name: None,
        paragraphs: vec![
            format!("A platform administrator added the organization “{org_name}” and named you its administrator."),
            "Sign in with your existing account to manage it.".into(),
        ],
        action: Some(("Sign in".into(), site.link("/login"))),
        notes: vec![],
        why: format!("You receive this email because a platform administrator named your address as the administrator of “{org_name}”."),
        help: Help::Platform,
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
        name: None,
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
        notes: vec![],
        why: format!("You receive this email because you are the contact person of “{org_name}”."),
        help: Help::Platform,
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
        name: None,
        paragraphs: vec![
            format!("The request to remove the organization “{org_name}” was {what}."),
            "Nothing was removed; the organization stays as it is.".into(),
        ],
        action: None,
        notes: vec![],
        why: format!(
            "You receive this email because you are the contact person of “{org_name}” and were told of the request."
        ),
        help: Help::Platform,
    }
    .into_email(site, REMOVAL_WITHDRAWN, to, Some(org_id))
}

/// To the contact person of a notified request: the organization is gone.
pub fn removal_carried_out(site: &Site, to: &str, org_id: i64, org_name: &str) -> Email {
    Content {
        subject: format!("{org_name} was removed"),
        name: None,
        paragraphs: vec![
            format!("The organization “{org_name}” was removed after two platform administrators agreed."),
            "Its users, plans and settings were deleted and cannot be restored.".into(),
        ],
        action: None,
        notes: vec![],
        why: format!("You receive this email because you were the contact person of “{org_name}”."),
        help: Help::Platform,
    }
    .into_email(site, REMOVAL_CARRIED_OUT, to, Some(org_id))
}

/// To every other platform administrator, when a removal becomes actionable.
pub fn removal_awaits_approval(site: &Site, to: &str, org_id: i64, org_name: &str, initiator: &str) -> Email {
    Content {
        subject: format!("Removal of {org_name} awaits your approval"),
        name: None,
        paragraphs: vec![
            format!("{initiator} asked for the organization “{org_name}” to be removed, and the request can now be approved."),
            "A removal needs a second platform administrator. Review what would be lost, then approve or decline it.".into(),
        ],
        action: Some(("Review the request".into(), site.link(&crate::platform::paths::removal(OrgId(org_id))))),
        notes: vec![],
        why: "You receive this email because you are a platform administrator, and a removal needs a second one to approve it.".into(),
        help: Help::Platform,
    }
    .into_email(site, REMOVAL_AWAITS_APPROVAL, to, Some(org_id))
}

pub const USER_INVITATION: &str = "user_invitation";
pub const ADDED_TO_ORGANIZATION: &str = "added_to_organization";
pub const ACCOUNT_VALIDATED: &str = "account_validated";

/// Invitation to a new user of an organization (Add user, Resend invitation). `help` is the
/// organization's Organization Admin Email.
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
        name: None,
        paragraphs: vec![
            format!("An administrator of “{org_name}” added you as a user."),
            "Open the link below to choose your password. An administrator then confirms your account, usually after speaking with you, and you can start.".into(),
        ],
        action: Some(("Set up your account".into(), own_link(site, link))),
        notes: vec![format!("The link works once and expires on {}.", day_and_time(expires_at))],
        why: format!("You receive this email because an administrator of “{org_name}” entered your address."),
        help: Help::for_organization(help),
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
        name: None,
        paragraphs: vec![
            format!("An administrator of “{org_name}” invited you to join the organization."),
            "You already have an account: open the link below, sign in if asked, and accept the invitation. An administrator then confirms your membership, usually after speaking with you.".into(),
        ],
        action: Some(("Accept the invitation".into(), own_link(site, link))),
        notes: vec![format!("The link works once and expires on {}.", day_and_time(expires_at))],
        why: format!("You receive this email because an administrator of “{org_name}” entered your address."),
        help: Help::for_organization(help),
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

pub const PASSWORD_RESET: &str = "password_reset";

/// A link to choose a new password (`POST /password-reset`), working once within the hour.
pub fn password_reset(site: &Site, to: &str, link: &str, expires_at: NaiveDateTime) -> Email {
    Content {
        subject: "Choose a new password".into(),
        name: None,
        paragraphs: vec![
            "Someone asked to reset the password of the account with this email address.".into(),
            "If it was you, open the link below and choose a new password. Your old password keeps working until you do; once you have, every place where the account is signed in is signed out.".into(),
        ],
        action: Some(("Choose a new password".into(), own_link(site, link))),
        notes: vec![
            format!("The link works once and expires on {}.", day_and_time(expires_at)),
            "If you did not ask for a new password, you can ignore it: nothing changes.".into(),
        ],
        why: "You receive this email because a password reset was asked for at this address.".into(),
        help: Help::Account,
    }
    .into_email(site, PASSWORD_RESET, to, None)
}

pub const SECOND_FACTOR_REMOVED: &str = "second_factor_removed";

/// Told to the account whose second factor an administrator (or the command line) removed:
/// if they did not ask for it, someone is acting against them.
pub fn second_factor_removed(site: &Site, to: &str, by: &str) -> Email {
    Content {
        subject: "Two-step sign-in was removed from your account".into(),
        name: None,
        paragraphs: vec![
            format!("Two-step sign-in of your account was removed by {by}, and every place where the account was signed in was signed out."),
            "If your account requires it, you will set it up again at your next sign-in, with a new key and new recovery codes.".into(),
            "If you did not ask for this, tell a platform administrator at once.".into(),
        ],
        action: Some(("Sign in".into(), site.link("/login"))),
        notes: vec![],
        why: "You receive this email because the security of your account changed.".into(),
        help: Help::Platform,
    }
    .into_email(site, SECOND_FACTOR_REMOVED, to, None)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    const BASE: &str = "https://portal.example/sub";
    /// A value that must come out escaped in HTML and as typed in text.
    const NASTY: &str = "<b>&\"Q'";
    const HELP: &str = "help@acme.example";
    const PLATFORM_HELP: &str = "Ask a platform administrator";
    const ACCOUNT_HELP: &str = "Ask your organization's administrators";
    const WHY: &str = "You receive this email because";

    fn site() -> Site {
        Site {
            base_url: BASE.into(),
            message_id_domain: "portal.example".into(),
            body_key: None,
            invitations_per_hour: 10,
        }
    }

    fn at() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, 4).and_then(|d| d.and_hms_opt(5, 6, 0)).unwrap_or_default()
    }

    /// `value` as askama writes it into HTML.
    fn escaped(value: &str) -> String {
        value
            .replace('&', "&#38;")
            .replace('<', "&#60;")
            .replace('>', "&#62;")
            .replace('"', "&#34;")
            .replace('\'', "&#39;")
    }

    fn org_name() -> String {
        format!("Org {NASTY}")
    }

    /// Every message, with `NASTY` in each name a caller passes, the help line it should carry,
    /// and whether it carries such a name.
    fn every_message() -> Vec<(Email, &'static str, bool)> {
        let site = site();
        let org = org_name();
        let link = site.link("/register/T0KEN");
        vec![
            (organization_admin_invitation(&site, "a@x.example", 1, &org, &link, at()), PLATFORM_HELP, true),
            (platform_admin_invitation(&site, "a@x.example", &link, at()), PLATFORM_HELP, false),
            (added_as_organization_admin(&site, "a@x.example", 1, &org), PLATFORM_HELP, true),
            (removal_notice(&site, "a@x.example", 1, &org, 30, at()), PLATFORM_HELP, true),
            (removal_withdrawn(&site, "a@x.example", 1, &org, Withdrawal::Cancelled), PLATFORM_HELP, true),
            (removal_withdrawn(&site, "a@x.example", 1, &org, Withdrawal::Declined), PLATFORM_HELP, true),
            (removal_carried_out(&site, "a@x.example", 1, &org), PLATFORM_HELP, true),
            (
                removal_awaits_approval(&site, "a@x.example", 1, &org, &format!("i{NASTY}@x.example")),
                PLATFORM_HELP,
                true,
            ),
            (user_invitation(&site, "a@x.example", 1, &org, HELP, &link, at()), HELP, true),
            (user_invitation_to_accept(&site, "a@x.example", 1, &org, HELP, &link, at()), HELP, true),
            (
                ready_for_validation(&site, "a@x.example", 1, &org, HELP, &format!("Ann {NASTY}"), "ann@x.example"),
                HELP,
                true,
            ),
            (added_to_organization(&site, "a@x.example", 1, &org, HELP), HELP, true),
            (account_validated(&site, "a@x.example", Some(&format!("Ann {NASTY}")), 1, &org, HELP), HELP, true),
            (password_reset(&site, "a@x.example", &site.link("/password-reset/T0KEN"), at()), ACCOUNT_HELP, false),
            (second_factor_removed(&site, "a@x.example", &format!("admin {NASTY}")), PLATFORM_HELP, true),
        ]
    }

    /// Every absolute link in `body`: each `http://` or `https://` up to a space, quote or tag.
    fn links(body: &str) -> Vec<&str> {
        body.match_indices("http")
            .map(|(at, _)| &body[at..])
            .filter(|rest| rest.starts_with("http://") || rest.starts_with("https://"))
            .map(|rest| rest.split(|c: char| c.is_whitespace() || "\"'<>".contains(c)).next().unwrap_or(rest))
            .collect()
    }

    #[test]
    fn every_message_has_both_parts_a_why_line_and_a_help_address() {
        for (email, help, _) in every_message() {
            let kind = email.kind;
            assert!(!email.subject.is_empty(), "{kind}");
            assert!(email.text.trim().len() > 100, "{kind}: {}", email.text);
            assert!(email.html.contains("</html>"), "{kind}: {}", email.html);
            for (body, help) in [(&email.text, help.to_owned()), (&email.html, escaped(help))] {
                assert_eq!(body.matches(WHY).count(), 1, "{kind}: one why-line: {body}");
                assert!(body.contains(&help), "{kind}: help {help:?}: {body}");
            }
        }
    }

    #[test]
    fn text_and_html_say_the_same_thing() {
        for (email, _, _) in every_message() {
            // Each line of the text part but the layout's own shows up in the HTML part.
            for line in email.text.lines().map(str::trim).filter(|l| !l.is_empty() && *l != "--" && !l.ends_with(':')) {
                assert!(email.html.contains(&escaped(line)), "{}: {line:?} is missing from {}", email.kind, email.html);
            }
        }
    }

    #[test]
    fn every_link_comes_from_the_base_url() {
        for (email, _, _) in every_message() {
            for body in [&email.text, &email.html] {
                let found = links(body);
                assert!(!found.is_empty(), "{}: the footer at least", email.kind);
                for link in found {
                    assert!(link.starts_with(BASE), "{}: {link} in {body}", email.kind);
                }
            }
        }
    }

    #[test]
    fn a_link_from_elsewhere_is_rebuilt_on_the_base_url() {
        let site = site();
        for link in ["https://evil.example/register/T0KEN", "/register/T0KEN", "https://portal.example/register/T0KEN"]
        {
            let email = user_invitation(&site, "a@x.example", 1, "Acme", HELP, link, at());
            for body in [&email.text, &email.html] {
                assert!(body.contains(&format!("{BASE}/register/T0KEN")), "{link}: {body}");
                assert!(!body.contains("evil.example"), "{body}");
                assert!(links(body).iter().all(|l| l.starts_with(BASE)), "{link}: {body}");
            }
        }
        let email = removal_awaits_approval(&site, "a@x.example", 7, "Acme", "i@x.example");
        assert!(email.text.contains(&format!("{BASE}/admin/organizations/7/removal")), "{}", email.text);
    }

    #[test]
    fn every_value_is_escaped_in_html_and_plain_in_text() {
        for (email, _, names) in every_message() {
            let kind = email.kind;
            assert!(!email.html.contains("<b>") && !email.html.contains("&\""), "{kind}: {}", email.html);
            if names {
                assert!(email.html.contains(&escaped(NASTY)), "{kind}: {}", email.html);
                assert!(email.text.contains(NASTY), "{kind}: {}", email.text);
            }
        }
    }

    #[test]
    fn account_ready_greets_the_person_by_name_or_neutrally() {
        let site = site();
        let named = account_validated(&site, "a@x.example", Some(&format!("Ann {NASTY}")), 1, "Acme", HELP);
        assert!(named.text.starts_with(&format!("Hello Ann {NASTY},\n")), "{}", named.text);
        assert!(named.html.contains(&format!(">Hello Ann {},</p>", escaped(NASTY))), "{}", named.html);
        assert!(!named.html.contains(">Hello,</p>"), "{}", named.html);
        for name in [None, Some(""), Some("  ")] {
            let email = account_validated(&site, "a@x.example", name, 1, "Acme", HELP);
            assert!(email.text.starts_with("Hello,\n"), "{name:?}: {}", email.text);
            assert!(email.html.contains(">Hello,</p>"), "{name:?}: {}", email.html);
        }
    }

    #[test]
    fn without_an_organization_admin_email_users_are_sent_to_its_administrators() {
        let email = account_validated(&site(), "a@x.example", None, 1, "Acme", "");
        let help = "Questions? Ask your organization's administrators.";
        for (body, help) in [(&email.text, help.to_owned()), (&email.html, escaped(help))] {
            assert!(body.contains(&help), "{body}");
            assert!(!body.contains(" at ."), "{body}");
        }
    }

    #[test]
    fn subjects_are_unchanged() {
        let subjects: Vec<String> = every_message().into_iter().map(|(email, _, _)| email.subject).collect();
        let org = org_name();
        assert_eq!(
            subjects,
            [
                format!("You are invited to administer {org}"),
                "You are invited to be a platform administrator".into(),
                format!("You now administer {org}"),
                format!("{org} is scheduled for removal"),
                format!("The removal of {org} was withdrawn"),
                format!("The removal of {org} was withdrawn"),
                format!("{org} was removed"),
                format!("Removal of {org} awaits your approval"),
                format!("You are invited to join {org}"),
                format!("You are invited to join {org}"),
                format!("Ann {NASTY} (ann@x.example) is ready for validation in {org}"),
                format!("You were added to {org}"),
                format!("Your account in {org} is ready"),
                "Choose a new password".into(),
                "Two-step sign-in was removed from your account".into(),
            ]
        );
    }
}
