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
//! - A card on the hosted page goes to the gateway only under a claim on
//!   the payment's row; a declined card keeps the payment waiting for
//!   another while attempts and time are left (core's
//!   [`payhub_core::gateway::CardAttempts`]), and the decline that ends it
//!   ends it exactly as a final decline always did.

use chrono::{DateTime, Utc};
use payhub_core::gateway::{check, CallFailure};
use payhub_core::{
    GatewayState, Money, NewPayment, NewRefund, Payment, Refund, RefundId, RefundState, Status,
};
use payhub_store::{
    with_fresh_ids, CardRecord, ExternalRef, GatewayApplied, GatewayPayment, GatewayRefund,
    GatewayUpdate, IdempotentResponse, InsertRefundError, StartTerms, StoreError,
    UpdateStatusError,
};

use super::connector::{
    Acknowledgement, GatewayError, GatewayReport, RefundRequest, SaveCard, StartRequest, Started,
    StoredMethod,
};
use super::routing::{self, Bound};
use super::{Connector, GatewayKind};
use crate::card::{CardInput, CardNumber};
use crate::lang::Lang;
use crate::{AppError, Services};

/// The customer action stored for a card payment waiting for its card.
pub use payhub_core::gateway::CARD_ACTION;
/// The customer action stored while the issuer's 3-D Secure step is open
/// on payhub's own page (a code form: the simulated issuers).
pub const CHALLENGE_ACTION: &str = "challenge";
/// What starts the customer action stored while the 3-D Secure step is open
/// on the issuer's own page: this, then the URL the page sends the customer
/// to (Stripe's `next_action.redirect_to_url`). The prefix keeps it apart
/// from a QR payload, which may be a URL too.
const CHALLENGE_REDIRECT_PREFIX: &str = "challenge:";

/// The customer action of a 3-D Secure step: a redirect to the gateway's
/// `redirect` URL when it gave an `http(s)` one, else payhub's code form.
pub fn challenge_action(redirect: Option<&str>) -> String {
    match redirect.and_then(|url| url::Url::parse(url).ok()) {
        Some(url) if matches!(url.scheme(), "https" | "http") => {
            format!("{CHALLENGE_REDIRECT_PREFIX}{url}")
        }
        _ => CHALLENGE_ACTION.to_owned(),
    }
}

/// The issuer's page a stored customer action sends the customer to, when
/// it is a 3-D Secure redirect.
pub fn challenge_redirect(action: &str) -> Option<&str> {
    action.strip_prefix(CHALLENGE_REDIRECT_PREFIX)
}

/// Whether a stored customer action is a 3-D Secure step (either kind).
fn is_challenge_action(action: &str) -> bool {
    action == CHALLENGE_ACTION || challenge_redirect(action).is_some()
}

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

/// The payment as its gateway knows it.
fn gateway_ref(row: &GatewayPayment) -> super::connector::GatewayRef {
    super::connector::GatewayRef::new(row.payment_id, row.gw_ref.as_deref())
}

/// The connector a recorded payment is bound to: the account its gateway
/// row names (or the simulator), never another one.
async fn connector_for(state: &Services, row: &GatewayPayment) -> Result<Bound, AppError> {
    routing::bound_to(state, &row.gateway, row.connector_account.as_deref()).await
}

/// Runs a gateway call under the configured time limit, counts and times it
/// per gateway and operation (docs/METRICS.md), and feeds its outcome to the
/// account's circuit breaker.
async fn call<T>(
    state: &Services,
    bound: &Bound,
    operation: &'static str,
    future: impl std::future::Future<Output = Result<T, GatewayError>>,
) -> Result<T, GatewayError> {
    let started = std::time::Instant::now();
    let result = tokio::time::timeout(state.config.gateways.call_timeout, future)
        .await
        .unwrap_or(Err(GatewayError::Timeout));
    record_gateway_call(
        bound.connector.kind(),
        operation,
        &result,
        started.elapsed(),
    );
    let answered = !matches!(result, Err(GatewayError::Timeout));
    routing::record_outcome(state, bound.account.as_deref(), answered).await;
    result
}

/// The card a report leaves on the gateway row: `card` with the gateway's
/// reusable reference the report carries (a card saved at the gateway);
/// `None` (keep the row's card) when the report carries none.
fn with_saved_method(
    card: Option<&CardRecord>,
    saved_method: Option<String>,
) -> Option<CardRecord> {
    let saved_method = saved_method?;
    card.map(|card| CardRecord {
        gateway_token: Some(saved_method),
        ..card.clone()
    })
}

/// The error code and message of an outcome the core decided, as a report carries them.
fn decided_code((code, message): check::DecidedError) -> (String, String) {
    (code.to_owned(), message.to_owned())
}

mod cancel;
mod checker;
mod refund;
mod report;
mod start;
mod steps;

pub use cancel::cancel;
pub use checker::run_checks;
pub use refund::{record_refund, refund, refund_row, send_refund, send_refund_part};
pub use report::{apply_report, receive_account_notification, receive_notification};
pub use start::{
    charge_recorded, expiry, gateway_row, start_for_existing, start_payment, start_recorded,
    start_request, ChargeOutcome, GatewayRow,
};
pub use steps::{answer_challenge, pay_with_card, return_from_challenge};

/// One call to a gateway connector, whatever it answered (docs/METRICS.md).
fn record_gateway_call<T>(
    gateway: GatewayKind,
    operation: &'static str,
    result: &Result<T, GatewayError>,
    latency: std::time::Duration,
) {
    let outcome = match result {
        Ok(_) => "ok",
        Err(GatewayError::Timeout) => "timeout",
        Err(GatewayError::Rejected { .. }) => "rejected",
        Err(GatewayError::NotFound) => "not_found",
        Err(GatewayError::BadNotification(_)) => "bad_notification",
        Err(GatewayError::Unrelated(_)) => "unrelated",
    };
    let gateway = gateway.code();
    metrics::counter!("payhub_gateway_calls_total",
        "gateway" => gateway, "operation" => operation, "outcome" => outcome)
    .increment(1);
    metrics::histogram!("payhub_gateway_call_duration_seconds",
        "gateway" => gateway, "operation" => operation)
    .record(latency.as_secs_f64());
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_redirects_only_to_a_web_page() {
        let url = "https://hooks.stripe.com/3d_secure_2/hosted?id=1";
        let action = challenge_action(Some(url));
        assert_eq!(challenge_redirect(&action), Some(url));
        assert!(is_challenge_action(&action));
        for unusable in [
            None,
            Some("javascript:alert(1)"),
            Some("not a url"),
            Some("weixin://x"),
        ] {
            let action = challenge_action(unusable);
            assert_eq!(action, CHALLENGE_ACTION, "{unusable:?}");
            assert_eq!(challenge_redirect(&action), None);
            assert!(is_challenge_action(&action));
        }
        // A QR payload is never taken for a challenge.
        assert!(!is_challenge_action("https://qr.alipay.com/bax1"));
        assert!(!is_challenge_action(CARD_ACTION));
    }
}
