//! Refunds of payments charged on the subscriber's bill (TMF676 `POST
//! /refund` naming a telco payment of channel 10, 11 or 50).
//!
//! Like a gateway refund, a bill refund is durable before it is answered:
//! the refund and its `telco_bill_refunds` row, with its first check
//! already scheduled, commit together (with the idempotent `201`). Then the
//! carrier is asked to credit the bill, under the refund's key, so asking
//! twice credits once; if that answer is lost (payhub stops, the carrier is
//! slow), the checker on any node asks again until the credit is recorded
//! and the refund is `done`.

use chrono::{DateTime, Utc};
use payhub_core::carrier_billing::basket::Basket;
use payhub_core::{Currency, Money};
use payhub_store::BillRefund;

use super::basket::BasketJson;
use super::carrier::BillCredit;
use crate::Services;

/// Rows the checker claims per pass.
const CHECK_BATCH: i64 = 32;

/// When a freshly recorded bill refund is first checked: after the carrier
/// call that follows it had its time (the core's [`payhub_core::gateway::CheckPolicy::first_check`]).
pub fn first_check(state: &Services, now: DateTime<Utc>) -> DateTime<Utc> {
    state.config.gateways.check_policy().first_check(now)
}

/// Credits a recorded bill refund and marks it `done`. A carrier that does
/// not answer leaves it to the checker.
pub async fn credit(state: &Services, row: &BillRefund) {
    let key = format!("refund:{}", row.refund_id.get());
    // The charge credited and its currency: the transaction's.
    let transaction = match state.store.find_telco_transaction(row.payment_id).await {
        Ok(Some(transaction)) => transaction,
        Ok(None) => {
            tracing::error!(refund.id = %row.refund_id, "bill refund of a payment that is not a telco transaction");
            return;
        }
        Err(error) => {
            tracing::warn!(refund.id = %row.refund_id, error.cause_chain = ?error, "cannot read the refunded transaction; it will be checked");
            return;
        }
    };
    let amount = Basket::from_json(&transaction.basket)
        .and_then(|basket| Currency::parse(&basket.currency).ok())
        .and_then(|currency| Money::from_minor(row.amount_minor, currency).ok());
    let Some(amount) = amount else {
        tracing::error!(refund.id = %row.refund_id, "the refunded transaction's basket is unreadable");
        return;
    };
    let request = BillCredit {
        key: &key,
        msisdn: &row.msisdn,
        amount,
        charge: transaction.carrier_ref.as_deref(),
    };
    let reference = match state.carrier_billing.carrier.credit(&request).await {
        Ok(reference) => reference,
        Err(error) => {
            tracing::info!(refund.id = %row.refund_id, %error, "bill refund not credited yet; it will be checked");
            return;
        }
    };
    match state
        .store
        .complete_bill_refund(row.refund_id, &reference, Utc::now())
        .await
    {
        Ok(true) => {
            tracing::info!(refund.id = %row.refund_id, carrier.reference = reference.as_str(), "refund credited on the bill");
            state.notify_outbox();
        }
        Ok(false) => {}
        Err(error) => {
            // The credit is booked under the refund's key: the next check finds it.
            tracing::warn!(refund.id = %row.refund_id, error.cause_chain = ?error, "credited on the bill but cannot mark the refund done yet");
        }
    }
}

/// One pass of the checker: credits every bill refund whose check is due.
/// Returns how many it handled.
pub async fn run_checks(state: &Services) -> usize {
    let now = Utc::now();
    let lease = now
        + chrono::Duration::from_std(state.config.gateways.call_timeout.saturating_mul(3))
            .unwrap_or_default();
    match state
        .store
        .claim_due_bill_refunds(now, lease, CHECK_BATCH)
        .await
    {
        Ok(rows) => {
            for row in &rows {
                credit(state, row).await;
            }
            rows.len()
        }
        Err(error) => {
            tracing::warn!(error.cause_chain = ?error, "cannot claim bill refund checks");
            0
        }
    }
}
