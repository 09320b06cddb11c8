//! The payhub server.
//!
//! # Layout
//! - [`cli`]: the `payhub` command line; [`config`]: the settings tree.
//! - [`app`]: builds the router and runs server and workers (one path for
//!   production and tests); [`serve`]: the connection loop and its time limits.
//! - [`api_tmf676`]: the TMF676 facade (wire types, router, error envelope).
//! - [`api_retail`]: the retail online-payment dialect (seed 003).
//! - [`api_aps`]: the APS PaymentManagement dialect (seed 001).
//! - [`auth`], [`merchants`]: who is calling, and their credentials.
//! - [`idempotency`]: `Idempotency-Key` handling shared by every POST.
//! - [`gateway_notifications`]: where gateways post their asynchronous
//!   notifications; [`connectors`]: merchants' connector accounts (the
//!   operator API, the start-up routing summary);
//!   [`carrier_notifications`]: where a CAMARA carrier posts its
//!   notifications.
//! - [`edge`]: the checks every dialect's request passes first (path, query
//!   and body size, control characters), answered in the dialect's envelope.
//! - [`ops`]: health and readiness probes; [`telemetry`]: logging;
//!   [`access_log`]: one line per request; [`metrics`]: Prometheus `/metrics`.
//! - [`openapi`]: the OpenAPI 3.1 document of each dialect, and `/docs`.
//! - [`demo`]: the demo merchant of a fresh start.
//! - [`console`]: the operator console, a web UI under `/console`.
//!
//! The use cases (gateway flow, carrier billing, outbox workers) live in the
//! `payhub_app` crate; [`state::AppState`] dereferences to its `Services`.

pub mod access_log;
pub mod api_aps;
pub mod api_retail;
pub mod api_telco;
pub mod api_tmf676;
pub mod app;
pub mod auth;
pub mod carrier_notifications;
pub mod cli;
pub mod config;
pub mod connectors;
pub mod console;
pub mod deliveries;
pub mod demo;
pub mod edge;
pub mod gateway_notifications;
pub mod http;
pub mod idempotency;
pub mod merchants;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod page;
pub mod rate_limit;
pub mod sandbox;
pub mod serve;
pub mod state;
pub mod telemetry;
