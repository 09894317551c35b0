//! What every page's frame needs: title, navigation for the consoles this account may use,
//! the flash message, and the CSRF token for the sign-out form.

use actix_session::Session;

use super::flash::{self, Flash};
use crate::domain::OrgId;
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

/// The title of an organization's home page, which the breadcrumb ends on.
pub const ORG_OVERVIEW: &str = "Organization overview";

/// The frame of one page.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub section: Section,
    pub csrf_token: String,
    pub flash: Option<Flash>,
    pub nav: Option<Nav>,
    /// The organization an organization console page belongs to, so its heading, title and
    /// breadcrumb can name it: a Delegate of several organizations must see which one this is.
    pub org: Option<OrgPlace>,
}

/// The organization a page of its console is about.
#[derive(Debug, Clone)]
pub struct OrgPlace {
    pub id: i64,
    pub name: String,
}

/// One step of a breadcrumb; the last one (the page itself) has no link.
#[derive(Debug, Clone)]
pub struct Crumb {
    pub label: String,
    pub href: Option<String>,
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
            org: None,
        })
    }

    /// The same frame for a page of an organization's console.
    pub fn in_org(self, id: OrgId, name: impl Into<String>) -> Self {
        Self { org: Some(OrgPlace { id: id.get(), name: name.into() }), ..self }
    }

    /// The organization's name on its console's pages, empty elsewhere.
    pub fn org_name(&self) -> &str {
        self.org.as_ref().map_or("", |org| org.name.as_str())
    }

    /// The trail back from an organization page: the list the viewer picks organizations from
    /// (the platform's Organizations for a platform administrator, else the home page), the
    /// organization, and the page. The overview page is the organization's own step.
    pub fn crumbs(&self) -> Vec<Crumb> {
        let Some(org) = &self.org else { return Vec::new() };
        let link = |label: &str, href: String| Crumb { label: label.to_owned(), href: Some(href) };
        let mut crumbs = vec![if self.nav.as_ref().is_some_and(|nav| nav.is_platform_admin) {
            link("Organizations", "/admin/organizations".to_owned())
        } else {
            link("Your organizations", "/".to_owned())
        }];
        let home = format!("/orgs/{}", org.id);
        if self.title == ORG_OVERVIEW {
            crumbs.push(Crumb { label: org.name.clone(), href: None });
            return crumbs;
        }
        crumbs.push(Crumb { label: org.name.clone(), href: Some(home.clone()) });
        // The user forms sit below the users list, as the navigation shows them.
        if self.title.ends_with(" user") {
            crumbs.push(link("Users", format!("{home}/users")));
        }
        crumbs.push(Crumb { label: self.title.clone(), href: None });
        crumbs
    }

    /// True when the page belongs to the section named (for `aria-current` in the navigation).
    pub fn is(&self, section: &str) -> bool {
        self.section.as_str() == section
    }
}
