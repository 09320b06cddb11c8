//! TMF676's error envelope and the one mapping from every failure into it.
//!
//! Every error body is TMF630's `Error`: `code`, `reason`, `message`, `status`
//! and `@type`. The codes are stable and listed in `docs/ERRORS.md`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use payhub_core::RefundRejection;
use payhub_store::{InsertRefundError, SavedResponse, StoreError};
use serde_json::json;

use crate::auth::AuthError;
use crate::idempotency::IdempotencyRejection;
use crate::rate_limit::Throttled;

/// A failure answered in TMF's error format.
#[derive(Debug, thiserror::Error)]
pub enum TmfError {
    #[error("{0}")]
    InvalidJson(String),
    #[error("{0}")]
    InvalidAttribute(String),
    #[error("{0}")]
    InvalidQuery(String),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error(transparent)]
    Unauthenticated(AuthError),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed on this resource")]
    MethodNotAllowed,
    #[error(transparent)]
    Idempotency(IdempotencyRejection),
    #[error(transparent)]
    RefundRejected(RefundRejection),
    /// The resource is not in a state that allows the request.
    #[error("{0}")]
    Conflict(String),
    #[error("the service is temporarily unavailable; retry later")]
    Unavailable,
    /// The client address or the merchant is over its rate limit.
    #[error("{0}")]
    RateLimited(Throttled),
    #[error("internal error")]
    Internal,
}

impl TmfError {
    /// HTTP status, machine code and short reason of each error.
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use IdempotencyRejection as I;
        match self {
            TmfError::InvalidJson(_) => (
                StatusCode::BAD_REQUEST,
                "invalid_json",
                "Request body is not a JSON object",
            ),
            TmfError::InvalidAttribute(_) => (
                StatusCode::BAD_REQUEST,
                "invalid_attribute",
                "Invalid attribute",
            ),
            TmfError::InvalidQuery(_) => (
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "Invalid query parameter",
            ),
            TmfError::PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Request body too large",
            ),
            TmfError::Unauthenticated(_) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
            ),
            TmfError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", "Resource not found"),
            TmfError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed",
            ),
            TmfError::Idempotency(I::InvalidKey) => (
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                "Invalid Idempotency-Key",
            ),
            TmfError::Idempotency(I::KeyReused) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "Idempotency-Key reused",
            ),
            TmfError::Idempotency(I::InProgress) => (
                StatusCode::CONFLICT,
                "idempotency_request_in_progress",
                "Request in progress",
            ),
            TmfError::Idempotency(I::Store(e)) => store_parts(e),
            TmfError::RefundRejected(r) => match r {
                RefundRejection::PaymentNotFound(_) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "payment_not_found",
                    "Referenced payment not found",
                ),
                RefundRejection::PaymentNotRefundable { .. } => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "payment_not_refundable",
                    "Payment cannot be refunded",
                ),
                RefundRejection::CurrencyMismatch { .. } => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "currency_mismatch",
                    "Refund currency differs from payment",
                ),
                RefundRejection::ExceedsRefundable { .. } => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "refund_exceeds_payment",
                    "Refund exceeds refundable amount",
                ),
            },
            TmfError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "Service unavailable",
            ),
            TmfError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            TmfError::RateLimited(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests",
            ),
            TmfError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Internal error",
            ),
        }
    }

    /// The response as it is kept under an idempotency key.
    pub fn saved_response(&self) -> SavedResponse {
        let (status, _, _) = self.parts();
        SavedResponse {
            status: status.as_u16(),
            location: None,
            body: self.body().to_string(),
        }
    }

    fn body(&self) -> serde_json::Value {
        let (status, code, reason) = self.parts();
        json!({
            "code": code,
            "reason": reason,
            "message": self.to_string(),
            "status": status.as_u16().to_string(),
            "@type": "Error",
        })
    }
}

fn store_parts(error: &StoreError) -> (StatusCode, &'static str, &'static str) {
    match error {
        StoreError::Unavailable(_) | StoreError::WriterStopped => (
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "Service unavailable",
        ),
        StoreError::IdCollision
        | StoreError::DuplicateReference
        | StoreError::Corrupt(_)
        | StoreError::Other(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal error",
        ),
    }
}

impl From<StoreError> for TmfError {
    fn from(error: StoreError) -> Self {
        // Logged once here, at the boundary, with its cause chain; the client sees no internals.
        match error {
            StoreError::Unavailable(_) | StoreError::WriterStopped => {
                tracing::warn!(error.cause_chain = ?error, "database unavailable");
                TmfError::Unavailable
            }
            StoreError::IdCollision
            | StoreError::DuplicateReference
            | StoreError::Corrupt(_)
            | StoreError::Other(_) => {
                tracing::error!(error.cause_chain = ?error, "storage failure");
                TmfError::Internal
            }
        }
    }
}

impl From<InsertRefundError> for TmfError {
    fn from(error: InsertRefundError) -> Self {
        match error {
            InsertRefundError::Rejected(rejection) => TmfError::RefundRejected(rejection),
            InsertRefundError::Store(store) => store.into(),
        }
    }
}

impl From<AuthError> for TmfError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Store(store) => store.into(),
            other => TmfError::Unauthenticated(other),
        }
    }
}

impl From<IdempotencyRejection> for TmfError {
    fn from(error: IdempotencyRejection) -> Self {
        match error {
            IdempotencyRejection::Store(store) => store.into(),
            other => TmfError::Idempotency(other),
        }
    }
}

impl IntoResponse for TmfError {
    fn into_response(self) -> Response {
        let (status, _, _) = self.parts();
        let mut response = (status, axum::Json(self.body())).into_response();
        let headers = response.headers_mut();
        match self {
            TmfError::Unauthenticated(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer, Basic realm=\"payhub\""),
                );
            }
            TmfError::Unavailable | TmfError::Idempotency(IdempotencyRejection::InProgress) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            TmfError::RateLimited(throttled) => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use payhub_core::{Currency, Money, PaymentId, Status};

    /// Every variant maps to the status and code documented in docs/ERRORS.md.
    #[test]
    fn every_error_has_its_documented_status_and_code() {
        let usd = Currency::parse("USD").unwrap_or_else(|e| unreachable!("{e}"));
        let one = Money::from_minor(1, usd).unwrap_or_else(|e| unreachable!("{e}"));
        let pid = PaymentId::from_i64(1).unwrap_or_else(|| unreachable!());
        let table: Vec<(TmfError, u16, &str)> = vec![
            (TmfError::InvalidJson("x".into()), 400, "invalid_json"),
            (
                TmfError::InvalidAttribute("x".into()),
                400,
                "invalid_attribute",
            ),
            (TmfError::InvalidQuery("x".into()), 400, "invalid_query"),
            (TmfError::PayloadTooLarge(1), 413, "payload_too_large"),
            (
                TmfError::Unauthenticated(AuthError::Missing),
                401,
                "unauthorized",
            ),
            (TmfError::NotFound("x".into()), 404, "not_found"),
            (TmfError::MethodNotAllowed, 405, "method_not_allowed"),
            (
                TmfError::Idempotency(IdempotencyRejection::InvalidKey),
                400,
                "invalid_idempotency_key",
            ),
            (
                TmfError::Idempotency(IdempotencyRejection::KeyReused),
                422,
                "idempotency_key_reused",
            ),
            (
                TmfError::Idempotency(IdempotencyRejection::InProgress),
                409,
                "idempotency_request_in_progress",
            ),
            (
                TmfError::RefundRejected(RefundRejection::PaymentNotFound(pid)),
                422,
                "payment_not_found",
            ),
            (
                TmfError::RefundRejected(RefundRejection::PaymentNotRefundable {
                    payment: pid,
                    status: Status::Failed,
                }),
                422,
                "payment_not_refundable",
            ),
            (
                TmfError::RefundRejected(RefundRejection::CurrencyMismatch {
                    payment: "USD".into(),
                    refund: "EUR".into(),
                }),
                422,
                "currency_mismatch",
            ),
            (
                TmfError::RefundRejected(RefundRejection::ExceedsRefundable {
                    requested: one,
                    remaining: one,
                }),
                422,
                "refund_exceeds_payment",
            ),
            (TmfError::Conflict("x".into()), 409, "conflict"),
            (TmfError::Unavailable, 503, "service_unavailable"),
            (
                TmfError::RateLimited(Throttled::after(std::time::Duration::from_secs(1))),
                429,
                "rate_limited",
            ),
            (TmfError::Internal, 500, "internal_error"),
        ];
        for (error, status, code) in table {
            let body = error.body();
            assert_eq!(error.parts().0.as_u16(), status, "{error:?}");
            assert_eq!(body["code"], code, "{error:?}");
            assert_eq!(body["status"], status.to_string());
            assert_eq!(body["@type"], "Error");
            assert!(body["reason"].is_string() && body["message"].is_string());
        }
    }
}
