//! Driving payments and refunds through their gateways.
//!
//! The rules, whatever dialect started the payment:
//! - The payment and its gateway row are written before the gateway is
//!   called, with a check already scheduled: if payhub dies mid-call, the
//!   checker asks the gateway later. Nothing is lost and nothing is charged twice.
//! - A timeout leaves the outcome `unknown`, never `failed`; the checker asks
//!   again with growing delays until the gateway knows.
//! - Every answer (start, card, challenge, query, cancel, notification) goes
//!   through [`apply_report`]; a payment already final ignores later answers,
//!   so duplicate notifications change nothing.

use chrono::{DateTime, Utc};
use payhub_core::{
    EventKind, GatewayState, LedgerEvent, Money, NewPayment, NewRefund, Payment, Refund, RefundId,
    RefundRejection, RefundState, Status,
};
use payhub_store::{
    ExternalRef, GatewayApplied, GatewayPayment, GatewayRefund, GatewayUpdate, IdempotentResponse,
    InsertRefundError, StoreError, UpdateStatusError,
};

use super::connector::{
    GatewayError, GatewayReport, RefundRequest, StartRequest, Started, StoredMethod,
};
use super::{Connector, GatewayKind};
use crate::card::{CardInput, CardNumber};
use crate::lang::Lang;
use crate::Services;

/// The customer action stored for a card payment waiting for its card.
pub const CARD_ACTION: &str = "card";

/// A payment to route through a gateway.
pub struct NewGatewayPayment {
    pub payment: NewPayment,
    pub gateway: GatewayKind,
    pub lang: Lang,
    pub subject: Option<String>,
    pub return_url: Option<String>,
    pub webhook_url: Option<String>,
    /// Where the page sends the customer after a failure; `return_url` when `None`.
    pub fail_url: Option<String>,
    /// The dialect's unique reference: (dialect, reference).
    pub reference: Option<(&'static str, String)>,
}

/// How the gateway answered the start.
#[derive(Debug)]
pub enum StartOutcome {
    /// The customer can pay now (QR shown, card form open).
    Ready,
    /// The gateway refused the payment.
    Declined,
    /// No answer in time; the checker will find out.
    TimedOut,
}

/// Why a gateway payment could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("the reference is already used")]
    DuplicateReference,
    #[error("no connector for gateway {0}")]
    NoConnector(GatewayKind),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn connector_for(state: &Services, gateway: &str) -> Option<std::sync::Arc<dyn Connector>> {
    GatewayKind::parse(gateway).and_then(|kind| state.gateways.connector(kind))
}

/// Runs a gateway call under the configured time limit, and counts and
/// times it per gateway and operation (docs/METRICS.md).
async fn call<T>(
    state: &Services,
    gateway: GatewayKind,
    operation: &'static str,
    future: impl std::future::Future<Output = Result<T, GatewayError>>,
) -> Result<T, GatewayError> {
    let started = std::time::Instant::now();
    let result = tokio::time::timeout(state.config.gateways.call_timeout, future)
        .await
        .unwrap_or(Err(GatewayError::Timeout));
    crate::metrics::record_gateway_call(gateway, operation, &result, started.elapsed());
    result
}

/// When to ask the gateway again after `checks` checks that gave no final answer.
fn retry_after(state: &Services, checks: i64, now: DateTime<Utc>) -> DateTime<Utc> {
    let settings = &state.config.gateways;
    let exponent = u32::try_from(checks.clamp(0, 20)).unwrap_or(20);
    let delay = settings
        .check_base
        .saturating_mul(2_u32.saturating_pow(exponent))
        .min(settings.check_max);
    now + chrono::Duration::from_std(delay).unwrap_or_default()
}

/// The first check of a freshly written row: after the call that follows
/// has had its full time, so the checker never races it.
fn first_check(state: &Services, now: DateTime<Utc>) -> DateTime<Utc> {
    now + chrono::Duration::from_std(
        state.config.gateways.call_timeout + state.config.gateways.check_base,
    )
    .unwrap_or_default()
}

mod cancel;
mod checker;
mod refund;
mod report;
mod start;
mod steps;

pub use cancel::{cancel, CancelError};
pub use checker::run_checks;
pub use refund::{
    record_refund, refund, refund_row, send_refund, send_refund_part, RefundFlowError,
};
pub use report::{apply_report, receive_notification, NotificationError};
pub use start::{
    charge_recorded, expiry, gateway_row, start_for_existing, start_payment, start_recorded,
    ChargeOutcome, GatewayRow,
};
pub use steps::{answer_challenge, pay_with_card, StepError};
