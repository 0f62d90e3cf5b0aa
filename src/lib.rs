//! patgate: an OAuth2 authorization server for personal access tokens.
//!
//! [`app::Services`] opens storage, keys and configuration once; [`web::server`]
//! builds the HTTP app on them. `main` and the tests use the same two.

#![warn(missing_docs)]

pub mod accounts;
pub mod app;
pub mod audit;
pub mod cli;
pub mod client;
pub mod clock;
pub mod compat;
pub mod config;
pub mod credential;
pub mod cursor;
pub mod dedicated_threads;
pub mod descriptors;
pub mod error;
pub mod keys;
pub mod leaks;
pub mod limits;
pub mod log_writer;
pub mod mail;
pub mod metrics;
pub mod net;
pub mod oauth;
pub mod policy;
pub mod principal;
pub mod reminders;
pub mod secret;
pub mod sso;
pub mod store;
pub mod syntax;
pub mod tokens;
pub mod web;
