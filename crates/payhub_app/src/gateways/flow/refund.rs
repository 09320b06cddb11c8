//! Refunds through a gateway: recorded pending with a check scheduled, then
//! sent, their outcome applied once.

use super::*;

/// Refunds (part of) a gateway payment: records the refund as pending, asks
/// the gateway, and records its answer. A refund whose answer is lost stays
/// pending and is checked until the gateway tells.
pub async fn refund(
    state: &Services,
    current: &GatewayPayment,
    new: NewRefund,
    reference: Option<(&'static str, String)>,
) -> Result<Refund, AppError> {
    let refund = record_refund(state, current, new, |_| reference.clone(), |_| None).await?;
    Ok(send_refund(state, current, refund).await?)
}

/// Records a refund of a gateway payment as pending, with its first check
/// already scheduled, so that it is settled even if payhub stops before
/// [`send_refund`]. `reference` gives the dialect's name for it (claimed in
/// the same transaction), `kept` the idempotent answer to commit with it.
pub async fn record_refund(
    state: &Services,
    current: &GatewayPayment,
    mut new: NewRefund,
    reference: impl Fn(&Refund) -> Option<(&'static str, String)>,
    kept: impl Fn(&Refund) -> Option<IdempotentResponse>,
) -> Result<Refund, AppError> {
    new.status = Some(Status::PendingAuthorization);
    let now = Utc::now();
    let (new, reference, kept) = (&new, &reference, &kept);
    let refund = with_fresh_ids(|| async move {
        let (refund, event) = Refund::record_with_event(new.clone(), now);
        let row = refund_row(state, current, &refund, now);
        let external = reference(&refund).map(|(dialect, reference)| ExternalRef {
            merchant_id: refund.merchant_id.clone(),
            dialect: dialect.to_owned(),
            reference,
            resource_kind: "refund".into(),
            resource_id: refund.id.get(),
        });
        let kept = kept(&refund);
        let name = external.as_ref().map(|r| r.reference.clone());
        state
            .store
            .insert_gateway_refund(&refund, &event, &row, external.as_ref(), kept.as_ref())
            .await
            .map(|()| refund)
            .map_err(|error| match error {
                InsertRefundError::Rejected(rejection) => AppError::RefundRejected(rejection),
                InsertRefundError::Store(StoreError::DuplicateReference) => {
                    AppError::DuplicateReference(name.unwrap_or_default())
                }
                InsertRefundError::Store(error) => AppError::Store(error),
            })
    })
    .await?;
    state.notify_outbox();
    Ok(refund)
}

/// The gateway row of a refund of `current` not yet sent, with its first
/// check already scheduled, so that it is settled even if payhub stops
/// before sending it.
pub fn refund_row(
    state: &Services,
    current: &GatewayPayment,
    refund: &Refund,
    now: DateTime<Utc>,
) -> GatewayRefund {
    GatewayRefund {
        refund_id: refund.id,
        payment_id: current.payment_id,
        merchant_id: refund.merchant_id.clone(),
        gateway: current.gateway.clone(),
        gw_ref: None,
        state: RefundState::Unknown,
        next_check_at: Some(state.config.gateways.check_policy().first_check(now)),
        checks: 0,
    }
}

/// Asks the gateway to make a recorded refund, records its answer, and
/// returns the refund as it now stands.
pub async fn send_refund(
    state: &Services,
    current: &GatewayPayment,
    refund: Refund,
) -> Result<Refund, StoreError> {
    let amount = refund.total_amount;
    send_refund_part(state, current, refund, amount).await
}

/// [`send_refund`] for a refund only part of which goes to the gateway: an
/// APS refund asks the card's gateway for its card part alone (its credit
/// part went back to the account when it was recorded).
pub async fn send_refund_part(
    state: &Services,
    current: &GatewayPayment,
    refund: Refund,
    amount: Option<Money>,
) -> Result<Refund, StoreError> {
    if let (Ok(bound), Some(amount)) = (connector_for(state, current).await, amount) {
        let Some(payment_amount) = state
            .store
            .find_payment(&current.merchant_id, current.payment_id)
            .await?
            .and_then(|payment| payment.total_amount)
        else {
            return Err(StoreError::Invariant(
                "a gateway payment without an amount".into(),
            ));
        };
        let request = RefundRequest {
            refund_id: refund.id,
            payment: gateway_ref(current),
            payment_amount,
            amount,
        };
        let answer = call(state, &bound, "refund", bound.connector.refund(&request)).await;
        apply_refund_report(state, &current.gateway, refund.id, 0, answer).await;
    }
    Ok(state
        .store
        .find_refund(&refund.merchant_id, refund.id)
        .await?
        .unwrap_or(refund))
}

pub(super) async fn apply_refund_report(
    state: &Services,
    gateway: &str,
    refund_id: RefundId,
    checks: i64,
    answer: Result<crate::gateways::connector::RefundReport, GatewayError>,
) {
    let now = Utc::now();
    let (refund_state, gw_ref) = match answer {
        Ok(report) => (report.state, report.gw_ref),
        Err(error) => (check::after_failed_refund(CallFailure::from(&error)), None),
    };
    let policy = state.config.gateways.check_policy();
    let next_check_at = policy.next_refund_check(refund_state, checks, now);
    match state
        .store
        .apply_refund_update(
            refund_id,
            refund_state,
            gw_ref.as_deref(),
            next_check_at,
            now,
        )
        .await
    {
        Ok(true) if refund_state != RefundState::Unknown => {
            crate::metrics::record_refund_ended(gateway, refund_state.as_str());
            state.notify_outbox();
        }
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(refund.id = %refund_id, error.cause_chain = ?error, "cannot record a gateway refund answer; will check");
        }
    }
}
