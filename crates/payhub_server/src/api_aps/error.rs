//! The APS dialect's error envelope.
//!
//! Seed 001 types `errorResponse` only as `object`, so payhub answers every
//! error with one JSON object: `{"code", "message", "error"}` (plus `field`
//! when one field is at fault), where `code` is a stable machine code listed
//! in docs/APS.md and `error` the HTTP reason phrase. Nothing was changed by a
//! request that got an error.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use payhub_app::AppError;
use payhub_store::{SavedResponse, StoreError};
use serde_json::{json, Value};

use crate::auth::AuthError;
use crate::edge::{Dialect, Refusal, DEFAULT_BODY_LIMIT};
use crate::idempotency::IdempotencyRejection;
use crate::rate_limit::{Throttled, ThrottledAnswer};

/// Why an APS request was not done.
#[derive(Debug, thiserror::Error)]
pub enum ApsError {
    /// 401: no credentials, or not a merchant's API key.
    #[error("{0}")]
    Unauthorized(String),
    /// 404: no such APS resource for this merchant (another merchant's looks the same).
    #[error("no APS resource '{0}'")]
    ResourceNotFound(String),
    /// 400: the body is not a JSON object.
    #[error("the request body is not a JSON object: {0}")]
    InvalidJson(String),
    /// 400: a required field is missing.
    #[error("'{0}' is required")]
    MissingField(&'static str),
    /// 400: a field has the wrong type, format or value.
    #[error("'{0}' is invalid: {1}")]
    InvalidField(String, String),
    /// 400: a URL of `paymentContext` points where payhub may not go.
    #[error("'{0}' is refused: {1}")]
    UrlRefused(String, String),
    /// 400: `paymentIds` is not a comma-separated list of 1 to 100 positive integers.
    #[error("'paymentIds' is invalid: {0}")]
    InvalidPaymentIds(String),
    /// 422: `paymentMethodId` is not a stored method of this account.
    #[error("payment method {0} is not a stored payment method of this account")]
    PaymentMethodNotFound(i64),
    /// 422: the gateway the payment needs is not enabled for the merchant.
    #[error("gateway {0} is not available to this merchant")]
    GatewayUnavailable(String),
    /// 400: the `Idempotency-Key` header is malformed.
    #[error("Idempotency-Key must be 1 to 255 visible ASCII characters")]
    IdempotencyKeyInvalid,
    /// 422: the key was used before with a different request.
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    /// 409: the first request with this key is still running.
    #[error("a request with this Idempotency-Key is still being processed; retry later")]
    IdempotencyInProgress,
    /// 503: the database is unavailable; retry later.
    #[error("payhub is temporarily unavailable; retry later")]
    Unavailable,
    /// 500: payhub failed.
    #[error("{0}")]
    InvalidRequest(String),
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("internal error")]
    Internal,
    /// 429: the client address or the merchant is over its rate limit.
    #[error("{0}")]
    RateLimited(Throttled),
}

impl ApsError {
    /// The stable machine code (docs/APS.md).
    pub fn code(&self) -> &'static str {
        match self {
            ApsError::Unauthorized(_) => "unauthorized",
            ApsError::ResourceNotFound(_) => "resource_not_found",
            ApsError::InvalidJson(_) => "invalid_json",
            ApsError::MissingField(_) => "missing_field",
            ApsError::InvalidField(..) => "invalid_field",
            ApsError::UrlRefused(..) => "url_refused",
            ApsError::InvalidPaymentIds(_) => "invalid_payment_ids",
            ApsError::PaymentMethodNotFound(_) => "payment_method_not_found",
            ApsError::GatewayUnavailable(_) => "gateway_unavailable",
            ApsError::IdempotencyKeyInvalid => "invalid_idempotency_key",
            ApsError::IdempotencyKeyReused => "idempotency_key_reused",
            ApsError::IdempotencyInProgress => "idempotency_request_in_progress",
            ApsError::Unavailable => "service_unavailable",
            ApsError::InvalidRequest(_) => "invalid_request",
            ApsError::PayloadTooLarge(_) => "payload_too_large",
            ApsError::Internal => "internal_error",
            ApsError::RateLimited(_) => "rate_limited",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApsError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApsError::ResourceNotFound(_) => StatusCode::NOT_FOUND,
            ApsError::InvalidJson(_)
            | ApsError::MissingField(_)
            | ApsError::InvalidField(..)
            | ApsError::UrlRefused(..)
            | ApsError::InvalidPaymentIds(_)
            | ApsError::IdempotencyKeyInvalid
            | ApsError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            ApsError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApsError::PaymentMethodNotFound(_)
            | ApsError::GatewayUnavailable(_)
            | ApsError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ApsError::IdempotencyInProgress => StatusCode::CONFLICT,
            ApsError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApsError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ApsError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The field at fault, when one is.
    fn field(&self) -> Option<&str> {
        match self {
            ApsError::MissingField(name) => Some(name),
            ApsError::InvalidField(name, _) | ApsError::UrlRefused(name, _) => Some(name),
            ApsError::InvalidPaymentIds(_) => Some("paymentIds"),
            ApsError::PaymentMethodNotFound(_) => Some("paymentMethodId"),
            _ => None,
        }
    }

    fn body(&self) -> Value {
        let status = self.status();
        let mut body = json!({
            "code": self.code(),
            "message": self.to_string(),
            "error": status.canonical_reason().unwrap_or_default(),
        });
        if let Some(field) = self.field() {
            body["field"] = json!(field);
        }
        body
    }

    /// The answer as kept under an idempotency key.
    pub fn saved_response(&self) -> SavedResponse {
        SavedResponse {
            status: self.status().as_u16(),
            location: None,
            body: self.body().to_string(),
        }
    }
}

impl From<AppError> for ApsError {
    /// The APS answer to each use-case outcome, in one place. APS payments
    /// start their gateway call after answering, so only a missing
    /// connector and the store reach here today; the rest would be a wiring
    /// bug: logged, and answered as payhub's own failure.
    fn from(error: AppError) -> Self {
        match error {
            AppError::NoConnector(kind) => ApsError::GatewayUnavailable(kind.code().into()),
            AppError::Store(error) => error.into(),
            unexpected @ (AppError::UnknownPayment(_)
            | AppError::DuplicateReference(_)
            | AppError::RefundRejected(_)
            | AppError::AlreadyEnded(_)
            | AppError::NotReserved { .. }
            | AppError::Busy
            | AppError::NotWaiting
            | AppError::WrongCode(_)
            | AppError::ConsentInvalid(_)
            | AppError::GatewayUnavailable
            | AppError::CarrierUnavailable
            | AppError::BadNotification(_)
            | AppError::AmountRequired) => {
                tracing::error!(error = %unexpected, "APS request met an outcome it cannot answer");
                ApsError::Internal
            }
        }
    }
}

impl From<StoreError> for ApsError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) | StoreError::WriterStopped => {
                tracing::warn!(error.cause_chain = ?error, "APS request: store unavailable");
                ApsError::Unavailable
            }
            other => {
                tracing::error!(error.cause_chain = ?other, "APS request failed in the store");
                ApsError::Internal
            }
        }
    }
}

impl From<AuthError> for ApsError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Store(error) => error.into(),
            other => ApsError::Unauthorized(other.to_string()),
        }
    }
}

impl From<IdempotencyRejection> for ApsError {
    fn from(rejection: IdempotencyRejection) -> Self {
        match rejection {
            IdempotencyRejection::InvalidKey => ApsError::IdempotencyKeyInvalid,
            IdempotencyRejection::KeyReused => ApsError::IdempotencyKeyReused,
            IdempotencyRejection::InProgress => ApsError::IdempotencyInProgress,
            IdempotencyRejection::Store(error) => error.into(),
        }
    }
}

impl IntoResponse for ApsError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        let headers = response.headers_mut();
        match self {
            ApsError::Unauthorized(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"payhub\""),
                );
            }
            ApsError::Unavailable => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApsError::RateLimited(throttled) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(throttled.retry_after_s()),
                );
            }
            _ => {}
        }
        response
    }
}

/// The APS dialect's answers to requests refused at the edge (see [`crate::edge`]).
pub struct ApsEdge;

impl Dialect for ApsEdge {
    const BODY_LIMIT: usize = DEFAULT_BODY_LIMIT;

    fn refuse(refusal: Refusal) -> Response {
        let message = refusal.to_string();
        match refusal {
            Refusal::BodyTooLarge(limit) => ApsError::PayloadTooLarge(limit),
            Refusal::ControlCharacter(field) => {
                ApsError::InvalidField(field, "holds a control character".into())
            }
            Refusal::BodyUnreadable => ApsError::InvalidJson(message),
            Refusal::Path | Refusal::QueryTooLong | Refusal::QueryText => {
                ApsError::InvalidRequest(message)
            }
        }
        .into_response()
    }
}

impl ThrottledAnswer for ApsEdge {
    fn throttled(throttled: Throttled) -> Response {
        ApsError::RateLimited(throttled).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_status_and_is_documented() {
        let table = [
            (ApsError::Unauthorized(String::new()), 401),
            (ApsError::ResourceNotFound(String::new()), 404),
            (ApsError::InvalidJson(String::new()), 400),
            (ApsError::MissingField("total"), 400),
            (ApsError::InvalidField("total".into(), String::new()), 400),
            (ApsError::UrlRefused("notifyUrl".into(), String::new()), 400),
            (ApsError::InvalidPaymentIds(String::new()), 400),
            (ApsError::PaymentMethodNotFound(1), 422),
            (ApsError::GatewayUnavailable(String::new()), 422),
            (ApsError::IdempotencyKeyInvalid, 400),
            (ApsError::IdempotencyKeyReused, 422),
            (ApsError::IdempotencyInProgress, 409),
            (ApsError::Unavailable, 503),
            (ApsError::InvalidRequest(String::new()), 400),
            (ApsError::PayloadTooLarge(1), 413),
            (ApsError::Internal, 500),
            (
                ApsError::RateLimited(Throttled::after(std::time::Duration::from_secs(1))),
                429,
            ),
        ];
        let docs = include_str!("../../../../docs/APS.md");
        let mut codes = Vec::new();
        for (error, status) in &table {
            assert_eq!(error.status().as_u16(), *status, "{}", error.code());
            let row = format!("| `{}` | {} |", error.code(), status);
            assert!(docs.contains(&row), "docs/APS.md lacks the row {row}");
            codes.push(error.code());
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), table.len());
    }

    /// Every use-case outcome's APS answer, in `AppError::examples()` order.
    #[test]
    fn each_use_case_outcome_has_one_aps_answer() {
        let internal = (500, "internal_error", "internal error".to_owned());
        let table = [
            internal.clone(),
            internal.clone(),
            internal.clone(),
            internal.clone(),
            internal.clone(),
            internal.clone(),
            internal.clone(),
            internal.clone(),
            internal.clone(),
            (
                422,
                "gateway_unavailable",
                "gateway VMPAY is not available to this merchant".into(),
            ),
            internal.clone(),
            internal.clone(),
            internal.clone(),
            (
                503,
                "service_unavailable",
                "payhub is temporarily unavailable; retry later".into(),
            ),
        ];
        // The last example: a refund without the amount a split needs.
        let table: Vec<_> = table
            .into_iter()
            .chain([(500, "internal_error", "internal error".to_owned())])
            .collect();
        let examples = AppError::examples();
        assert_eq!(examples.len(), table.len());
        for (error, (status, code, message)) in examples.into_iter().zip(table) {
            let answer = ApsError::from(error);
            assert_eq!(
                (answer.status().as_u16(), answer.code(), answer.to_string()),
                (status, code, message)
            );
        }
    }
}
