//! The list kernel every list page shares (organizations, users, audit trails, outbox): the
//! query string read leniently, sort keys and their header links, the keyset cursor codec,
//! links back to the list, and the pager.

pub mod cursor;
pub mod href;
pub mod numbered;
pub mod pager;
pub mod query;
pub mod search;
pub mod sort;

pub use cursor::Cursor;
pub use href::Href;
pub use numbered::numbered;
pub use pager::{PageLink, Pager, Paging, Total};
pub use query::Query;
pub use search::{Refused, SearchBox};
pub use sort::{Direction, SortHeader, SortKey};
