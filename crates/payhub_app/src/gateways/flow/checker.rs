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
    // The account cannot be built now (its credentials do not open, it was
    // removed): the outcome stays unknown and is asked again later.
    let bound = connector_for(state, row).await.ok();
    let answer = match &bound {
        Some(bound) => {
            call(
                state,
                bound,
                "query",
                bound.connector.query(&gateway_ref(row)),
            )
            .await
        }
        None => Err(GatewayError::Timeout),
    };
    let found = query_found(&answer);
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
                saved_method: None,
            }
        }
    };
    let shows_qr = GatewayKind::parse(&row.gateway)
        .is_some_and(|kind| kind.method() != crate::gateways::PayMethod::Card);
    let repeat = check::repeat_start(
        shows_qr,
        row.action.is_some(),
        found,
        Utc::now() >= row.expires_at,
    );
    let report = match (&bound, &row.start) {
        (Some(bound), Some(terms)) if repeat => {
            repeat_lost_start(state, bound, row, terms, report).await
        }
        _ => report,
    };
    if let Err(error) = apply_report(state, row, report).await {
        tracing::warn!(payment.id = %row.payment_id, error.cause_chain = ?error, "cannot record a gateway check");
    }
}

/// What a query said, as far as getting a lost QR code back goes.
fn query_found(answer: &Result<GatewayReport, GatewayError>) -> check::QueryFound {
    match answer {
        Ok(report)
            if report.state == GatewayState::AwaitingCustomer && report.qr_content.is_none() =>
        {
            check::QueryFound::WaitingWithoutCode
        }
        Err(GatewayError::NotFound) => check::QueryFound::NotFound,
        _ => check::QueryFound::Other,
    }
}

/// Repeats the start of a QR payment whose start's answer was lost, with
/// the terms its row kept (the same request as the first: same order
/// number, amount, subject and expiry), and adds the QR code the gateway
/// answers to what the query said. The gateway takes it as the same order
/// (docs/GATEWAYS.md, "A QR start whose answer was lost").
async fn repeat_lost_start(
    state: &Services,
    bound: &Bound,
    row: &GatewayPayment,
    terms: &StartTerms,
    queried: GatewayReport,
) -> GatewayReport {
    let request = start_request(row.payment_id, terms, row.expires_at, None);
    match call(state, bound, "start", bound.connector.start(&request)).await {
        Ok(Started::Qr { gw_ref, qr_content }) => {
            tracing::info!(payment.id = %row.payment_id, "a lost QR code was got back by repeating the start");
            GatewayReport {
                gw_ref: queried.gw_ref.or(Some(gw_ref)),
                state: GatewayState::AwaitingCustomer,
                qr_content: Some(qr_content),
                ..queried
            }
        }
        Ok(Started::CardForm { .. }) => queried,
        Err(error) => {
            tracing::warn!(payment.id = %row.payment_id, %error, "repeating a lost QR start gave no code");
            GatewayReport {
                state: check::after_failed_repeat(CallFailure::from(&error), queried.state),
                ..queried
            }
        }
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
