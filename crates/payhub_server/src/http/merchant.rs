//! Who is calling an endpoint authenticated by a merchant's API key, and the
//! edge answers of those endpoints, in the [`ApiError`] envelope.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use payhub_store::Merchant;

use super::error::ApiError;
use crate::auth;
use crate::edge::{Dialect, Refusal};
use crate::rate_limit::{Throttled, ThrottledAnswer};
use crate::state::AppState;

/// The merchant a request's API key (`Authorization: Bearer` or Basic)
/// authenticates, after its rate limit.
pub struct BearerMerchant(pub Merchant);

impl FromRequestParts<AppState> for BearerMerchant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let merchant =
            auth::authenticate(state.store.as_ref(), &state.merchants, &parts.headers).await?;
        tracing::Span::current().record("merchant.id", merchant.id.as_str());
        state
            .rate_limits
            .check_merchant(merchant.id.as_str())
            .map_err(ApiError::RateLimited)?;
        Ok(BearerMerchant(merchant))
    }
}

/// Answers to requests refused at the edge (see [`crate::edge`]) in the
/// [`ApiError`] envelope: TMF676, `/v1/deliveries` and the sandbox.
pub struct ApiEdge;

impl Dialect for ApiEdge {
    const BODY_LIMIT: usize = super::MAX_BODY_BYTES;

    fn refuse(refusal: Refusal) -> Response {
        let message = refusal.to_string();
        match refusal {
            Refusal::Path => ApiError::NotFound(message),
            Refusal::QueryTooLong | Refusal::QueryText => ApiError::InvalidQuery(message),
            Refusal::BodyTooLarge(limit) => ApiError::PayloadTooLarge(limit),
            Refusal::BodyUnreadable => ApiError::InvalidJson(message),
            Refusal::ControlCharacter(_) => ApiError::InvalidAttribute(message),
        }
        .into_response()
    }
}

impl ThrottledAnswer for ApiEdge {
    fn throttled(throttled: Throttled) -> Response {
        ApiError::RateLimited(throttled).into_response()
    }
}
