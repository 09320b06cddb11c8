//! The operator console: a web UI under `/console` for payhub's operators
//! (and, scoped to one merchant, for a merchant's staff). See docs/CONSOLE.md.
//!
//! Server-rendered HTML (maud) with one same-origin stylesheet and no script;
//! charts are inline SVG drawn here. It is a facade like the API dialects: it
//! owns its pages, its router and its error pages, and every change it makes
//! goes through the function the API uses for the same change (a refund
//! through TMF676's `POST /refund`, a resend through `/v1/deliveries`).
//!
//! - [`session`]: login, sessions in a cookie, CSRF-checked forms, and the
//!   per-account slow-down of password guessing.
//! - [`operators`]: operator accounts and the `payhub operator` commands.
//! - [`search`]: finding payments across dialects and merchants.
//! - [`timeline`]: one payment's story, built from what the database holds.
//! - [`actions`]: refunding a payment and resending a delivery.
//! - [`charts`]: volume and success rate per gateway type and merchant.
//! - [`view`]: the layout, stylesheet and shared markup.
//! - [`error`]: the console's error pages.

pub mod actions;
pub mod charts;
pub mod error;
pub mod operators;
pub mod search;
pub mod session;
pub mod timeline;
pub mod view;

use std::sync::Arc;

use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

/// Where the console is mounted.
pub const BASE: &str = "/console";

/// What every console response carries. The policy allows only this
/// origin's stylesheet and forms posting back here: no script at all, no
/// third-party source, no framing (clickjacking), no caching of pages that
/// show payment data, and no `Referer` leaking console URLs.
pub const SECURITY_HEADERS: [(&str, &str); 6] = [
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
    ),
    ("cache-control", "no-store"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
];

/// The console's routes, with their full paths (merged into the app's router).
pub fn router(refunds: Arc<dyn actions::OperatorRefunds>) -> Router<AppState> {
    Router::new()
        .route(BASE, get(|| async { Redirect::to("/console/payments") }))
        .route("/console/console.css", get(view::stylesheet))
        .route(
            "/console/login",
            get(session::show_login).post(session::log_in),
        )
        .route("/console/logout", post(session::log_out))
        .route("/console/payments", get(search::search_payments))
        .route("/console/payments/{id}", get(timeline::show_payment))
        .route(
            "/console/payments/{id}/refund",
            post(actions::refund_payment),
        )
        .route(
            "/console/deliveries/{id}/resend",
            post(actions::resend_delivery),
        )
        .route("/console/charts", get(charts::show_charts))
        .route("/console/{*rest}", get(not_found))
        .layer(axum::Extension(refunds))
        .layer(axum::middleware::map_response(with_security_headers))
}

/// Any other console address: an HTML 404, not the API's JSON one.
async fn not_found() -> error::ConsoleError {
    error::ConsoleError::NotFound("no such console page".into())
}

async fn with_security_headers(response: Response) -> Response {
    let mut response = response.into_response();
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    headers.remove(header::SERVER);
    response
}
