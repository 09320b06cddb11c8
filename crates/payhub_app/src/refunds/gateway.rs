//! A refund of a payment that went through a gateway (a retail sale, a card
//! payment): recorded `pendingAuthorization` with its first check
//! scheduled, then sent to the gateway; its outcome arrives as a state
//! change (`done` or `denied`) the outbox tells listeners of.

use std::sync::Arc;

use payhub_core::{NewRefund, Payment, Refund};
use payhub_store::GatewayPayment;

use super::KeptAnswer;
use crate::gateways::flow;
use crate::AppError;
use crate::Services;

/// Records the refund through [`flow::record_refund`], named in the dialect
/// that names the payment's refunds, and sends it once recorded.
pub(super) async fn create(
    services: &Arc<Services>,
    new: NewRefund,
    row: &GatewayPayment,
    kept: &impl KeptAnswer,
) -> Result<Refund, AppError> {
    let payment = services
        .store
        .find_payment(&new.merchant_id, row.payment_id)
        .await?;
    let reference = |refund: &Refund| {
        payment
            .as_ref()
            .and_then(|payment| reference_of(services, payment, refund))
    };
    let refund = flow::record_refund(services, row, new, reference, kept).await?;
    tracing::info!(refund.id = %refund.id, gateway = row.gateway.as_str(), "refund recorded; sending it to the gateway");
    let (services, row, sent) = (services.clone(), row.clone(), refund.clone());
    tokio::spawn(async move {
        // A failure here leaves the refund pending; its scheduled check settles it.
        if let Err(error) = flow::send_refund(&services, &row, sent).await {
            tracing::warn!(error.cause_chain = ?error, "cannot read back a refund sent to its gateway");
        }
    });
    Ok(refund)
}

/// What another dialect calls this refund (a retail sale's refund goes by
/// an rrn there), claimed with the refund so that dialect finds it: the
/// first dialect that names it, in registration order.
fn reference_of(
    services: &Services,
    payment: &Payment,
    refund: &Refund,
) -> Option<(&'static str, String)> {
    services
        .hooks
        .dialects()
        .iter()
        .find_map(|hooks| hooks.refund_reference(payment, refund))
}
