//! Probes for operators and orchestrators, and the index at `/`. They reveal
//! nothing about any merchant, so they are the only routes that need no
//! credentials.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::state::AppState;

/// `/healthz` (the process answers) and `/readyz` (its database answers too).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => {
            Json(json!({"status": "ready", "database": state.store.backend_name()})).into_response()
        }
        Err(error) => {
            tracing::warn!(error.cause_chain = ?error, "readiness probe: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "database": state.store.backend_name()})),
            )
                .into_response()
        }
    }
}

/// One line of the index at `/`: an API (or page) payhub serves.
#[derive(Clone, Copy, Debug)]
pub struct IndexEntry {
    pub name: &'static str,
    /// Path below the public base URL.
    pub path: &'static str,
    /// Where it is described, relative to the repository.
    pub docs: &'static str,
}

/// `GET /`: what this payhub serves, with absolute URLs, so that a newcomer
/// who opens the address the banner printed finds the way on.
pub fn index_router(entries: &'static [IndexEntry]) -> Router<AppState> {
    Router::new().route(
        "/",
        get(move |State(state): State<AppState>| async move {
            let base = &state.settings.public_base_url;
            let apis: Vec<_> = entries
                .iter()
                .map(
                    |e| json!({"name": e.name, "url": format!("{base}{}", e.path), "docs": e.docs}),
                )
                .collect();
            Json(json!({
                "service": "payhub",
                "version": env!("CARGO_PKG_VERSION"),
                "apis": apis,
                "health": format!("{base}/healthz"),
                "readiness": format!("{base}/readyz"),
            }))
        }),
    )
}
