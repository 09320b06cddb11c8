//! Closing an unpaid payment at its gateway.

use super::*;

/// Why a cancel did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    #[error("the payment has already ended ({0:?})")]
    AlreadyEnded(GatewayState),
    #[error("the gateway did not answer; the payment's state is being checked")]
    Timeout,
    #[error(transparent)]
    Store(#[from] UpdateStatusError),
}

/// Closes an unpaid payment at its gateway.
pub async fn cancel(
    state: &Services,
    current: &GatewayPayment,
) -> Result<GatewayPayment, CancelError> {
    if current.state.is_final() {
        return Err(CancelError::AlreadyEnded(current.state));
    }
    let connector = connector_for(state, &current.gateway).ok_or(CancelError::Timeout)?;
    let report = match call(
        state,
        connector.kind(),
        "cancel",
        connector.cancel(current.payment_id),
    )
    .await
    {
        Ok(report) => report,
        Err(error) => {
            let (state, decided) = check::after_failed_cancel(CallFailure::from(&error))
                .ok_or(CancelError::Timeout)?;
            GatewayReport {
                gw_ref: None,
                state,
                qr_content: None,
                code: Some(decided_code(decided)),
            }
        }
    };
    match apply_report(state, current, report).await? {
        GatewayApplied::Changed(row) if row.state == GatewayState::Canceled => Ok(row),
        GatewayApplied::Changed(row) | GatewayApplied::AlreadyFinal(row) => {
            Err(CancelError::AlreadyEnded(row.state))
        }
    }
}
