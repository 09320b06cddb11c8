//! Applying what a gateway says (an answer, a query, a notification) to the
//! ledger, once.

use super::*;
use crate::gateways::PayMethod;

/// Applies what a gateway said about a payment and schedules the next check.
pub async fn apply_report(
    state: &Services,
    current: &GatewayPayment,
    report: GatewayReport,
) -> Result<GatewayApplied, UpdateStatusError> {
    let report = card_form_when_found(current, report);
    let saved_method = report.saved_method.clone();
    let mut update = update_from(
        state,
        current.expires_at,
        current.checks,
        current.action.clone(),
        report,
    );
    // A card saved at the gateway is reported once its payment succeeded
    // (after a 3-D Secure step, by a check or a notification): the card the
    // row already has gets the gateway's reference.
    update.card = with_saved_method(current.card.as_ref(), saved_method);
    let applied = state
        .store
        .apply_gateway_update(current.payment_id, &update, Utc::now())
        .await?;
    if let GatewayApplied::Changed(row) = &applied {
        if row.state.is_final() {
            tracing::info!(payment.id = %row.payment_id, gateway = row.gateway.as_str(), state = row.state.as_str(), "gateway payment ended");
            ended(state, row).await;
        }
    }
    Ok(applied)
}

/// A card payment whose start's answer was lost, found by a check waiting
/// for its customer: the start's answer would have opened the card form
/// (`Started::CardForm`), so the check opens it, else the page would wait
/// on a payment nobody can pay.
fn card_form_when_found(current: &GatewayPayment, mut report: GatewayReport) -> GatewayReport {
    let card_gateway =
        GatewayKind::parse(&current.gateway).is_some_and(|kind| kind.method() == PayMethod::Card);
    if card_gateway
        && report.state == GatewayState::AwaitingCustomer
        && report.qr_content.is_none()
        && current.action.is_none()
    {
        report.qr_content = Some(CARD_ACTION.to_owned());
    }
    report
}

pub(super) async fn apply_report_to(
    state: &Services,
    payment_id: payhub_core::PaymentId,
    expires_at: DateTime<Utc>,
    checks: i64,
    report: GatewayReport,
) {
    let update = update_from(state, expires_at, checks, None, report);
    match state
        .store
        .apply_gateway_update(payment_id, &update, Utc::now())
        .await
    {
        Ok(GatewayApplied::Changed(row)) if row.state.is_final() => ended(state, &row).await,
        Ok(_) => {}
        Err(error) => {
            // The check already scheduled will ask the gateway again.
            tracing::warn!(payment.id = %payment_id, error.cause_chain = ?error, "cannot record a gateway answer; will check");
        }
    }
}

pub(super) fn update_from(
    state: &Services,
    expires_at: DateTime<Utc>,
    checks: i64,
    previous_action: Option<String>,
    report: GatewayReport,
) -> GatewayUpdate {
    let next_check_at = state.config.gateways.check_policy().next_check(
        report.state,
        expires_at,
        checks,
        Utc::now(),
    );
    let action = match (report.state, report.qr_content, previous_action) {
        // A 3-D Secure step: on the issuer's page when the gateway gave
        // its URL (now or before), else payhub's code form.
        (GatewayState::Challenge, Some(redirect), _) => Some(challenge_action(Some(&redirect))),
        (GatewayState::Challenge, None, Some(action)) if is_challenge_action(&action) => {
            Some(action)
        }
        (GatewayState::Challenge, None, _) => Some(CHALLENGE_ACTION.to_owned()),
        // A card payment back to waiting for its customer (a 3-D Secure
        // step that failed, found out by a check) waits for a card, not a
        // challenge.
        (GatewayState::AwaitingCustomer, None, Some(action)) if is_challenge_action(&action) => {
            Some(CARD_ACTION.to_owned())
        }
        (_, qr_content, previous_action) => qr_content.or(previous_action),
    };
    GatewayUpdate {
        state: report.state,
        gw_ref: report.gw_ref,
        action,
        error: report.code,
        next_check_at,
        card: None,
    }
}

/// Takes a simulated gateway's notification: verifies it, then applies it
/// once. Only payments the simulator serves (no connector account) take it.
pub async fn receive_notification(
    state: &Services,
    kind: GatewayKind,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> Result<(), AppError> {
    let connector = state
        .gateways
        .simulator(kind)
        .ok_or(AppError::UnknownPayment(None))?;
    let notification = connector.parse_notification(headers, body)?;
    let current = state
        .store
        .find_gateway_payment(notification.payment_id)
        .await?
        .filter(|row| row.gateway == kind.code() && row.connector_account.is_none())
        .ok_or(AppError::UnknownPayment(Some(notification.payment_id)))?;
    apply_notification(state, &current, notification.report).await
}

/// Takes a notification a connector account's gateway sent: verifies it
/// with the account's credentials, then applies it once, to a payment that
/// account serves. Answers what the gateway expects to hear back.
pub async fn receive_account_notification(
    state: &Services,
    account_id: &str,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> Result<Acknowledgement, AppError> {
    let account = routing::find_account(state, account_id)
        .await
        .map_err(|_| AppError::UnknownPayment(None))?;
    let connector = routing::notification_connector(state, &account)?;
    let notification = match connector.parse_notification(headers, body) {
        Err(GatewayError::Unrelated(what)) => {
            tracing::debug!(
                account = account_id,
                what = what.as_str(),
                "gateway notification acknowledged and ignored"
            );
            return Ok(connector.acknowledgement());
        }
        other => other?,
    };
    let current = state
        .store
        .find_gateway_payment(notification.payment_id)
        .await?
        .filter(|row| row.connector_account.as_deref() == Some(account_id))
        .ok_or(AppError::UnknownPayment(Some(notification.payment_id)))?;
    apply_notification(state, &current, notification.report).await?;
    Ok(connector.acknowledgement())
}

async fn apply_notification(
    state: &Services,
    current: &GatewayPayment,
    report: GatewayReport,
) -> Result<(), AppError> {
    match apply_report(state, current, report).await? {
        GatewayApplied::Changed(_) => {}
        GatewayApplied::AlreadyFinal(_) => {
            tracing::info!(payment.id = %current.payment_id, "duplicate gateway notification ignored");
        }
    }
    Ok(())
}

/// What follows a gateway payment's end: the outbox has its event, and a
/// dialect that waits on the gateway (telco card payments) moves on.
pub(super) async fn ended(state: &Services, row: &GatewayPayment) {
    crate::metrics::record_payment_ended(&row.gateway, row.state.as_str());
    state.notify_outbox();
    for dialect in state.hooks.dialects() {
        dialect.gateway_payment_ended(state, row).await;
    }
}
