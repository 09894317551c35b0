//! orgportal: a self-hosted portal for administering a multi-tenant platform.

pub mod accounts;
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
pub mod ops;
pub mod org_admin;
pub mod platform;
pub mod private_fs;
pub mod registration;
pub mod second_factor;
pub mod web;
