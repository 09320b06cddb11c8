//! Closing an unpaid payment at its gateway.

use super::*;

/// Closes an unpaid payment at its gateway. Answers
/// [`AppError::AlreadyEnded`] for a payment that has ended (before or
/// during the call) and [`AppError::GatewayUnavailable`] when the gateway
/// gave no answer to act on.
pub async fn cancel(
    state: &Services,
    current: &GatewayPayment,
) -> Result<GatewayPayment, AppError> {
    if current.state.is_final() {
        return Err(AppError::AlreadyEnded(current.state));
    }
    let bound = connector_for(state, current)
        .await
        .map_err(|_| AppError::GatewayUnavailable)?;
    let report = match call(
        state,
        &bound,
        "cancel",
        bound.connector.cancel(&gateway_ref(current)),
    )
    .await
    {
        Ok(report) => report,
        Err(error) => {
            let (state, decided) = check::after_failed_cancel(CallFailure::from(&error))
                .ok_or(AppError::GatewayUnavailable)?;
            GatewayReport {
                saved_method: None,
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
            Err(AppError::AlreadyEnded(row.state))
        }
    }
}
