//! patgate's integration tests: one binary; every storage test runs on SQLite
//! and, when `POSTGRES_TEST_URL` is set, on PostgreSQL.

mod support;

mod abuse;
mod account_audit;
mod api_personal;
mod api_service;
mod architecture;
mod atomicity;
mod audit;
mod browser;
mod cli_client;
mod client_library;
mod clients;
mod compat_api;
mod config;
mod consent;
mod consent_refusals;
mod device_grant;
mod discovery;
mod exchange;
mod exchange_refusals;
mod faults;
mod hardening;
mod holes_flows;
mod holes_tokens;
mod housekeeping;
mod http_fuzz;
mod instances;
mod keys;
mod metrics;
mod migrations;
mod openapi;
mod operations;
mod pages_admin;
mod pages_personal;
mod parser_properties;
mod permissions;
mod processes;
mod reminders;
mod sign_in;
mod sso;
mod standard_endpoints;
mod token_controls;
mod who_may_do_what;
