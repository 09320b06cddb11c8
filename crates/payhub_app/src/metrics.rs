//! The series the use cases record (docs/METRICS.md); the server renders
//! them at `/metrics`.

use std::time::Duration;

use crate::gateways::connector::GatewayError;
use crate::gateways::GatewayKind;

/// One call to a gateway connector, whatever it answered.
pub fn record_gateway_call<T>(
    gateway: GatewayKind,
    operation: &'static str,
    result: &Result<T, GatewayError>,
    latency: Duration,
) {
    let outcome = match result {
        Ok(_) => "ok",
        Err(GatewayError::Timeout) => "timeout",
        Err(GatewayError::Rejected { .. }) => "rejected",
        Err(GatewayError::NotFound) => "not_found",
        Err(GatewayError::BadNotification(_)) => "bad_notification",
    };
    let gateway = gateway.code();
    metrics::counter!("payhub_gateway_calls_total",
        "gateway" => gateway, "operation" => operation, "outcome" => outcome)
    .increment(1);
    metrics::histogram!("payhub_gateway_call_duration_seconds",
        "gateway" => gateway, "operation" => operation)
    .record(latency.as_secs_f64());
}

/// A gateway payment reached a final state.
pub fn record_payment_ended(gateway: &str, state: &'static str) {
    metrics::counter!("payhub_gateway_payments_ended_total",
        "gateway" => gateway.to_owned(), "state" => state)
    .increment(1);
}

/// A gateway refund reached a final state.
pub fn record_refund_ended(gateway: &str, state: &'static str) {
    metrics::counter!("payhub_gateway_refunds_ended_total",
        "gateway" => gateway.to_owned(), "state" => state)
    .increment(1);
}

/// One attempt to deliver a webhook or hub event; `gave_up` when it was the last.
pub fn record_delivery_attempt(kind: &'static str, delivered: bool, gave_up: bool) {
    let outcome = if delivered { "delivered" } else { "failed" };
    metrics::counter!("payhub_webhook_delivery_attempts_total",
        "kind" => kind, "outcome" => outcome)
    .increment(1);
    if gave_up {
        metrics::counter!("payhub_webhook_dead_letters_total", "kind" => kind).increment(1);
    }
}
