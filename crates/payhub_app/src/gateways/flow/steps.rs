//! The customer's steps on the hosted page: paying by card and answering
//! a 3-D Secure challenge.
//!
//! A card goes to the gateway only under a claim on the payment's row
//! ([`payhub_store::GatewayStore::claim_card_attempt`]): two submissions at
//! once (a double click, two tabs, two nodes) never both reach the gateway,
//! and never together count past `PAYHUB_CARD_ATTEMPTS`. A declined card
//! (refused by the issuer, or failing its 3-D Secure step) keeps the
//! payment waiting for another card while the core says so
//! ([`payhub_core::gateway::CardAttempts::after_decline`]): the payment stays
//! pending, nothing is charged and no event is written. The decline that
//! ends it ends it as any final decline does, and the gateway is asked to
//! close the payment so nothing can pay it later.

use payhub_core::gateway::CardClaim;

use super::*;

/// How long past the gateway call's own limit a card's claim lasts: time to
/// record the answer. A node that dies mid-call blocks another card for
/// at most the call's limit plus this.
const CARD_CLAIM_MARGIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Pays a card payment with the card the customer entered. Keeps only the
/// token, brand and first six / last four digits. Answers
/// [`AppError::NotWaiting`] when the payment is not waiting for a card (or
/// has no attempt left) and [`AppError::Busy`] while another card of it is
/// at the gateway. `return_url` is where a gateway's own 3-D Secure page
/// sends the customer back (the payment's page, see
/// [`return_from_challenge`]).
pub async fn pay_with_card(
    state: &Services,
    current: &GatewayPayment,
    card: &CardInput,
    return_url: Option<&url::Url>,
) -> Result<GatewayApplied, AppError> {
    let bound = connector_for(state, current)
        .await
        .map_err(|_| AppError::NotWaiting)?;
    let claim = claim_name();
    let now = Utc::now();
    let until = now
        + chrono::Duration::from_std(state.config.gateways.call_timeout + CARD_CLAIM_MARGIN)
            .unwrap_or_default();
    let attempts = state.config.gateways.card_attempts;
    let attempt = match state
        .store
        .claim_card_attempt(current.payment_id, attempts, &claim, until, now)
        .await?
    {
        CardClaim::Granted { attempt } => attempt,
        CardClaim::Busy => return Err(AppError::Busy),
        CardClaim::NotWaiting | CardClaim::Exhausted => return Err(AppError::NotWaiting),
    };
    let answer = call(
        state,
        &bound,
        "pay_with_card",
        bound
            .connector
            .pay_with_card(&gateway_ref(current), card, return_url),
    )
    .await;
    let report = match answer {
        Ok(report) => report,
        // A card the gateway refuses is its answer (declined, with its
        // reason), not a call that failed.
        Err(GatewayError::Rejected { code, message }) => GatewayReport {
            saved_method: None,
            gw_ref: None,
            state: GatewayState::Declined,
            qr_content: None,
            code: Some((code, message)),
        },
        Err(error) => unanswered_step(&error),
    };
    // A challenge's customer action (payhub's code form, or the issuer's
    // page the gateway redirects to) is set by `update_from`.
    let report = after_decline(state, current, attempt, report);
    let saved_method = report.saved_method.clone();
    let mut update =
        report::update_from(state, current.expires_at, 0, current.action.clone(), report);
    let card = card_record(&card.number);
    update.card = with_saved_method(Some(&card), saved_method).or(Some(card));
    let applied = state
        .store
        .apply_card_attempt(current.payment_id, &claim, &update, Utc::now())
        .await?;
    if let GatewayApplied::Changed(row) = &applied {
        step_applied(state, &bound, row).await;
    }
    Ok(applied)
}

/// A declined card (attempt number `attempt`) with attempts and time left
/// leaves the payment waiting for another card, with the decline's code
/// kept for the page and the merchant's queries; any other report is
/// applied as it is.
fn after_decline(
    state: &Services,
    current: &GatewayPayment,
    attempt: u32,
    mut report: GatewayReport,
) -> GatewayReport {
    if report.state != GatewayState::Declined {
        return report;
    }
    report.state =
        state
            .config
            .gateways
            .card_attempts
            .after_decline(attempt, current.expires_at, Utc::now());
    if report.state == GatewayState::AwaitingCustomer {
        tracing::info!(payment.id = %current.payment_id, attempt, "card declined; the customer may use another card");
        report.qr_content = Some(CARD_ACTION.to_owned());
    }
    report
}

/// What follows a step's answer once written: a payment that ended is
/// ended as any other (outbox, hooks), and one that a card decline ended
/// is closed at its gateway, which would otherwise keep it open for another
/// card. The close is best effort: payhub takes no more cards for it anyway.
async fn step_applied(state: &Services, bound: &Bound, row: &GatewayPayment) {
    if row.state.is_final() {
        report::ended(state, row).await;
    }
    close_declined(state, bound, row).await;
}

/// A card payment that ended declined is closed at its gateway (best
/// effort), so the order cannot be paid there later.
async fn close_declined(state: &Services, bound: &Bound, row: &GatewayPayment) {
    if row.state == GatewayState::Declined {
        let closed = call(
            state,
            bound,
            "cancel",
            bound.connector.cancel(&gateway_ref(row)),
        )
        .await;
        if let Err(error) = closed {
            tracing::info!(payment.id = %row.payment_id, %error, "a declined card payment was not closed at its gateway");
        }
    }
}

/// A fresh name for one card attempt's claim on its payment.
fn claim_name() -> String {
    use rand::Rng;
    let bytes: [u8; 12] = rand::thread_rng().gen();
    format!("card_{}", hex::encode(bytes))
}

/// The report of a step whose call failed (see [`check::after_failed_step`]).
fn unanswered_step(error: &GatewayError) -> GatewayReport {
    GatewayReport {
        saved_method: None,
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
        gateway_token: None,
    }
}

/// The customer is back from the issuer's 3-D Secure page the gateway
/// redirected to: the gateway says how the step went (Stripe reads the
/// PaymentIntent). Only a payment whose step is on the issuer's page takes
/// this: a code-form challenge (the simulated issuers) would read the
/// return as a wrong code. Anything else is [`AppError::NotWaiting`].
pub async fn return_from_challenge(
    state: &Services,
    current: &GatewayPayment,
) -> Result<GatewayApplied, AppError> {
    let on_issuer_page = current
        .action
        .as_deref()
        .and_then(super::challenge_redirect)
        .is_some();
    if current.state != GatewayState::Challenge || !on_issuer_page {
        return Err(AppError::NotWaiting);
    }
    answer_challenge(state, current, "").await
}

/// Answers a 3-D Secure challenge. A failed challenge is a declined card:
/// with attempts and time left the customer may use another card.
pub async fn answer_challenge(
    state: &Services,
    current: &GatewayPayment,
    code: &str,
) -> Result<GatewayApplied, AppError> {
    if current.state != GatewayState::Challenge {
        return Err(AppError::NotWaiting);
    }
    let bound = connector_for(state, current)
        .await
        .map_err(|_| AppError::NotWaiting)?;
    let report = match call(
        state,
        &bound,
        "answer_challenge",
        bound
            .connector
            .answer_challenge(&gateway_ref(current), code),
    )
    .await
    {
        Ok(report) => report,
        Err(error) => unanswered_step(&error),
    };
    // The challenge belongs to the card attempt that asked for it.
    let attempt = u32::try_from(current.card_attempts).unwrap_or(u32::MAX);
    let report = after_decline(state, current, attempt, report);
    let applied = report::apply_report(state, current, report).await?;
    if let GatewayApplied::Changed(row) = &applied {
        close_declined(state, &bound, row).await;
    }
    Ok(applied)
}
