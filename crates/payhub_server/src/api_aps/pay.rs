//! `POST /aps/2/resources/{aps-id}/payment` (operation `pay`).
//!
//! Credit first, then the payment method: a stored one is charged at once
//! with no customer present; otherwise the customer pays the rest on the
//! hosted card page (`redirectData`). The credit debit, the payment, its
//! gateway row and the kept idempotent answer commit in one transaction.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use payhub_core::credit;
use payhub_core::{NewPayment, Payment};
use payhub_store::{
    with_fresh_ids, ApsAccount, ApsPayment, ApsPaymentMethod, ApsWrite, Merchant, MethodKind,
    SavedResponse, StartTerms, StoreError,
};

use super::error::ApsError;
use super::request::PayRequest;
use super::wire;
use super::{find_account, merchant_of};
use crate::idempotency::{self, Admission, IdempotencyScope};
use crate::state::AppState;
use payhub_app::callback_policy::CallbackRefused;
use payhub_app::gateways::connector::{SaveCard, StoredMethod};
use payhub_app::gateways::flow::{self, GatewayRow};
use payhub_app::gateways::routing::{self, Bound};
use payhub_app::gateways::GatewayKind;
use payhub_app::lang::Lang;

/// The gateway of the hosted card page.
const HOSTED_GATEWAY: GatewayKind = GatewayKind::Vmpay;

pub async fn pay(
    State(state): State<AppState>,
    Path(aps_id): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApsError> {
    let merchant = merchant_of(&state, &headers).await?;
    let account = find_account(&state, &merchant, &aps_id).await?;
    let body = body.map_err(|e| ApsError::InvalidJson(e.body_text()))?;
    let fingerprint = idempotency::fingerprint(&Method::POST, uri.path(), &body);
    let scope = match idempotency::admit(
        &state.store,
        &state.settings,
        &merchant.id,
        &headers,
        &fingerprint,
    )
    .await?
    {
        Admission::Proceed(scope) => scope,
        Admission::Replay(saved) => return Ok(respond(saved)),
    };
    match pay_once(&state, &merchant, &account, &body, scope.as_ref()).await {
        Ok(saved) => Ok(respond(saved)),
        Err(error) => {
            idempotency::settle_failure(
                state.store.as_ref(),
                scope.as_ref(),
                error.saved_response(),
            )
            .await;
            Err(error)
        }
    }
}

fn respond(saved: SavedResponse) -> Response {
    let status = StatusCode::from_u16(saved.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, saved.body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// What the rest of the total goes to.
enum Route {
    Stored(Box<ApsPaymentMethod>),
    Hosted,
}

async fn pay_once(
    state: &AppState,
    merchant: &Merchant,
    account: &ApsAccount,
    body: &[u8],
    scope: Option<&IdempotencyScope>,
) -> Result<SavedResponse, ApsError> {
    let request = PayRequest::parse(body, account.currency)?;
    check_urls(state, &request).await?;
    let route = match request.payment_method_id {
        Some(id) => Route::Stored(Box::new(
            state
                .store
                .find_aps_payment_method(id)
                .await?
                .filter(|m| m.aps_id == account.aps_id)
                .ok_or(ApsError::PaymentMethodNotFound(id))?,
        )),
        None => Route::Hosted,
    };
    let kind = match &route {
        Route::Stored(method) => GatewayKind::parse(&method.gateway)
            .ok_or_else(|| ApsError::GatewayUnavailable(method.gateway.clone()))?,
        Route::Hosted => HOSTED_GATEWAY,
    };
    if !merchant.gateways.iter().any(|g| g == kind.code()) {
        return Err(ApsError::GatewayUnavailable(kind.code().to_owned()));
    }
    let bound = match &route {
        Route::Stored(method) => route_stored(state, merchant, kind, method, request.total).await?,
        Route::Hosted => {
            routing::route_new(state, &merchant.id, kind, request.total, rand::random())
                .await
                .map_err(|_| ApsError::GatewayUnavailable(kind.code().to_owned()))?
        }
    };
    let now = Utc::now();
    let expires_at = flow::expiry(state, now);
    let planner = Planner {
        state,
        account,
        request: &request,
        method: match &route {
            Route::Stored(method) => Some(method.as_ref()),
            Route::Hosted => None,
        },
        kind,
        connector_account: bound.account.clone(),
        scope,
        now,
        expires_at,
    };
    let plan = |available: i64| planner.plan(available);
    let plan = &plan;
    let write =
        with_fresh_ids(
            || async move { state.store.insert_aps_payment(&account.aps_id, plan).await },
        )
        .await?;
    state.notify_outbox();
    tracing::info!(payment.id = %write.payment.id, aps.id = account.aps_id.as_str(),
        credit_minor = write.aps.credit_minor, method_minor = write.aps.method_minor, "APS payment recorded");
    let saved = planner.answer(&write);
    if write.gateway.is_some() {
        let amount = payhub_core::Money::from_minor(write.aps.method_minor, account.currency)
            .map_err(|_| ApsError::Internal)?;
        finish(state, &bound, &route, &write, amount, expires_at).await;
    }
    Ok(saved)
}

/// What an APS payment's gateway row asks its gateway for.
fn start_terms(amount: payhub_core::Money) -> StartTerms {
    StartTerms {
        amount,
        subject: Some("APS payment".to_owned()),
    }
}

/// Sends the part left for the payment method to its gateway.
async fn finish(
    state: &AppState,
    bound: &Bound,
    route: &Route,
    write: &ApsWrite,
    amount: payhub_core::Money,
    expires_at: DateTime<Utc>,
) {
    let terms = start_terms(amount);
    match route {
        Route::Stored(method) => {
            let request = flow::start_request(write.payment.id, &terms, expires_at, None);
            let stored = StoredMethod {
                token: method.charge_token().to_owned(),
                kind: method.kind.as_str().to_owned(),
                brand: method.brand.clone(),
                first6: method.first6.clone(),
                last4: method.last4.clone(),
            };
            let outcome = flow::charge_recorded(state, bound, &request, &stored).await;
            tracing::info!(payment.id = %write.payment.id, ?outcome, "stored method charged");
        }
        Route::Hosted => {
            let save_card = if write.aps.save_method {
                Some(save_card(state, &write.aps.aps_id, bound).await)
            } else {
                None
            };
            let request = flow::start_request(write.payment.id, &terms, expires_at, save_card);
            let outcome = flow::start_recorded(state, bound, &request).await;
            tracing::info!(payment.id = %write.payment.id, ?outcome, "hosted card page started");
        }
    }
}

/// How the hosted page's card is saved at the gateway: for the APS account
/// `aps_id`, reusing the gateway's customer of a card saved earlier at the
/// same connector account (its reference is valid there only).
async fn save_card(state: &AppState, aps_id: &str, bound: &Bound) -> SaveCard {
    let earlier = match bound.account.as_deref() {
        Some(account) => state
            .store
            .list_aps_payment_methods(aps_id)
            .await
            .unwrap_or_default()
            .into_iter()
            .rev()
            .find(|m| m.connector_account.as_deref() == Some(account))
            .and_then(|m| m.gateway_token),
        None => None,
    };
    SaveCard {
        customer_ref: aps_id.to_owned(),
        earlier,
    }
}

/// The connector that charges a stored method: the connector account that
/// saved it when it names one (the gateway's reference of the card is valid
/// there only), else any account of its gateway, routed as a new payment.
async fn route_stored(
    state: &AppState,
    merchant: &Merchant,
    kind: GatewayKind,
    method: &ApsPaymentMethod,
    amount: payhub_core::Money,
) -> Result<Bound, ApsError> {
    let unavailable = || ApsError::GatewayUnavailable(kind.code().to_owned());
    match method.connector_account.as_deref() {
        Some(account) => routing::route_saved(state, &merchant.id, kind, account)
            .await
            .map_err(|_| unavailable()),
        None => routing::route_new(state, &merchant.id, kind, amount, rand::random())
            .await
            .map_err(|_| unavailable()),
    }
}

/// `callbackUrlOk` and `callbackUrlFail` must be http(s) and may not point at
/// networks payhub refuses (a name payhub cannot resolve is accepted: only
/// the customer's browser visits them); `notifyUrl`, which payhub POSTs to,
/// must also resolve to a permitted address.
async fn check_urls(state: &AppState, request: &PayRequest) -> Result<(), ApsError> {
    let urls = [
        (
            "paymentContext.callbackUrlOk",
            &request.callback_url_ok,
            false,
        ),
        (
            "paymentContext.callbackUrlFail",
            &request.callback_url_fail,
            false,
        ),
        ("paymentContext.notifyUrl", &request.notify_url, true),
    ];
    for (name, url, called_by_payhub) in urls {
        let Some(url) = url else { continue };
        let policy = &state.settings.callback_policy;
        let checked = if called_by_payhub {
            policy.check_url(url).await
        } else {
            policy.check_redirect_url(url).await
        };
        match checked {
            Ok(()) => {}
            Err(refused @ CallbackRefused::NotHttp(_)) => {
                return Err(ApsError::InvalidField(name.into(), refused.to_string()))
            }
            Err(refused) => return Err(ApsError::UrlRefused(name.into(), refused.to_string())),
        }
    }
    Ok(())
}

/// Builds an APS payment's rows once the account's credit is known.
struct Planner<'a> {
    state: &'a AppState,
    account: &'a ApsAccount,
    request: &'a PayRequest,
    method: Option<&'a ApsPaymentMethod>,
    kind: GatewayKind,
    /// The connector account the card part goes to (`None`: the simulator).
    connector_account: Option<String>,
    scope: Option<&'a IdempotencyScope>,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl Planner<'_> {
    fn plan(&self, available: i64) -> Result<ApsWrite, StoreError> {
        let split = credit::split(
            self.request.total,
            available,
            self.request.use_available_credit,
        )
        .map_err(|e| StoreError::Invariant(e.to_string()))?;
        let covered = split.covered_by_credit();
        let funding = credit::fund(&split, self.method.is_some());
        let mut payment = Payment::record(
            NewPayment {
                merchant_id: self.account.merchant_id.clone(),
                account_id: self.account.account_id.clone(),
                correlator_id: None,
                total_amount: Some(self.request.total),
                amount_decimals: None,
                status: Some(funding.status),
                payment_date: None,
                document: payhub_core::Document::default(),
                origin: payhub_core::Origin::new(super::DIALECT),
            },
            self.now,
        );
        payment.correlator_id = Some(payment.id.to_string());
        payment.document = payhub_core::Document::new(wire::tmf_document(
            self.account,
            payment.id,
            self.request,
            &split,
            self.method,
            self.kind.code(),
        ));
        let event = payment.create_event();
        let gateway = (!covered).then(|| {
            flow::gateway_row(
                self.state,
                &payment,
                GatewayRow {
                    gateway: self.kind,
                    lang: Lang::En,
                    return_url: self.request.callback_url_ok.clone(),
                    fail_url: self.request.callback_url_fail.clone(),
                    webhook_url: None,
                    connector_account: self.connector_account.clone(),
                    start: start_terms(split.rest),
                },
                self.expires_at,
                self.now,
            )
        });
        let aps = ApsPayment {
            payment_id: payment.id,
            aps_id: self.account.aps_id.clone(),
            merchant_id: self.account.merchant_id.clone(),
            credit_minor: split.credit.amount_minor(),
            method_minor: split.rest.amount_minor(),
            credit_state: funding.credit_state,
            payment_method_id: self
                .method
                .filter(|_| funding.uses_stored_method)
                .map(|m| m.id),
            save_method: funding.save_method,
            notify_url: self.request.notify_url.clone(),
            created_at: self.now,
        };
        let mut write = ApsWrite {
            payment,
            event,
            gateway,
            aps,
            kept: None,
        };
        write.kept = self.scope.map(|scope| scope.keep(self.answer(&write)));
        Ok(write)
    }

    /// The `APSPaymentCreationResult`: with the hosted page when the customer must act.
    fn answer(&self, write: &ApsWrite) -> SavedResponse {
        let hosted = write.gateway.is_some() && self.method.is_none();
        let redirect = hosted.then(|| crate::page::payment_url(self.state, write.payment.id));
        SavedResponse {
            status: StatusCode::OK.as_u16(),
            location: None,
            body: wire::creation_result(write.payment.id, redirect).to_string(),
        }
    }
}

/// A stored wallet's kind, for the CLI's listing.
pub fn method_label(method: &ApsPaymentMethod) -> String {
    match method.kind {
        MethodKind::Card => format!(
            "card {} {}******{}",
            method.brand.as_deref().unwrap_or("Card"),
            method.first6.as_deref().unwrap_or_default(),
            method.last4.as_deref().unwrap_or_default()
        ),
        MethodKind::Wallet => format!("wallet {}", method.gateway),
    }
}
