//! One integration test binary: every route through the real app on a real database.

mod helpers;

mod admins;
mod boot;
mod cli;
mod forms;
mod guards;
mod headers;
mod mail;
mod organization;
mod orgs_csv;
mod orgs_form;
mod orgs_list;
mod orgs_scale;
mod orgs_search;
mod removal;
mod sessions;
mod sign_in;
mod smtp_sink;
mod users;
