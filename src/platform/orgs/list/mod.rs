//! The Organizations page: search, sort and paging over the list kernel (`web::list`), with
//! its query kept in this one place.

mod handlers;
mod params;
mod plan;
mod queries;
mod views;

pub use handlers::show;
pub use params::{Cursor, ListParams, SortKey, SortValue};
pub use queries::{list, OrgPage, OrgRow};
pub(crate) use views::iso_time;
// The types live with the search code; the CSV export (`super::export`) still reaches them here.
pub use crate::db::search::{CommonTerms, COUNT_CAP};
