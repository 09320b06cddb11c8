//! payhub's domain, shared by every API dialect.
//!
//! # Layout
//! - [`card_data`]: recognising card numbers and security codes in free-form text.
//! - [`money`] and [`currency`]: exact amounts with their ISO 4217 currency.
//! - [`credit`]: how an account's available credit and a payment method share a total.
//! - [`ids`]: time-ordered random 64-bit ids and merchant ids.
//! - [`status`]: the status machine; [`status::transition`] is the only gate.
//! - [`ledger`]: payments, refunds, and the rules a refund must pass.
//! - [`events`]: what the outbox carries to hub subscribers.
//! - [`gateway`]: what a payment gateway last said, and what it means for the ledger.
//! - [`telco`]: the telco payment service's channels and transaction states.
//!
//! This crate has no HTTP and no SQL on purpose: facades translate their wire
//! formats into these types, and the store persists them.

pub mod card_data;
pub mod credit;
pub mod currency;
pub mod events;
pub mod gateway;
pub mod ids;
pub mod ledger;
pub mod money;
pub mod status;
pub mod telco;

pub use currency::Currency;
pub use events::{EventKind, LedgerEvent};
pub use gateway::{GatewayState, RefundState};
pub use ids::{EventId, MerchantId, PaymentId, RefundId, SubscriptionId};
pub use ledger::{Document, NewPayment, NewRefund, Payment, Refund, RefundRejection};
pub use money::{Money, MoneyError};
pub use status::{transition, Status, TransitionError};
pub use telco::{after_wrong_code, Channel, TelcoState, MAX_OTP_ATTEMPTS};
