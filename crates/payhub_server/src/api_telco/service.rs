//! The calling service's endpoints: request a payment, ask where it stands,
//! commit or release a reservation.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use payhub_app::carrier_billing::reservation::commit_or_release;
use payhub_app::carrier_billing::transactions::{self, NewTransaction};
use payhub_store::{Merchant, TelcoTransaction};

use super::consent::consent_url;
use super::document::document;
use super::pricing::price;
use super::request::{transaction_id_of, PaymentRequest};
use super::result::{state_answer, TelcoError};
use super::DIALECT;
use crate::auth;
use crate::state::AppState;

/// The calling service (a merchant), by HTTP Basic (or its bearer key).
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Merchant, TelcoError> {
    match auth::authenticate(state.store.as_ref(), &state.merchants, headers).await {
        Ok(merchant) => {
            state
                .rate_limits
                .check_merchant(merchant.id.as_str())
                .map_err(TelcoError::RateLimited)?;
            Ok(merchant)
        }
        Err(auth::AuthError::Store(error)) => Err(error.into()),
        Err(_) => Err(TelcoError::Unauthorized),
    }
}

/// `POST /pgw/paymentService`: a new transaction, pending the subscriber's consent.
pub async fn create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let echoed = transaction_id_of(&body);
    let result = async {
        let merchant = authenticate(&state, &headers).await?;
        let request = PaymentRequest::parse(&body, &state.settings.telco)?;
        create_transaction(&state, &merchant, request).await
    }
    .await;
    match result {
        Ok(transaction) => {
            tracing::info!(payment.id = %transaction.payment_id, channel = super::channel::id(transaction.channel), "telco transaction awaits consent");
            state_answer(transaction.state, &transaction.transaction_id)
        }
        Err(error) => error.answer(&echoed),
    }
}

/// Prices the request, writes its document and records it pending consent.
async fn create_transaction(
    state: &AppState,
    merchant: &Merchant,
    request: PaymentRequest,
) -> Result<TelcoTransaction, TelcoError> {
    let catalogue = state.store.list_telco_products(&merchant.id).await?;
    let basket = price(&request, &catalogue)?;
    let total = basket.total().map_err(|e| {
        TelcoError::InvalidItemList(format!("the basket's total cannot be computed: {e}"))
    })?;
    let document = document(&request, &basket);
    let new = NewTransaction {
        merchant_id: merchant.id.clone(),
        dialect: DIALECT,
        transaction_id: request.transaction_id,
        msisdn: request.msisdn,
        channel: request.channel,
        is_deliverable: request.is_deliverable,
        is_billing_required: request.is_billing_required,
        language: request.language,
        basket,
        total,
        document,
        consent_link: consent_url,
    };
    Ok(transactions::create(state, new).await?)
}

/// The merchant's transaction with this `transactionId`.
async fn find(
    state: &AppState,
    merchant: &Merchant,
    transaction_id: &str,
) -> Result<TelcoTransaction, TelcoError> {
    let not_found = || TelcoError::NotFound(transaction_id.to_owned());
    let reference = state
        .store
        .find_external_ref(&merchant.id, DIALECT, transaction_id)
        .await?
        .ok_or_else(not_found)?;
    let payment_id =
        payhub_core::PaymentId::from_i64(reference.resource_id).ok_or_else(not_found)?;
    state
        .store
        .find_telco_transaction(payment_id)
        .await?
        .filter(|t| t.merchant_id == merchant.id)
        .ok_or_else(not_found)
}

/// `GET /pgw/paymentService/{transactionId}`: where the transaction stands.
pub async fn query(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(transaction_id): Path<String>,
) -> Response {
    let result = async {
        let merchant = authenticate(&state, &headers).await?;
        find(&state, &merchant, &transaction_id).await
    }
    .await;
    match result {
        Ok(transaction) => state_answer(transaction.state, &transaction.transaction_id),
        Err(error) => error.answer(&transaction_id),
    }
}

async fn end_reservation(
    state: AppState,
    headers: HeaderMap,
    transaction_id: String,
    commit: bool,
) -> Response {
    let result = async {
        let merchant = authenticate(&state, &headers).await?;
        let transaction = find(&state, &merchant, &transaction_id).await?;
        Ok::<_, TelcoError>(commit_or_release(&state, &transaction, commit).await?)
    }
    .await;
    match result {
        Ok(transaction) => state_answer(transaction.state, &transaction.transaction_id),
        Err(error) => error.answer(&transaction_id),
    }
}

/// `POST /pgw/paymentService/{transactionId}/commit`: charge a reservation.
pub async fn commit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(transaction_id): Path<String>,
) -> Response {
    end_reservation(state, headers, transaction_id, true).await
}

/// `POST /pgw/paymentService/{transactionId}/release`: give a reservation back.
pub async fn release(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(transaction_id): Path<String>,
) -> Response {
    end_reservation(state, headers, transaction_id, false).await
}
