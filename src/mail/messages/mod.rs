//! Every email the portal sends, in one place: each function words one message, and the two
//! shared templates (`templates/mail/message.{txt,html}`) lay it out as plain text and HTML.
//! Every message says why the person got it and where to turn with questions (the
//! organization's Organization Admin Email when it comes from an organization), and links only
//! into the portal at `Site::base_url`. Askama escapes every value in the HTML part.

mod account;
mod organization;
mod platform;
#[cfg(test)]
mod tests;

use askama::Template;
use chrono::NaiveDateTime;

pub use self::account::*;
pub use self::organization::*;
pub use self::platform::*;
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
