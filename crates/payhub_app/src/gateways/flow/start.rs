//! Recording a gateway payment and starting it: the payment and its gateway
//! row are committed before the gateway is called, with a check scheduled.

use super::*;

/// Records a payment routed through a gateway and starts it there.
pub async fn start_payment(
    state: &Services,
    new: NewGatewayPayment,
) -> Result<(Payment, StartOutcome), AppError> {
    let amount = new.payment.total_amount.ok_or(AppError::AmountRequired)?;
    let bound = routing::route_new(
        state,
        &new.payment.merchant_id,
        new.gateway,
        amount,
        rand::random(),
    )
    .await?;
    let account = &bound.account;
    let now = Utc::now();
    let expires_at = expiry(state, now);
    let mut payment_fields = new.payment;
    payment_fields.status = Some(Status::PendingAuthorization);
    record_connector_account(&mut payment_fields.document, &bound);
    let (fields, gateway, lang, reference) =
        (&payment_fields, new.gateway, new.lang, &new.reference);
    let (return_url, fail_url, webhook_url) = (&new.return_url, &new.fail_url, &new.webhook_url);
    let terms = &StartTerms {
        amount,
        subject: new.subject.clone(),
    };
    let payment = with_fresh_ids(|| async move {
        let (payment, event) = Payment::record_with_event(fields.clone(), now);
        let row = gateway_row(
            state,
            &payment,
            GatewayRow {
                gateway,
                lang,
                return_url: return_url.clone(),
                fail_url: fail_url.clone(),
                webhook_url: webhook_url.clone(),
                connector_account: account.clone(),
                start: terms.clone(),
            },
            expires_at,
            now,
        );
        let reference = reference.as_ref().map(|(dialect, reference)| ExternalRef {
            merchant_id: payment.merchant_id.clone(),
            dialect: (*dialect).to_owned(),
            reference: reference.clone(),
            resource_kind: "payment".into(),
            resource_id: payment.id.get(),
        });
        state
            .store
            .insert_gateway_payment(&payment, &event, &row, reference.as_ref())
            .await
            .map(|()| payment)
    })
    .await
    .map_err(|error| match error {
        StoreError::DuplicateReference => {
            let reference = new
                .reference
                .as_ref()
                .map(|(_, reference)| reference.clone());
            AppError::DuplicateReference(reference.unwrap_or_default())
        }
        error => error.into(),
    })?;
    state.notify_outbox();
    let request = start_request(payment.id, terms, expires_at, None);
    let outcome = start_recorded(state, &bound, &request).await;
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
) -> Result<StartOutcome, AppError> {
    let amount = payment
        .total_amount
        .ok_or_else(|| StoreError::Corrupt("a gateway payment without an amount".into()))?;
    let bound =
        routing::route_new(state, &payment.merchant_id, gateway, amount, rand::random()).await?;
    let now = Utc::now();
    let expires_at = expiry(state, now);
    let terms = StartTerms { amount, subject };
    let row = gateway_row(
        state,
        payment,
        GatewayRow {
            gateway,
            lang,
            return_url,
            fail_url: None,
            webhook_url: None,
            connector_account: bound.account.clone(),
            start: terms.clone(),
        },
        expires_at,
        now,
    );
    state.store.insert_gateway_row(&row).await?;
    let request = start_request(payment.id, &terms, expires_at, None);
    Ok(start_recorded(state, &bound, &request).await)
}

/// Writes the connector account that serves the payment into its document's
/// `paymentMethod` (`"connectorAccount": {"id": "ca_…", "connector": "wechatpay"}`),
/// so that the TMF676 view shows it. A payment the simulator serves, or a
/// document without a `paymentMethod` object, is left as it is.
fn record_connector_account(document: &mut payhub_core::Document, bound: &Bound) {
    let (Some(id), Some(connector)) = (&bound.account, &bound.connector_name) else {
        return;
    };
    let Ok(serde_json::Value::Object(mut fields)) =
        serde_json::from_str::<serde_json::Value>(document.as_str())
    else {
        return;
    };
    let Some(serde_json::Value::Object(method)) = fields.get_mut("paymentMethod") else {
        return;
    };
    method.insert(
        "connectorAccount".into(),
        serde_json::json!({"id": id, "connector": connector}),
    );
    *document = payhub_core::Document::new(serde_json::Value::Object(fields).to_string());
}

/// What a gateway row needs beyond its payment.
pub struct GatewayRow {
    pub gateway: GatewayKind,
    pub lang: Lang,
    pub return_url: Option<String>,
    pub fail_url: Option<String>,
    pub webhook_url: Option<String>,
    /// The connector account the payment was routed to (`None`: the simulator).
    pub connector_account: Option<String>,
    /// What the start asks the gateway for (kept to repeat a lost start).
    pub start: StartTerms,
}

/// The start of a recorded payment: its terms, its expiry and, for a card
/// the customer saves, how the gateway keeps it. A repeated start (a lost
/// QR code, see [`payhub_core::gateway::check::repeat_start`]) is built by
/// the same function from the row's kept terms, so it is the same request.
pub fn start_request(
    payment_id: payhub_core::PaymentId,
    terms: &StartTerms,
    expires_at: DateTime<Utc>,
    save_card: Option<SaveCard>,
) -> StartRequest {
    StartRequest {
        payment_id,
        amount: terms.amount,
        subject: terms.subject.clone(),
        expires_at,
        save_card,
    }
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
        next_check_at: Some(state.config.gateways.check_policy().first_check(now)),
        checks: 0,
        lang: row.lang.code().to_owned(),
        return_url: row.return_url,
        webhook_url: row.webhook_url,
        fail_url: row.fail_url,
        card: None,
        card_attempts: 0,
        card_claimed_until: None,
        connector_account: row.connector_account,
        start: Some(row.start),
        created_at: now,
    }
}

/// Starts a recorded payment at its gateway (`request`, built by
/// [`start_request`] from the terms its row keeps) and records the answer.
/// Call only after the payment and its gateway row are committed.
pub async fn start_recorded(
    state: &Services,
    bound: &Bound,
    request: &StartRequest,
) -> StartOutcome {
    let (payment_id, expires_at) = (request.payment_id, request.expires_at);
    match call(state, bound, "start", bound.connector.start(request)).await {
        Ok(Started::Qr { gw_ref, qr_content }) => {
            let report = GatewayReport {
                saved_method: None,
                gw_ref: Some(gw_ref),
                state: GatewayState::AwaitingCustomer,
                qr_content: Some(qr_content),
                code: None,
            };
            report::apply_report_to(state, payment_id, expires_at, 0, report).await;
            StartOutcome::Ready
        }
        Ok(Started::CardForm { gw_ref }) => {
            let report = GatewayReport {
                saved_method: None,
                gw_ref: Some(gw_ref),
                state: GatewayState::AwaitingCustomer,
                qr_content: Some(CARD_ACTION.to_owned()),
                code: None,
            };
            report::apply_report_to(state, payment_id, expires_at, 0, report).await;
            StartOutcome::Ready
        }
        Err(GatewayError::Rejected { code, message }) => {
            let report = GatewayReport {
                saved_method: None,
                gw_ref: None,
                state: GatewayState::Declined,
                qr_content: None,
                code: Some((code, message)),
            };
            report::apply_report_to(state, payment_id, expires_at, 0, report).await;
            StartOutcome::Declined
        }
        Err(error) => {
            tracing::warn!(payment.id = %payment_id, gateway = %bound.connector.kind(), %error, "gateway start gave no answer; will check");
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
    bound: &Bound,
    request: &StartRequest,
    method: &StoredMethod,
) -> ChargeOutcome {
    let report = match call(
        state,
        bound,
        "charge_token",
        bound.connector.charge_token(request, method),
    )
    .await
    {
        Ok(report) => report,
        Err(GatewayError::Rejected { code, message }) => GatewayReport {
            saved_method: None,
            gw_ref: None,
            state: GatewayState::Declined,
            qr_content: None,
            code: Some((code, message)),
        },
        Err(error) => {
            tracing::warn!(payment.id = %request.payment_id, gateway = %bound.connector.kind(), %error, "stored-method charge gave no answer; will check");
            return ChargeOutcome::TimedOut;
        }
    };
    let outcome = match report.state {
        GatewayState::Succeeded => ChargeOutcome::Approved,
        GatewayState::Unknown => ChargeOutcome::TimedOut,
        _ => ChargeOutcome::Declined,
    };
    let mut update = report::update_from(state, request.expires_at, 0, None, report);
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
