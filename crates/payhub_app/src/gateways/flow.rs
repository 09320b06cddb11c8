//! Driving payments and refunds through their gateways.
//!
//! The rules, whatever dialect started the payment:
//! - The payment and its gateway row are written before the gateway is
//!   called, with a check already scheduled: if payhub dies mid-call, the
//!   checker asks the gateway later. Nothing is lost and nothing is charged twice.
//! - A timeout leaves the outcome `unknown`, never `failed`; the checker asks
//!   again with growing delays until the gateway knows.
//! - Every answer (start, card, challenge, query, cancel, notification) goes
//!   through [`apply_report`]; a payment already final ignores later answers,
//!   so duplicate notifications change nothing.

use chrono::{DateTime, Utc};
use payhub_core::{
    EventKind, GatewayState, LedgerEvent, Money, NewPayment, NewRefund, Payment, Refund, RefundId,
    RefundRejection, RefundState, Status,
};
use payhub_store::{
    ExternalRef, GatewayApplied, GatewayPayment, GatewayRefund, GatewayUpdate, IdempotentResponse,
    InsertRefundError, StoreError, UpdateStatusError,
};

use super::connector::{
    GatewayError, GatewayReport, RefundRequest, StartRequest, Started, StoredMethod,
};
use super::{Connector, GatewayKind};
use crate::card::{CardInput, CardNumber};
use crate::lang::Lang;
use crate::Services;

/// The customer action stored for a card payment waiting for its card.
pub const CARD_ACTION: &str = "card";

/// A payment to route through a gateway.
pub struct NewGatewayPayment {
    pub payment: NewPayment,
    pub gateway: GatewayKind,
    pub lang: Lang,
    pub subject: Option<String>,
    pub return_url: Option<String>,
    pub webhook_url: Option<String>,
    /// Where the page sends the customer after a failure; `return_url` when `None`.
    pub fail_url: Option<String>,
    /// The dialect's unique reference: (dialect, reference).
    pub reference: Option<(&'static str, String)>,
}

/// How the gateway answered the start.
#[derive(Debug)]
pub enum StartOutcome {
    /// The customer can pay now (QR shown, card form open).
    Ready,
    /// The gateway refused the payment.
    Declined,
    /// No answer in time; the checker will find out.
    TimedOut,
}

/// Why a gateway payment could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("the reference is already used")]
    DuplicateReference,
    #[error("no connector for gateway {0}")]
    NoConnector(GatewayKind),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn connector_for(state: &Services, gateway: &str) -> Option<std::sync::Arc<dyn Connector>> {
    GatewayKind::parse(gateway).and_then(|kind| state.gateways.connector(kind))
}

/// Runs a gateway call under the configured time limit, and counts and
/// times it per gateway and operation (docs/METRICS.md).
async fn call<T>(
    state: &Services,
    gateway: GatewayKind,
    operation: &'static str,
    future: impl std::future::Future<Output = Result<T, GatewayError>>,
) -> Result<T, GatewayError> {
    let started = std::time::Instant::now();
    let result = tokio::time::timeout(state.config.gateways.call_timeout, future)
        .await
        .unwrap_or(Err(GatewayError::Timeout));
    crate::metrics::record_gateway_call(gateway, operation, &result, started.elapsed());
    result
}

/// When to ask the gateway again after `checks` checks that gave no final answer.
fn retry_after(state: &Services, checks: i64, now: DateTime<Utc>) -> DateTime<Utc> {
    let settings = &state.config.gateways;
    let exponent = u32::try_from(checks.clamp(0, 20)).unwrap_or(20);
    let delay = settings
        .check_base
        .saturating_mul(2_u32.saturating_pow(exponent))
        .min(settings.check_max);
    now + chrono::Duration::from_std(delay).unwrap_or_default()
}

/// The first check of a freshly written row: after the call that follows
/// has had its full time, so the checker never races it.
fn first_check(state: &Services, now: DateTime<Utc>) -> DateTime<Utc> {
    now + chrono::Duration::from_std(
        state.config.gateways.call_timeout + state.config.gateways.check_base,
    )
    .unwrap_or_default()
}

/// Records a payment routed through a gateway and starts it there.
pub async fn start_payment(
    state: &Services,
    new: NewGatewayPayment,
) -> Result<(Payment, StartOutcome), FlowError> {
    let connector = state
        .gateways
        .connector(new.gateway)
        .ok_or(FlowError::NoConnector(new.gateway))?;
    let now = Utc::now();
    let expires_at = expiry(state, now);
    let mut payment_fields = new.payment;
    payment_fields.status = Some(Status::PendingAuthorization);
    let mut attempt = 0;
    let payment = loop {
        let payment = Payment::record(payment_fields.clone(), now);
        let event = LedgerEvent::new(
            payment.merchant_id.clone(),
            EventKind::PaymentCreate,
            payment.id.get(),
            payment.status,
            now,
        );
        let row = gateway_row(
            state,
            &payment,
            GatewayRow {
                gateway: new.gateway,
                lang: new.lang,
                return_url: new.return_url.clone(),
                fail_url: new.fail_url.clone(),
                webhook_url: new.webhook_url.clone(),
            },
            expires_at,
            now,
        );
        let reference = new
            .reference
            .as_ref()
            .map(|(dialect, reference)| ExternalRef {
                merchant_id: payment.merchant_id.clone(),
                dialect: (*dialect).to_owned(),
                reference: reference.clone(),
                resource_kind: "payment".into(),
                resource_id: payment.id.get(),
            });
        match state
            .store
            .insert_gateway_payment(&payment, &event, &row, reference.as_ref())
            .await
        {
            Ok(()) => break payment,
            Err(StoreError::DuplicateReference) => return Err(FlowError::DuplicateReference),
            Err(StoreError::IdCollision) if attempt < 3 => attempt += 1,
            Err(error) => return Err(error.into()),
        }
    };
    state.notify_outbox();
    let amount = payment
        .total_amount
        .ok_or_else(|| StoreError::Corrupt("a gateway payment without an amount".into()))?;
    let outcome = start_recorded(
        state,
        connector.as_ref(),
        payment.id,
        amount,
        new.subject,
        expires_at,
    )
    .await;
    Ok((payment, outcome))
}

/// Routes a payment already in the ledger (a telco card payment, after its
/// consent) through a gateway: writes its gateway row, then starts it there.
pub async fn start_for_existing(
    state: &Services,
    payment: &Payment,
    gateway: GatewayKind,
    lang: Lang,
    subject: Option<String>,
    return_url: Option<String>,
) -> Result<StartOutcome, FlowError> {
    let connector = state
        .gateways
        .connector(gateway)
        .ok_or(FlowError::NoConnector(gateway))?;
    let amount = payment
        .total_amount
        .ok_or_else(|| StoreError::Corrupt("a gateway payment without an amount".into()))?;
    let now = Utc::now();
    let expires_at = expiry(state, now);
    let row = gateway_row(
        state,
        payment,
        GatewayRow {
            gateway,
            lang,
            return_url,
            fail_url: None,
            webhook_url: None,
        },
        expires_at,
        now,
    );
    state.store.insert_gateway_row(&row).await?;
    Ok(start_recorded(
        state,
        connector.as_ref(),
        payment.id,
        amount,
        subject,
        expires_at,
    )
    .await)
}

/// What a gateway row needs beyond its payment.
pub struct GatewayRow {
    pub gateway: GatewayKind,
    pub lang: Lang,
    pub return_url: Option<String>,
    pub fail_url: Option<String>,
    pub webhook_url: Option<String>,
}

/// When an unpaid payment started now closes at its gateway.
pub fn expiry(state: &Services, now: DateTime<Utc>) -> DateTime<Utc> {
    now + chrono::Duration::from_std(state.config.gateways.qr_expiry).unwrap_or_default()
}

/// The gateway row of a payment about to be recorded: outcome `unknown`,
/// with its first check already scheduled.
pub fn gateway_row(
    state: &Services,
    payment: &Payment,
    row: GatewayRow,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> GatewayPayment {
    GatewayPayment {
        payment_id: payment.id,
        merchant_id: payment.merchant_id.clone(),
        gateway: row.gateway.code().to_owned(),
        gw_ref: None,
        state: GatewayState::Unknown,
        action: None,
        gw_error_code: None,
        gw_error_message: None,
        expires_at,
        next_check_at: Some(first_check(state, now)),
        checks: 0,
        lang: row.lang.code().to_owned(),
        return_url: row.return_url,
        webhook_url: row.webhook_url,
        fail_url: row.fail_url,
        card: None,
        created_at: now,
    }
}

/// Starts a recorded payment at its gateway for `amount` and records the
/// answer. Call only after the payment and its gateway row are committed.
pub async fn start_recorded(
    state: &Services,
    connector: &dyn Connector,
    payment_id: payhub_core::PaymentId,
    amount: payhub_core::Money,
    subject: Option<String>,
    expires_at: DateTime<Utc>,
) -> StartOutcome {
    let request = StartRequest {
        payment_id,
        amount,
        subject,
        expires_at,
    };
    match call(state, connector.kind(), "start", connector.start(&request)).await {
        Ok(Started::Qr { gw_ref, qr_content }) => {
            let report = GatewayReport {
                gw_ref: Some(gw_ref),
                state: GatewayState::AwaitingCustomer,
                qr_content: Some(qr_content),
                code: None,
            };
            apply_report_to(state, payment_id, expires_at, 0, report).await;
            StartOutcome::Ready
        }
        Ok(Started::CardForm { gw_ref }) => {
            let report = GatewayReport {
                gw_ref: Some(gw_ref),
                state: GatewayState::AwaitingCustomer,
                qr_content: Some(CARD_ACTION.to_owned()),
                code: None,
            };
            apply_report_to(state, payment_id, expires_at, 0, report).await;
            StartOutcome::Ready
        }
        Err(GatewayError::Rejected { code, message }) => {
            let report = GatewayReport {
                gw_ref: None,
                state: GatewayState::Declined,
                qr_content: None,
                code: Some((code, message)),
            };
            apply_report_to(state, payment_id, expires_at, 0, report).await;
            StartOutcome::Declined
        }
        Err(error) => {
            tracing::warn!(payment.id = %payment_id, gateway = %connector.kind(), %error, "gateway start gave no answer; will check");
            StartOutcome::TimedOut
        }
    }
}

/// How a charge of a stored method ended.
#[derive(Debug, PartialEq, Eq)]
pub enum ChargeOutcome {
    Approved,
    Declined,
    /// No answer in time; the checker will find out.
    TimedOut,
}

/// Charges a recorded payment to a stored method (no customer present) for
/// `amount` and records the answer, with the method's card on the gateway
/// row. Call only after the payment and its gateway row are committed.
pub async fn charge_recorded(
    state: &Services,
    connector: &dyn Connector,
    request: &StartRequest,
    method: &StoredMethod,
) -> ChargeOutcome {
    let report = match call(
        state,
        connector.kind(),
        "charge_token",
        connector.charge_token(request, method),
    )
    .await
    {
        Ok(report) => report,
        Err(GatewayError::Rejected { code, message }) => GatewayReport {
            gw_ref: None,
            state: GatewayState::Declined,
            qr_content: None,
            code: Some((code, message)),
        },
        Err(error) => {
            tracing::warn!(payment.id = %request.payment_id, gateway = %connector.kind(), %error, "stored-method charge gave no answer; will check");
            return ChargeOutcome::TimedOut;
        }
    };
    let outcome = match report.state {
        GatewayState::Succeeded => ChargeOutcome::Approved,
        GatewayState::Unknown => ChargeOutcome::TimedOut,
        _ => ChargeOutcome::Declined,
    };
    let mut update = update_from(state, request.expires_at, 0, None, report);
    update.card = method.token_card();
    match state
        .store
        .apply_gateway_update(request.payment_id, &update, Utc::now())
        .await
    {
        Ok(GatewayApplied::Changed(row)) if row.state.is_final() => state.notify_outbox(),
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(payment.id = %request.payment_id, error.cause_chain = ?error, "cannot record a stored-method charge; will check");
            return ChargeOutcome::TimedOut;
        }
    }
    outcome
}

/// Applies what a gateway said about a payment and schedules the next check.
pub async fn apply_report(
    state: &Services,
    current: &GatewayPayment,
    report: GatewayReport,
) -> Result<GatewayApplied, UpdateStatusError> {
    let update = update_from(
        state,
        current.expires_at,
        current.checks,
        current.action.clone(),
        report,
    );
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

async fn apply_report_to(
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

fn update_from(
    state: &Services,
    expires_at: DateTime<Utc>,
    checks: i64,
    previous_action: Option<String>,
    report: GatewayReport,
) -> GatewayUpdate {
    let now = Utc::now();
    let next_check_at = match report.state {
        GatewayState::Unknown => Some(retry_after(state, checks, now)),
        GatewayState::AwaitingCustomer | GatewayState::Challenge => {
            // Ask when it should have expired (or soon, if that is past).
            Some(expires_at.max(retry_after(state, checks, now)))
        }
        _ => None,
    };
    GatewayUpdate {
        state: report.state,
        gw_ref: report.gw_ref,
        action: report.qr_content.or(previous_action),
        error: report.code,
        next_check_at,
        card: None,
    }
}

/// Why a notification was not applied.
#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error("no such payment at this gateway")]
    UnknownPayment,
    #[error(transparent)]
    Store(#[from] UpdateStatusError),
}

/// Takes a gateway's notification: verifies it, then applies it once.
pub async fn receive_notification(
    state: &Services,
    kind: GatewayKind,
    body: &[u8],
) -> Result<(), NotificationError> {
    let connector = state
        .gateways
        .connector(kind)
        .ok_or(NotificationError::UnknownPayment)?;
    let notification = connector.parse_notification(body)?;
    let current = state
        .store
        .find_gateway_payment(notification.payment_id)
        .await
        .map_err(UpdateStatusError::Store)?
        .filter(|row| row.gateway == kind.code())
        .ok_or(NotificationError::UnknownPayment)?;
    match apply_report(state, &current, notification.report).await? {
        GatewayApplied::Changed(_) => {}
        GatewayApplied::AlreadyFinal(_) => {
            tracing::info!(payment.id = %current.payment_id, "duplicate gateway notification ignored");
        }
    }
    Ok(())
}

/// Why a customer's step on the hosted page was not taken.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("the payment is not waiting for this step")]
    NotWaiting,
    #[error(transparent)]
    Store(#[from] UpdateStatusError),
}

/// Pays a card payment with the card the customer entered. Keeps only the
/// token, brand and first six / last four digits.
pub async fn pay_with_card(
    state: &Services,
    current: &GatewayPayment,
    card: &CardInput,
) -> Result<GatewayApplied, StepError> {
    if current.state != GatewayState::AwaitingCustomer
        || current.action.as_deref() != Some(CARD_ACTION)
    {
        return Err(StepError::NotWaiting);
    }
    let connector = connector_for(state, &current.gateway).ok_or(StepError::NotWaiting)?;
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
        Err(GatewayError::Rejected { code, message }) => GatewayReport {
            gw_ref: None,
            state: GatewayState::Declined,
            qr_content: None,
            code: Some((code, message)),
        },
        Err(_) => GatewayReport {
            gw_ref: None,
            state: GatewayState::Unknown,
            qr_content: None,
            code: None,
        },
    };
    if report.state == GatewayState::Challenge {
        report.qr_content = Some("challenge".into());
    }
    let mut update = update_from(state, current.expires_at, 0, current.action.clone(), report);
    update.card = Some(record);
    let applied = state
        .store
        .apply_gateway_update(current.payment_id, &update, Utc::now())
        .await?;
    if let GatewayApplied::Changed(row) = &applied {
        if row.state.is_final() {
            ended(state, row).await;
        }
    }
    Ok(applied)
}

/// What follows a gateway payment's end: the outbox has its event, and a
/// dialect that waits on the gateway (telco card payments) moves on.
async fn ended(state: &Services, row: &GatewayPayment) {
    crate::metrics::record_payment_ended(&row.gateway, row.state.as_str());
    state.notify_outbox();
    for dialect in state.hooks.dialects() {
        dialect.gateway_payment_ended(state, row).await;
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
) -> Result<GatewayApplied, StepError> {
    if current.state != GatewayState::Challenge {
        return Err(StepError::NotWaiting);
    }
    let connector = connector_for(state, &current.gateway).ok_or(StepError::NotWaiting)?;
    let report = match call(
        state,
        connector.kind(),
        "answer_challenge",
        connector.answer_challenge(current.payment_id, code),
    )
    .await
    {
        Ok(report) => report,
        Err(_) => GatewayReport {
            gw_ref: None,
            state: GatewayState::Unknown,
            qr_content: None,
            code: None,
        },
    };
    Ok(apply_report(state, current, report).await?)
}

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
        Err(GatewayError::NotFound) => GatewayReport {
            gw_ref: None,
            state: GatewayState::Canceled,
            qr_content: None,
            code: Some((
                "CANCELED".into(),
                "canceled before the gateway had it".into(),
            )),
        },
        Err(_) => return Err(CancelError::Timeout),
    };
    match apply_report(state, current, report).await? {
        GatewayApplied::Changed(row) if row.state == GatewayState::Canceled => Ok(row),
        GatewayApplied::Changed(row) | GatewayApplied::AlreadyFinal(row) => {
            Err(CancelError::AlreadyEnded(row.state))
        }
    }
}

/// Why a refund through a gateway was not made.
#[derive(Debug, thiserror::Error)]
pub enum RefundFlowError {
    #[error(transparent)]
    Rejected(#[from] RefundRejection),
    #[error("the reference is already used")]
    DuplicateReference,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Refunds (part of) a gateway payment: records the refund as pending, asks
/// the gateway, and records its answer. A refund whose answer is lost stays
/// pending and is checked until the gateway tells.
pub async fn refund(
    state: &Services,
    current: &GatewayPayment,
    new: NewRefund,
    reference: Option<(&'static str, String)>,
) -> Result<Refund, RefundFlowError> {
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
) -> Result<Refund, RefundFlowError> {
    new.status = Some(Status::PendingAuthorization);
    let now = Utc::now();
    let mut attempt = 0;
    let refund = loop {
        let refund = Refund::record(new.clone(), now);
        let event = LedgerEvent::new(
            refund.merchant_id.clone(),
            EventKind::RefundCreate,
            refund.id.get(),
            refund.status,
            now,
        );
        let row = refund_row(state, current, &refund, now);
        let external = reference(&refund).map(|(dialect, reference)| ExternalRef {
            merchant_id: refund.merchant_id.clone(),
            dialect: dialect.to_owned(),
            reference,
            resource_kind: "refund".into(),
            resource_id: refund.id.get(),
        });
        let kept = kept(&refund);
        match state
            .store
            .insert_gateway_refund(&refund, &event, &row, external.as_ref(), kept.as_ref())
            .await
        {
            Ok(()) => break refund,
            Err(InsertRefundError::Rejected(rejection)) => return Err(rejection.into()),
            Err(InsertRefundError::Store(StoreError::DuplicateReference)) => {
                return Err(RefundFlowError::DuplicateReference)
            }
            Err(InsertRefundError::Store(StoreError::IdCollision)) if attempt < 3 => attempt += 1,
            Err(InsertRefundError::Store(error)) => return Err(error.into()),
        }
    };
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
        next_check_at: Some(first_check(state, now)),
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
    if let (Some(connector), Some(amount)) = (connector_for(state, &current.gateway), amount) {
        let request = RefundRequest {
            refund_id: refund.id,
            payment_id: current.payment_id,
            amount,
        };
        let answer = call(
            state,
            connector.kind(),
            "refund",
            connector.refund(&request),
        )
        .await;
        settle_refund(state, &current.gateway, refund.id, 0, answer).await;
    }
    Ok(state
        .store
        .find_refund(&refund.merchant_id, refund.id)
        .await?
        .unwrap_or(refund))
}

async fn settle_refund(
    state: &Services,
    gateway: &str,
    refund_id: RefundId,
    checks: i64,
    answer: Result<super::connector::RefundReport, GatewayError>,
) {
    let now = Utc::now();
    let (refund_state, gw_ref) = match answer {
        Ok(report) => (report.state, report.gw_ref),
        Err(GatewayError::Rejected { .. } | GatewayError::NotFound) => {
            (RefundState::Declined, None)
        }
        Err(_) => (RefundState::Unknown, None),
    };
    let next_check_at =
        (refund_state == RefundState::Unknown).then(|| retry_after(state, checks, now));
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
                settle_refund(state, &row.gateway, row.refund_id, row.checks, answer).await;
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
        // The gateway never created it: nothing was paid.
        Err(GatewayError::NotFound) => GatewayReport {
            gw_ref: None,
            state: GatewayState::Expired,
            qr_content: None,
            code: Some(("NOT_FOUND".into(), "the gateway has no such payment".into())),
        },
        Err(error) => {
            tracing::info!(payment.id = %row.payment_id, %error, checks = row.checks, "gateway still gives no answer");
            GatewayReport {
                gw_ref: None,
                state: row.state,
                qr_content: None,
                code: None,
            }
        }
    };
    if let Err(error) = apply_report(state, row, report).await {
        tracing::warn!(payment.id = %row.payment_id, error.cause_chain = ?error, "cannot record a gateway check");
    }
}
