//! The retail online-payment dialect (seed 003), under `/tt-pms-ws/rest/online`.
//!
//! A thin translator: requests are authenticated by their HMAC `sign`
//! ([`signature`]), read and checked once ([`request`], [`sales`]), and handed
//! to the gateway flow; answers are rebuilt from the ledger ([`view`]). Errors
//! use the dialect's own envelope ([`error`]).

pub mod error;
pub mod hooks;
pub mod lookup;
pub mod refund;
pub mod request;
pub mod sales;
pub mod signature;
pub mod wire;

use axum::routing::post;
use axum::Router;

use crate::state::AppState;

/// Where the dialect lives.
pub const BASE_PATH: &str = "/tt-pms-ws/rest/online";
/// The name of the dialect's references (`rrn`) in the ledger.
pub const DIALECT: &str = "retail";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/gateway", post(lookup::gateway))
        .route("/sales", post(sales::sales))
        .route("/query", post(lookup::query))
        .route("/cancel", post(lookup::cancel))
        .route("/refund", post(refund::refund))
        .layer(axum::middleware::from_fn(
            crate::edge::guard::<error::RetailEdge>,
        ))
        .layer(axum::middleware::from_fn(
            crate::rate_limit::per_address::<error::RetailEdge>,
        ))
}
