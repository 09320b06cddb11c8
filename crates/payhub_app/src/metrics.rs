//! The series the use cases record (docs/METRICS.md); the server renders
//! them at `/metrics`. A gateway call's series is recorded where the call
//! is made (`gateways::flow`).

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

/// A payment or refund reached a decided state (paid or failed), counted by
/// the dialect that recorded the payment, when its event is fanned out.
pub fn record_ledger_outcome(origin: &str, resource: &'static str, status: &'static str) {
    metrics::counter!("payhub_ledger_outcomes_total",
        "origin" => origin.to_owned(), "resource" => resource, "status" => status)
    .increment(1);
}
