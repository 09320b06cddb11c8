//! The customer's steps on the hosted page: paying by card and answering
//! a 3-D Secure challenge.

use super::*;

/// Pays a card payment with the card the customer entered. Keeps only the
/// token, brand and first six / last four digits.
pub async fn pay_with_card(
    state: &Services,
    current: &GatewayPayment,
    card: &CardInput,
) -> Result<GatewayApplied, AppError> {
    if current.state != GatewayState::AwaitingCustomer
        || current.action.as_deref() != Some(CARD_ACTION)
    {
        return Err(AppError::NotWaiting);
    }
    let connector = connector_for(state, &current.gateway).ok_or(AppError::NotWaiting)?;
    let answer = call(
        state,
        connector.kind(),
        "pay_with_card",
        connector.pay_with_card(current.payment_id, card),
    )
    .await;
    let record = card_record(&card.number);
    let mut report = match answer {
        Ok(report) => report,
        // A card the gateway refuses is its answer (declined, with its
        // reason), not a call that failed.
        Err(GatewayError::Rejected { code, message }) => GatewayReport {
            gw_ref: None,
            state: GatewayState::Declined,
            qr_content: None,
            code: Some((code, message)),
        },
        Err(error) => unanswered_step(&error),
    };
    if report.state == GatewayState::Challenge {
        report.qr_content = Some("challenge".into());
    }
    let mut update =
        report::update_from(state, current.expires_at, 0, current.action.clone(), report);
    update.card = Some(record);
    let applied = state
        .store
        .apply_gateway_update(current.payment_id, &update, Utc::now())
        .await?;
    if let GatewayApplied::Changed(row) = &applied {
        if row.state.is_final() {
            report::ended(state, row).await;
        }
    }
    Ok(applied)
}

/// The report of a step whose call failed (see [`check::after_failed_step`]).
fn unanswered_step(error: &GatewayError) -> GatewayReport {
    GatewayReport {
        gw_ref: None,
        state: check::after_failed_step(CallFailure::from(error)),
        qr_content: None,
        code: None,
    }
}

fn card_record(number: &CardNumber) -> payhub_store::CardRecord {
    payhub_store::CardRecord {
        token: crate::card::card_token(),
        brand: number.brand().name().to_owned(),
        first6: number.first6().to_owned(),
        last4: number.last4().to_owned(),
    }
}

/// Answers a 3-D Secure challenge.
pub async fn answer_challenge(
    state: &Services,
    current: &GatewayPayment,
    code: &str,
) -> Result<GatewayApplied, AppError> {
    if current.state != GatewayState::Challenge {
        return Err(AppError::NotWaiting);
    }
    let connector = connector_for(state, &current.gateway).ok_or(AppError::NotWaiting)?;
    let report = match call(
        state,
        connector.kind(),
        "answer_challenge",
        connector.answer_challenge(current.payment_id, code),
    )
    .await
    {
        Ok(report) => report,
        Err(error) => unanswered_step(&error),
    };
    Ok(apply_report(state, current, report).await?)
}
