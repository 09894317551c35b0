//! orgportal: a self-hosted portal for administering a multi-tenant platform.

pub mod accounts;
pub mod admins;
pub mod app;
pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod cli;
pub mod clock;
pub mod config;
pub mod csrf;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod home;
pub mod mail;
pub mod organization;
pub mod orgs;
pub mod plans;
pub mod private_fs;
pub mod properties;
pub mod registration;
pub mod removal;
pub mod second_factor;
pub mod users;
pub mod web;
