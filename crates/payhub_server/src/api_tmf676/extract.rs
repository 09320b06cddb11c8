//! Extractors shared by the TMF676 handlers, rejecting in TMF's error format.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use payhub_store::Merchant;

use super::error::TmfError;
use crate::auth;
use crate::edge::{Dialect, Refusal};
use crate::rate_limit::{Throttled, ThrottledAnswer};
use crate::state::AppState;

/// The authenticated merchant of a TMF676 request.
pub struct TmfMerchant(pub Merchant);

impl FromRequestParts<AppState> for TmfMerchant {
    type Rejection = TmfError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, TmfError> {
        let merchant =
            auth::authenticate(state.store.as_ref(), &state.merchants, &parts.headers).await?;
        tracing::Span::current().record("merchant.id", merchant.id.as_str());
        state
            .rate_limits
            .check_merchant(merchant.id.as_str())
            .map_err(TmfError::RateLimited)?;
        Ok(TmfMerchant(merchant))
    }
}

/// TMF676's answers to requests refused at the edge (see [`crate::edge`]);
/// `/v1/deliveries` and the sandbox answer in the same envelope.
pub struct TmfEdge;

impl Dialect for TmfEdge {
    const BODY_LIMIT: usize = super::MAX_BODY_BYTES;

    fn refuse(refusal: Refusal) -> Response {
        let message = refusal.to_string();
        match refusal {
            Refusal::Path => TmfError::NotFound(message),
            Refusal::QueryTooLong | Refusal::QueryText => TmfError::InvalidQuery(message),
            Refusal::BodyTooLarge(limit) => TmfError::PayloadTooLarge(limit),
            Refusal::BodyUnreadable => TmfError::InvalidJson(message),
            Refusal::ControlCharacter(_) => TmfError::InvalidAttribute(message),
        }
        .into_response()
    }
}

impl ThrottledAnswer for TmfEdge {
    fn throttled(throttled: Throttled) -> Response {
        TmfError::RateLimited(throttled).into_response()
    }
}

/// The request body, or the TMF error for one that could not be read.
pub fn body(result: Result<Bytes, BytesRejection>) -> Result<Bytes, TmfError> {
    result.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            TmfError::PayloadTooLarge(super::MAX_BODY_BYTES)
        } else {
            TmfError::InvalidJson(rejection.body_text())
        }
    })
}
