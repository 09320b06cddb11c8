//! The telco payment service (seed 004), under `/pgw/paymentService`.
//!
//! A thin translator like the other dialects: the request is read and
//! checked once ([`request`]), priced from the calling service's catalogue
//! ([`catalogue`], [`basket`]) and recorded in the ledger pending the
//! subscriber's consent, which the subscriber gives on the consent page
//! ([`consent`]) reached by SMS ([`sms`]). Then the transaction is charged
//! on the subscriber's bill ([`carrier`]) or by card, as its channel says
//! ([`flow`]). Every answer is `{resultCode, resultDesc, transactionId}` ([`result`]).

pub mod basket;
pub mod catalogue;
pub mod channel;
pub mod consent;
pub mod flow;
pub mod hooks;
pub mod request;
pub mod result;
pub mod service;

use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

/// Where the dialect lives.
pub const BASE_PATH: &str = "/pgw/paymentService";
/// The name of the dialect's references (`transactionId`) in the ledger.
pub const DIALECT: &str = "telco";

/// The service API (authenticated per calling service).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(BASE_PATH, post(service::create))
        .route(
            &format!("{BASE_PATH}/{{transaction_id}}"),
            get(service::query),
        )
        .route(
            &format!("{BASE_PATH}/{{transaction_id}}/commit"),
            post(service::commit),
        )
        .route(
            &format!("{BASE_PATH}/{{transaction_id}}/release"),
            post(service::release),
        )
        .route("/pgw/catalogue", get(catalogue::list))
        .route(
            "/pgw/catalogue/{product_id}",
            axum::routing::put(catalogue::put),
        )
        .layer(axum::middleware::from_fn(
            crate::edge::guard::<result::TelcoEdge>,
        ))
        .layer(axum::middleware::from_fn(
            crate::rate_limit::per_address::<result::TelcoEdge>,
        ))
}

/// The subscriber's consent page (the link is the credential).
pub fn consent_router() -> Router<AppState> {
    Router::new().route(
        "/consent/{payment_id}/{token}",
        get(consent::show).post(consent::submit),
    )
}
