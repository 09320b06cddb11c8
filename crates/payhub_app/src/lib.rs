//! payhub's use cases, between the dialects and the ledger.
//!
//! A dialect (TMF676, retail, telco, APS) reads and authenticates a request,
//! calls one function here and maps its answer. This crate holds the IO half
//! of every payment rule: recording, starting and checking gateway payments,
//! refunds, the carrier's bill, and the workers that carry outbox events to
//! their receivers. The rules themselves are pure functions in `payhub_core`.
//!
//! Being its own crate is the point: it cannot use axum or any dialect, so
//! what a dialect adds to the shared flows goes through [`hooks`], which each
//! dialect registers at start-up.
//!
//! - [`Services`]: what every use case shares (store, gateways, carrier, keys).
//! - [`gateways`]: connectors, the simulated gateways and the gateway flow.
//! - [`carrier_billing`]: the carrier (simulated, or a CAMARA Carrier Billing
//!   client) and the SMS centre, bill refunds.
//! - [`outbox`]: dispatching events to deliveries and delivering them.
//! - [`refunds`]: a refund, routed back the way its payment was funded.
//! - [`hooks`]: what a dialect plugs into those flows.
//! - [`card`], [`lang`], [`secrets`], [`webhook_signing`], [`callback_policy`]:
//!   the card form's input, page languages, derived secrets, Standard Webhooks
//!   signatures and which callback addresses may be reached.

pub mod callback_policy;
pub mod card;
pub mod carrier_billing;
pub mod error;
pub mod gateways;
pub mod hooks;
pub mod lang;
pub mod metrics;
pub mod money_json;
pub mod outbox;
pub mod refunds;
pub mod sealed_credentials;
pub mod secrets;
pub mod settings;
pub mod webhook_signing;

mod services;

pub use error::AppError;
pub use services::Services;
