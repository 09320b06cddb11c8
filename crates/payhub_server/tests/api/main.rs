//! payhub's API tests: black-box HTTP against a real server, each test run on
//! SQLite and on PostgreSQL (see `helpers::both_backends!`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod aps;
mod auth;
mod cli;
mod connections;
mod console;
mod deliveries;
mod edge_rejections;
mod filtering;
mod group_commit;
mod hub;
mod idempotency;
mod index;
mod issue_0009_sandbox;
mod issue_0013_card_page;
mod metrics;
mod openapi;
mod payments;
mod rate_limit;
mod refunds;
mod retail;
mod security;
mod seed_000;
mod statuses;
mod telco;
mod webhook_examples;
