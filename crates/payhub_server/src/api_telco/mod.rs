//! The telco payment service (seed 004), under `/pgw/paymentService`.
//!
//! A thin translator like the other dialects: the request is read and
//! checked once ([`request`]), priced from the calling service's catalogue
//! ([`catalogue`], [`pricing`]) and recorded in the ledger with its
//! TMF676-shaped [`document`] pending the subscriber's consent, which the
//! subscriber gives on the consent page ([`consent`]) reached by SMS. What
//! happens then (the bill booked or the card payment started, commits,
//! releases, deadlines) is the carrier-billing use cases'
//! ([`payhub_app::carrier_billing`]); this dialect translates ([`service`],
//! [`hooks`]). Every answer is `{resultCode, resultDesc, transactionId}`
//! ([`result`]); channels are numbered as seed 004 says ([`channel`]).

pub mod catalogue;
pub mod channel;
pub mod consent;
pub mod consent_limit;
pub mod consent_text;
pub mod document;
pub mod hooks;
pub mod pricing;
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
