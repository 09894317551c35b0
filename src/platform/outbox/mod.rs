//! `/admin/outbox`: what the portal sent or tries to send. Metadata only: bodies hold
//! registration links, which are as good as passwords, so they are never shown. Newest first
//! by keyset over `(created_at, id)`, filtered by status and exact recipient, each along an
//! index of its own (migration `000015_outbox_scale`), so a page costs the same at a million
//! messages as at ten.

mod handlers;
mod params;
mod queries;
mod views;

pub use handlers::{retry, show};
