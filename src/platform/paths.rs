//! Where the platform console's pages are. Every link and redirect to them is built here, so a
//! path is written once (the routes in each `configure` are relative to `/admin`).

use crate::domain::OrgId;
use crate::web::urlencode;

pub const HOME: &str = "/admin";
pub const ORGANIZATIONS: &str = "/admin/organizations";
pub const ORGANIZATIONS_CSV: &str = "/admin/organizations.csv";
pub const ADMINISTRATORS: &str = "/admin/administrators";
pub const AUDIT: &str = "/admin/audit";
pub const AUDIT_CSV: &str = "/admin/audit.csv";
pub const OUTBOX: &str = "/admin/outbox";
pub const PROPERTIES: &str = "/admin/properties";
pub const LDAP: &str = "/admin/ldap";

/// The Organizations page searching for one name: where a change to that organization lands, so
/// the administrator sees the row they touched.
pub fn organizations_named(name: &str) -> String {
    format!("{ORGANIZATIONS}?q={}&by=name", urlencode(name))
}

pub fn organization_edit(id: OrgId) -> String {
    format!("{ORGANIZATIONS}/{id}/edit")
}

pub fn removal(id: OrgId) -> String {
    format!("{ORGANIZATIONS}/{id}/removal")
}

/// An LDAP connection's page; its actions are below it (`/test`, `/test-sign-in`, `/delete`).
pub fn ldap_connection(id: i64) -> String {
    format!("{LDAP}/{id}")
}

/// An LDAP connection's sync: its progress page, and Sync now posted to it.
pub fn ldap_sync(id: i64) -> String {
    format!("{LDAP}/{id}/sync")
}

/// A page of the outbox: the page number always, the page size unless the default.
pub fn outbox_page(page: i64, per_page: i64) -> String {
    crate::web::list::Href::new(OUTBOX).pair("page", page).per_page(per_page).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_the_contract() {
        assert_eq!(organization_edit(OrgId(7)), "/admin/organizations/7/edit");
        assert_eq!(removal(OrgId(7)), "/admin/organizations/7/removal");
        assert_eq!(organizations_named("a&b c"), "/admin/organizations?q=a%26b+c&by=name");
    }
}
