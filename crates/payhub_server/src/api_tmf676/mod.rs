//! The TMF676 Payment Management v4.0.0 facade.
//!
//! It owns its wire format ([`wire`]), its router ([`router`]) and its error
//! envelope ([`error`]); the ledger rules live in `payhub_core` and `payhub_store`.
//! Handlers: extract, authenticate, call the store, map.

mod create;
pub mod error;
mod extract;
pub mod hub;
mod list;
mod payment;
pub mod query;
mod refund;
pub mod wire;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;
pub use wire::BASE_PATH;

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The TMF676 routes, to be nested at [`BASE_PATH`].
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/payment",
            post(payment::create_payment).get(payment::list_payments),
        )
        .route("/payment/{id}", get(payment::get_payment))
        .route(
            "/refund",
            post(refund::create_refund).get(refund::list_refunds),
        )
        .route("/refund/{id}", get(refund::get_refund))
        .route("/hub", post(hub::create_hub))
        .route("/hub/{id}", get(hub::get_hub).delete(hub::delete_hub))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}
