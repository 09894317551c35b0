//! Messages from the platform: new organizations, their removal, platform administrators.

use chrono::NaiveDateTime;

use super::{day_and_time, days, own_link, Content, Email, Help};
use crate::domain::OrgId;
use crate::mail::Site;

/// Both invitations, to administer an organization or the platform, are of this kind.
pub const INVITATION: &str = "invitation";

/// Invitation to administer a new organization (an unknown Administrator email on Add
/// organization).
pub fn organization_admin_invitation(
    site: &Site,
    to: &str,
    org_id: OrgId,
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
    .into_email(site, INVITATION, to, Some(org_id.get()))
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

pub const ADDED_AS_ADMINISTRATOR: &str = "added_as_administrator";

/// An existing account was named the administrator of a new organization.
pub fn added_as_organization_admin(site: &Site, to: &str, org_id: OrgId, org_name: &str) -> Email {
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
    .into_email(site, ADDED_AS_ADMINISTRATOR, to, Some(org_id.get()))
}

pub const REMOVAL_NOTICE: &str = "removal_notice";

/// To the contact person: a removal was requested and may be carried out after the notice.
pub fn removal_notice(
    site: &Site,
    to: &str,
    org_id: OrgId,
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
    .into_email(site, REMOVAL_NOTICE, to, Some(org_id.get()))
}

/// How a request was withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withdrawal {
    Cancelled,
    Declined,
}

pub const REMOVAL_WITHDRAWN: &str = "removal_withdrawn";

/// To the contact person of a notified request: it was withdrawn.
pub fn removal_withdrawn(site: &Site, to: &str, org_id: OrgId, org_name: &str, how: Withdrawal) -> Email {
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
    .into_email(site, REMOVAL_WITHDRAWN, to, Some(org_id.get()))
}

pub const REMOVAL_CARRIED_OUT: &str = "removal_carried_out";

/// To the contact person of a notified request: the organization is gone.
pub fn removal_carried_out(site: &Site, to: &str, org_id: OrgId, org_name: &str) -> Email {
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
    .into_email(site, REMOVAL_CARRIED_OUT, to, Some(org_id.get()))
}

pub const REMOVAL_AWAITS_APPROVAL: &str = "removal_awaits_approval";

/// To every other platform administrator, when a removal becomes actionable.
pub fn removal_awaits_approval(site: &Site, to: &str, org_id: OrgId, org_name: &str, initiator: &str) -> Email {
    Content {
        subject: format!("Removal of {org_name} awaits your approval"),
        name: None,
        paragraphs: vec![
            format!("{initiator} asked for the organization “{org_name}” to be removed, and the request can now be approved."),
            "A removal needs a second platform administrator. Review what would be lost, then approve or decline it.".into(),
        ],
        action: Some(("Review the request".into(), site.link(&crate::platform::paths::removal(org_id)))),
        notes: vec![],
        why: "You receive this email because you are a platform administrator, and a removal needs a second one to approve it.".into(),
        help: Help::Platform,
    }
    .into_email(site, REMOVAL_AWAITS_APPROVAL, to, Some(org_id.get()))
}
