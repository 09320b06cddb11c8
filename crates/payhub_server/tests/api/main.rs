//! payhub's API tests: black-box HTTP against a real server, each test run on
//! SQLite and on PostgreSQL (see `helpers::both_backends!`). The TMF676
//! dialect's tests are in `tmf676/`; each other dialect has its file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod aps;
mod camara_fake;
mod cli;
mod conformance;
mod connections;
mod connector_accounts;
mod console;
mod deliveries;
mod edge_rejections;
mod gateway_alipay;
mod gateway_stripe;
mod gateway_wechatpay;
mod group_commit;
mod index;
mod issue_0009_sandbox;
mod issue_0013_card_page;
mod metrics;
mod openapi;
mod rate_limit;
mod retail;
mod security;
mod smsc_fake;
mod store;
mod telco;
mod telco_camara;
mod telco_consent_page;
mod telco_smpp;
mod tmf676;
mod webhook_examples;
