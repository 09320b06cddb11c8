//! The TMF676 Payment Management v4.0.0 facade.
//!
//! It owns its wire format ([`wire`]), its router ([`router`]) and its error
//! envelope ([`error`]); the ledger rules live in `payhub_core` and `payhub_store`.
//! Handlers: extract, authenticate, call the store, map.

mod create;
pub mod error;
pub mod extract;
pub mod hub;
mod list;
pub mod operator_refund;
mod payment;
pub mod query;
mod refund;
mod render;
mod resource;
pub mod wire;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use payhub_core::{Payment, Refund};

use crate::edge;
use crate::state::AppState;
/// TMF676's `POST /refund`, which the operator console's refund goes through.
pub use refund::create_refund;
pub use wire::BASE_PATH;

/// The dialect's name: the origin of the payments it records.
pub const DIALECT: &str = "tmf676";

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = crate::http::MAX_BODY_BYTES;

/// The TMF676 routes, to be nested at [`BASE_PATH`].
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route(
            "/payment",
            post(resource::create::<Payment>).get(resource::list::<Payment>),
        )
        .route("/payment/{id}", get(resource::get::<Payment>))
        .route(
            "/refund",
            post(refund::create_refund).get(resource::list::<Refund>),
        )
        .route("/refund/{id}", get(resource::get::<Refund>))
        .route("/hub", post(hub::create_hub))
        .route("/hub/{id}", get(hub::get_hub).delete(hub::delete_hub))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(edge::guard::<extract::TmfEdge>))
        .layer(axum::middleware::from_fn(
            crate::rate_limit::per_address::<extract::TmfEdge>,
        ))
}

/// `GET {BASE_PATH}`: the API's resources, so the base URL the banner prints
/// answers. It names no merchant's data, so it needs no credentials.
async fn index(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::Json<serde_json::Value> {
    let base = format!("{}{BASE_PATH}", state.settings.public_base_url);
    axum::Json(serde_json::json!({
        "name": "TMF676 Payment Management",
        "version": "4.0.0",
        "payment": format!("{base}/payment"),
        "refund": format!("{base}/refund"),
        "hub": format!("{base}/hub"),
    }))
}
