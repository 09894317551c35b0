//! One integration test binary: every route through the real app on a real database.

mod helpers;

mod admins;
mod boot;
mod cli;
mod forms;
mod guards;
mod headers;
mod id_reuse;
mod inputs;
mod invitations;
mod invitations_manage;
mod lockout;
mod log_capture;
mod mail;
mod mailbox;
mod migration;
mod organization;
mod orgs_csv;
mod orgs_form;
mod orgs_list;
mod orgs_scale;
mod orgs_search;
mod password_policy;
mod password_reset;
mod quota_race;
mod registration;
mod removal;
mod route_table;
mod routes;
mod second_factor;
mod secrets_at_rest;
mod sessions;
mod sign_in;
mod smtp_sink;
mod users;
