//! What every page's frame needs: title, navigation for the consoles this account may use,
//! the flash message, and the CSRF token for the sign-out form.

use actix_session::Session;

use super::flash::{self, Flash};
use crate::error::AppError;

/// The part of the site a page belongs to, so the navigation can mark it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Home,
    Platform,
    Organization,
    Account,
    SignIn,
}

impl Section {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Home => "home",
            Self::Platform => "platform",
            Self::Organization => "organization",
            Self::Account => "account",
            Self::SignIn => "sign-in",
        }
    }
}

/// The navigation of a signed-in account.
#[derive(Debug, Clone)]
pub struct Nav {
    pub email: String,
    pub is_platform_admin: bool,
    pub administers_orgs: bool,
}

#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub section: Section,
    pub csrf_token: String,
    pub flash: Option<Flash>,
    pub nav: Option<Nav>,
}

impl Layout {
    pub fn new(
        session: &Session,
        title: impl Into<String>,
        section: Section,
        nav: Option<Nav>,
    ) -> Result<Self, AppError> {
        Ok(Self {
            title: title.into(),
            section,
            csrf_token: crate::csrf::token(session)?,
            flash: flash::take(session),
            nav,
        })
    }

    /// True when the page belongs to the section named (for `aria-current` in the navigation).
    pub fn is(&self, section: &str) -> bool {
        self.section.as_str() == section
    }
}
