//! One integration test binary: every route through the real app on a real database.

mod helpers;

mod boot;
mod cli;
mod forms;
mod guards;
mod headers;
mod sessions;
mod sign_in;
