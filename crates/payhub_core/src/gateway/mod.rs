//! What payhub knows about a payment's or refund's progress at its gateway,
//! and the rules that move it.
//!
//! A gateway answers asynchronously, late, twice, or not at all:
//! - [`state`]: the states a gateway payment and refund go through.
//! - [`report`]: how a gateway's report changes what payhub holds
//!   ([`apply_report`], [`apply_refund_report`]); a final payment or
//!   refund never moves again.
//! - [`check`]: when to ask again and what a failed call means ([`CheckPolicy`]).
//! - [`card_attempts`]: how many cards a customer may try on the hosted
//!   page, and when a declined one ends the payment ([`CardAttempts`]).
//! - [`routing`]: which connector account a new payment goes to, and the
//!   circuit breaker that avoids one that stops answering.

pub mod card_attempts;
pub mod check;
pub mod report;
pub mod routing;
pub mod state;

pub use card_attempts::{CardAttempts, CardClaim, CARD_ACTION};
pub use check::{CallFailure, CheckPolicy};
pub use report::{
    apply_refund_report, apply_report, GatewayFields, RefundFields, RefundReportApplied, Report,
    ReportApplied,
};
pub use state::{GatewayState, RefundState};
