//! A refund of a payment charged on the subscriber's bill: recorded
//! `pendingAuthorization` under the ledger's rules with its scheduled check
//! (and the kept answer), then credited on the bill and marked `done`, by
//! this node or, if it stops first, by the checker of any node (see
//! [`crate::carrier_billing::bill_refund`]).

use std::sync::Arc;

use chrono::Utc;
use payhub_core::{NewRefund, Refund, Status};
use payhub_store::{with_fresh_ids, BillRefund, TelcoTransaction};

use super::KeptAnswer;
use crate::carrier_billing::bill_refund;
use crate::AppError;
use crate::Services;

/// Records the refund with its bill row, then asks the carrier to credit it.
pub(super) async fn create(
    services: &Arc<Services>,
    mut new: NewRefund,
    transaction: &TelcoTransaction,
    kept: &impl KeptAnswer,
) -> Result<Refund, AppError> {
    new.status = Some(Status::PendingAuthorization);
    let new = &new;
    let (refund, row) = with_fresh_ids(|| async move {
        let now = Utc::now();
        let (refund, event) = Refund::record_with_event(new.clone(), now);
        let answer = kept(&refund);
        let row = BillRefund {
            refund_id: refund.id,
            payment_id: transaction.payment_id,
            merchant_id: refund.merchant_id.clone(),
            msisdn: transaction.msisdn.clone(),
            amount_minor: refund.total_amount.map_or(0, |m| m.amount_minor()),
            carrier_ref: None,
            next_check_at: Some(bill_refund::first_check(services, now)),
            checks: 0,
        };
        services
            .store
            .insert_bill_refund(&refund, &event, &row, answer.as_ref())
            .await
            .map(|()| (refund, row))
    })
    .await?;
    services.notify_outbox();
    let services = services.clone();
    tokio::spawn(async move { bill_refund::credit(&services, &row).await });
    Ok(refund)
}
