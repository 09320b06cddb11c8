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
                let answer = match connector_for(state, &row.gateway) {
                    Some(connector) => {
                        call(
                            state,
                            connector.kind(),
                            "query_refund",
                            connector.query_refund(row.refund_id),
                        )
                        .await
                    }
                    None => Err(GatewayError::NotFound),
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
    let answer = match connector_for(state, &row.gateway) {
        Some(connector) => {
            call(
                state,
                connector.kind(),
                "query",
                connector.query(row.payment_id),
            )
            .await
        }
        None => Err(GatewayError::NotFound),
    };
    let report = match answer {
        Ok(report) => report,
        Err(error) => {
            let (state, decided) = check::after_failed_query(CallFailure::from(&error), row.state);
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
