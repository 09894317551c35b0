//! The Organizations page: search, sort and paging over the list kernel (`web::list`), with
//! its query kept in this one place.

mod handlers;
mod params;
mod plan;
mod queries;
mod views;

pub use handlers::show;
pub use params::{Cursor, ListParams, SortKey, SortValue};
pub use queries::{administered_among, list, OrgPage, OrgRow};
pub(crate) use views::iso_time;
pub use views::{OrgListPage, OrgRowView};
// The export names the cache through this list, as the page does.
pub use crate::db::search::{CommonTerms, COUNT_CAP};
