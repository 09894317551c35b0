//! Messages about the account itself.

use chrono::NaiveDateTime;

use super::{day_and_time, own_link, Content, Email, Help};
use crate::mail::Site;

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
