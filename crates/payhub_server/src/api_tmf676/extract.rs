//! Extractors shared by the TMF676 handlers, rejecting in TMF's error format.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use payhub_store::Merchant;

use super::error::TmfError;
use crate::auth;
use crate::state::AppState;

/// The authenticated merchant of a TMF676 request.
pub struct TmfMerchant(pub Merchant);

impl FromRequestParts<AppState> for TmfMerchant {
    type Rejection = TmfError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, TmfError> {
        let merchant =
            auth::authenticate(state.store.as_ref(), &state.merchants, &parts.headers).await?;
        tracing::Span::current().record("merchant.id", merchant.id.as_str());
        Ok(TmfMerchant(merchant))
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
