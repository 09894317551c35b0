//! `GET /orgs/{id}/users`: one organization's memberships with search (email, name), a status
//! filter, sort toggles on every column and the shared pager, at any size: keyset cursors,
//! capped totals and an index for every sort (see the migration `users_scale`). Without a
//! status filter the removed memberships are left out.

mod handlers;
mod params;
mod plan;
mod queries;

pub use handlers::{show, UsersPage};
pub use params::{Cursor, SortValue, UserParams, UserSort, STATUSES};
pub use plan::COUNT_CAP;
pub use queries::{export_chunk, list, UserPage, UserRow};
