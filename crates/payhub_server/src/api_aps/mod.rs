//! The APS PaymentManagement dialect (seed 001), under `/aps/2/resources/{aps-id}`.
//!
//! An APS resource is a merchant's customer account ([`accounts`]), with
//! available credit and stored payment methods. A thin translator like the
//! other dialects: requests are authenticated with the merchant's API key,
//! read once ([`request`]), recorded in the one ledger ([`pay`]) and read
//! back ([`payments`], [`view`]). Errors use one JSON object ([`error`]).
//! See docs/APS.md.

pub mod accounts;
pub mod error;
pub mod hooks;
pub mod pay;
pub mod payments;
pub mod request;
pub mod wire;

use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use payhub_store::{ApsAccount, Merchant};

use crate::auth::authenticate;
use crate::state::AppState;
use error::ApsError;

/// Where the dialect lives.
pub const BASE_PATH: &str = "/aps/2/resources";
/// The dialect's name: the origin of the payments it records.
pub const DIALECT: &str = "aps";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/{aps_id}/payment", post(pay::pay))
        .route("/{aps_id}/payments", get(payments::payments))
        .layer(axum::middleware::from_fn(
            crate::edge::guard::<error::ApsEdge>,
        ))
        .layer(axum::middleware::from_fn(
            crate::rate_limit::per_address::<error::ApsEdge>,
        ))
}

/// The merchant whose API key the request carries (Bearer or HTTP Basic).
async fn merchant_of(state: &AppState, headers: &HeaderMap) -> Result<Merchant, ApsError> {
    let merchant = authenticate(state.store.as_ref(), &state.merchants, headers).await?;
    tracing::Span::current().record("merchant.id", merchant.id.as_str());
    state
        .rate_limits
        .check_merchant(merchant.id.as_str())
        .map_err(ApsError::RateLimited)?;
    Ok(merchant)
}

/// The merchant's APS resource; another merchant's answers exactly like an unknown one.
async fn find_account(
    state: &AppState,
    merchant: &Merchant,
    aps_id: &str,
) -> Result<ApsAccount, ApsError> {
    state
        .store
        .find_aps_account(aps_id)
        .await?
        .filter(|account| account.merchant_id == merchant.id)
        .ok_or_else(|| ApsError::ResourceNotFound(aps_id.to_owned()))
}
