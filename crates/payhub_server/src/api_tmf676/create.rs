//! The shape every TMF676 `POST` shares: idempotency around the work, and a
//! `201 Created` with `Location` and the resource.

use std::future::Future;

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use payhub_store::{Merchant, SavedResponse};

use super::error::TmfError;
use crate::idempotency::{self, Admission, IdempotencyScope};
use crate::state::AppState;

/// A created resource's answer.
pub struct Created {
    pub location: String,
    pub body: String,
}

impl Created {
    /// Builds the answer from the resource's absolute URL and representation.
    pub fn new(location: String, resource: &serde_json::Value) -> Self {
        Self {
            location,
            body: resource.to_string(),
        }
    }

    /// The answer as kept under an idempotency key.
    pub fn saved(&self) -> SavedResponse {
        SavedResponse {
            status: StatusCode::CREATED.as_u16(),
            location: Some(self.location.clone()),
            body: self.body.clone(),
        }
    }
}

/// Turns a kept response (first answer or replay) into an HTTP response.
pub fn respond(saved: SavedResponse) -> Response {
    let status = StatusCode::from_u16(saved.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, saved.body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(location) = saved.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, location);
    }
    response
}

/// Runs `work` under the request's idempotency key, if it has one.
///
/// `work` receives the key's scope and must commit [`IdempotencyScope::keep`]
/// with its own transaction when it succeeds; failures are settled here.
pub async fn idempotent_create<F, Fut>(
    state: &AppState,
    merchant: &Merchant,
    headers: &HeaderMap,
    path: &str,
    body: &[u8],
    work: F,
) -> Result<Response, TmfError>
where
    F: FnOnce(Option<IdempotencyScope>) -> Fut,
    Fut: Future<Output = Result<Created, TmfError>>,
{
    let fingerprint = idempotency::fingerprint(&Method::POST, path, body);
    let scope = match idempotency::admit(
        &state.store,
        &state.settings,
        &merchant.id,
        headers,
        &fingerprint,
    )
    .await?
    {
        Admission::Proceed(scope) => scope,
        Admission::Replay(saved) => return Ok(respond(saved)),
    };
    match work(scope.clone()).await {
        Ok(created) => Ok(respond(created.saved())),
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
