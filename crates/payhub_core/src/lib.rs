//! payhub's domain, shared by every API dialect: every rule of payments, as
//! pure functions.
//!
//! # Layout
//! - [`card_data`]: recognising card numbers and security codes in free-form text.
//! - [`money`] and [`currency`]: exact amounts with their ISO 4217 currency.
//! - [`ids`]: time-ordered random 64-bit ids and merchant ids.
//! - [`status`]: the status machine; [`status::transition`] is the only gate,
//!   and [`Status::outcome`] the one bucketing every dialect shows.
//! - [`ledger`]: payments, refunds, their create events, and the rules a refund must pass.
//! - [`events`]: what the outbox carries to hub subscribers.
//! - [`gateway`]: what a payment gateway last said, how its reports apply
//!   ([`gateway::apply_report`]), and when to ask it again ([`gateway::CheckPolicy`]).
//! - [`funding`]: credit spent before the payment method, held, and given back once.
//! - [`carrier_billing`]: payments on a subscriber's bill: channels, the
//!   transition table, the one-time code and the basket.
//!
//! This crate has no HTTP, no SQL and no dialect's wire names on purpose:
//! facades translate their wire formats into these types, and the store
//! persists them.

pub mod card_data;
pub mod carrier_billing;
pub mod currency;
pub mod events;
pub mod funding;
pub mod gateway;
pub mod ids;
pub mod ledger;
pub mod money;
pub mod status;

/// The former name of [`carrier_billing`].
pub use carrier_billing as telco;
/// The former name of [`funding`], kept for its callers in the store.
pub use funding as credit;

pub use carrier_billing::{after_wrong_code, Channel, TelcoState, MAX_OTP_ATTEMPTS};
pub use currency::Currency;
pub use events::{EventKind, LedgerEvent};
pub use gateway::{GatewayState, RefundState};
pub use ids::{EventId, MerchantId, PaymentId, RefundId, SubscriptionId};
pub use ledger::{Document, NewPayment, NewRefund, Origin, Payment, Refund, RefundRejection};
pub use money::{Money, MoneyError};
pub use status::{transition, Outcome, Status, TransitionError};
