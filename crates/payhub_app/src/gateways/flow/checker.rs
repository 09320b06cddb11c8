//! The checker: asks the gateways about every payment and refund whose
//! outcome is unknown, with growing delays, until they know.

use super::*;

/// Rows the checker claims per pass.
const CHECK_BATCH: i64 = 32;

/// One pass of the checker: asks the gateways about every payment and
/// refund whose check is due. Returns how many it asked about.
pub async fn run_checks(state: &Services) -> usize {
    let now = Utc::now();
    let lease = now
        + chrono::Duration::from_std(state.config.gateways.call_timeout * 3).unwrap_or_default();
    let mut asked = 0;
    match state
        .store
        .claim_due_gateway_checks(now, lease, CHECK_BATCH)
        .await
    {
        Ok(rows) => {
            asked += rows.len();
            for row in rows {
                check_payment(state, &row).await;
            }
        }
        Err(error) => tracing::warn!(error.cause_chain = ?error, "cannot claim gateway checks"),
    }
    match state
        .store
        .claim_due_refund_checks(now, lease, CHECK_BATCH)
        .await
    {
        Ok(rows) => {
            asked += rows.len();
            for row in rows {
                let answer = match refund_ref(state, &row).await {
                    Ok((refund, bound)) => {
                        call(
                            state,
                            &bound,
                            "query_refund",
                            bound.connector.query_refund(&refund),
                        )
                        .await
                    }
                    Err(error) => {
                        tracing::warn!(refund.id = %row.refund_id, %error, "cannot reach a refund's gateway; will check");
                        Err(GatewayError::Timeout)
                    }
                };
                refund::apply_refund_report(state, &row.gateway, row.refund_id, row.checks, answer)
                    .await;
            }
        }
        Err(error) => tracing::warn!(error.cause_chain = ?error, "cannot claim refund checks"),
    }
    asked
}

async fn check_payment(state: &Services, row: &GatewayPayment) {
    let answer = match connector_for(state, row).await {
        Ok(bound) => {
            call(
                state,
                &bound,
                "query",
                bound.connector.query(&gateway_ref(row)),
            )
            .await
        }
        // The account cannot be built now (its credentials do not open, it
        // was removed): the outcome stays unknown and is asked again later.
        Err(_) => Err(GatewayError::Timeout),
    };
    let report = match answer {
        Ok(report) => report,
        Err(error) => {
            let (state, decided) = check::after_failed_query(
                CallFailure::from(&error),
                row.state,
                Utc::now() >= row.expires_at,
            );
            if decided.is_none() {
                tracing::info!(payment.id = %row.payment_id, %error, checks = row.checks, "gateway still gives no answer");
            }
            GatewayReport {
                gw_ref: None,
                state,
                qr_content: None,
                code: decided.map(decided_code),
            }
        }
    };
    if let Err(error) = apply_report(state, row, report).await {
        tracing::warn!(payment.id = %row.payment_id, error.cause_chain = ?error, "cannot record a gateway check");
    }
}

/// The refund as its gateway knows it, with its payment's gateway reference,
/// and the connector its payment is bound to.
async fn refund_ref(
    state: &Services,
    row: &GatewayRefund,
) -> Result<(super::super::connector::RefundRef, Bound), AppError> {
    let payment = state
        .store
        .find_gateway_payment(row.payment_id)
        .await?
        .ok_or(AppError::GatewayUnavailable)?;
    let bound = connector_for(state, &payment).await?;
    let refund = super::super::connector::RefundRef {
        refund_id: row.refund_id,
        gw_ref: row.gw_ref.clone(),
        payment: gateway_ref(&payment),
    };
    Ok((refund, bound))
}
