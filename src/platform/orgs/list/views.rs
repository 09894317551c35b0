//! What the Organizations page shows: its rows as text and the page around them.

use askama::Template;
use chrono::NaiveDateTime;

use super::params::ListParams;
use crate::db::search::OrgField;
use crate::web::layout::Layout;
// `SortKey`: the template calls `sort.as_str()` on the sorted column.
use crate::web::list::{Pager, SortHeader, SortKey as _};

pub struct OrgRowView {
    pub id: i64,
    pub name: String,
    pub contact_email: String,
    pub quota: String,
    pub users: String,
    pub created: String,
    pub created_iso: String,
    pub manage: bool,
    /// The Removal Status this viewer reads; empty without a request.
    pub removal_status: String,
}

#[derive(Template)]
#[template(path = "orgs/list.html")]
pub struct OrgListPage {
    pub layout: Layout,
    pub params: ListParams,
    pub headers: Vec<SortHeader>,
    pub rows: Vec<OrgRowView>,
    pub pager: Pager,
    pub page_sizes: [i64; 4],
    /// This page's address, so the toolbar can come back to it.
    pub back: String,
    /// Why Add organization is disabled (an LDAP connection exists).
    pub ldap_lock: Option<&'static str>,
}

impl OrgListPage {
    fn search_by_options(&self) -> [(&'static str, &'static str, bool); 3] {
        OrgField::ALL.map(|field| (field.as_str(), field.label(), field == self.params.by))
    }
}

// Dates straight from their fields: chrono's format strings are parsed on every call, which
// showed up in the page's profile.
pub(super) fn day(at: NaiveDateTime) -> String {
    use chrono::Datelike;
    format!("{:04}-{:02}-{:02}", at.year(), at.month(), at.day())
}

pub(crate) fn iso_time(at: NaiveDateTime) -> String {
    use chrono::Timelike;
    format!("{}T{:02}:{:02}:{:02}Z", day(at), at.hour(), at.minute(), at.second())
}
