//! The LDAP pages: the list with the Add form, and one connection's edit page.

use askama::Template;

use super::forms::ConnectionForm;
use super::queries::Stored;
use crate::domain::{group_thousands, FieldErrors};
use crate::platform::paths;
use crate::web::layout::Layout;

/// A row of the connections table.
pub struct ConnectionView {
    pub id: i64,
    pub href: String,
    pub name: String,
    pub url: String,
    pub starttls: bool,
    pub base_dn: String,
    pub schedule: String,
}

impl ConnectionView {
    pub fn of(stored: &Stored) -> Self {
        let s = &stored.settings;
        Self {
            id: stored.id,
            href: paths::ldap_connection(stored.id),
            name: s.name.clone(),
            url: s.url.clone(),
            starttls: s.starttls,
            base_dn: s.base_dn.clone(),
            schedule: match s.schedule_minutes {
                None => "On demand".into(),
                Some(1) => "Every minute".into(),
                Some(m) => format!("Every {} minutes", group_thousands(i64::from(m))),
            },
        }
    }
}

#[derive(Template)]
#[template(path = "ldap/list.html")]
pub struct ListPage {
    pub layout: Layout,
    pub connections: Vec<ConnectionView>,
    /// The interlock's reason when the configuration is read-only (no Add form then).
    pub locked: Option<&'static str>,
    pub form: ConnectionForm,
    pub errors: FieldErrors,
}

impl ListPage {
    fn password_hint(&self) -> &'static str {
        "Stored encrypted; never shown again."
    }
}

#[derive(Template)]
#[template(path = "ldap/edit.html")]
pub struct EditPage {
    pub layout: Layout,
    pub action: String,
    /// The name as stored (the form may hold an edited one).
    pub stored_name: String,
    pub locked: Option<&'static str>,
    pub has_password: bool,
    /// The only connection: deleting it lifts the lock on adding organizations.
    pub last: bool,
    pub form: ConnectionForm,
    pub errors: FieldErrors,
}

impl EditPage {
    fn delete_note(&self) -> &'static str {
        if self.last {
            "This is the only connection: once it is deleted, organizations can be added again."
        } else {
            "The other connections stay."
        }
    }

    fn password_hint(&self) -> &'static str {
        if self.has_password {
            "A password is stored (never shown). Leave empty to keep it; type a new one to replace it."
        } else {
            "No password is stored. Type one to store it encrypted."
        }
    }
}
