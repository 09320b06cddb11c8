//! Carrier billing: payments charged to a mobile subscriber's bill after
//! the subscriber consents, or paid by card on the hosted page.
//!
//! - [`state`]: the channels, the transaction states and the one table of
//!   the changes a transaction may make, with the decisions that pick them.
//! - [`consent`]: the one-time code and the wrong-code limit.
//! - [`basket`]: the items priced from the service's catalogue, and which
//!   the subscriber removed.
//! - [`report`]: what the carrier's own account of a booking changes, when
//!   the answer to payhub's call was lost.
//!
//! No wire ids live here: the telco dialect maps channels to its numbers.

pub mod basket;
pub mod consent;
pub mod report;
pub mod state;

pub use basket::{Basket, BasketItem, PricingError, RemovalError};
pub use consent::{after_wrong_code, attempts_left, MAX_OTP_ATTEMPTS};
pub use report::{after_report, at_consent_expiry, AtExpiry, BookingReport, ReportContext};
pub use state::{after_card, after_settle, Booking, CarrierAnswer, Channel, Deadline, TelcoState};
