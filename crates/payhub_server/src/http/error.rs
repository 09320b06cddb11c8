//! TMF630's `Error` envelope and the one mapping from every failure into it.
//!
//! Every error body is `code`, `reason`, `message`, `status` and `@type`.
//! TMF676 answers in it (it is TM Forum's common envelope), and so do the
//! operator endpoints (`/v1/deliveries`, the sandbox) and unknown routes,
//! which adopted it; it lives here so that none of them depends on the TMF676
//! dialect. The codes are stable and listed in `docs/ERRORS.md`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use payhub_app::AppError;
use payhub_core::RefundRejection;
use payhub_store::{InsertRefundError, SavedResponse, StoreError};
use serde_json::json;

use crate::auth::AuthError;
use crate::idempotency::IdempotencyRejection;
use crate::rate_limit::Throttled;

/// A failure answered in TMF's error format.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
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

impl ApiError {
    /// HTTP status, machine code and short reason of each error.
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use IdempotencyRejection as I;
        match self {
            ApiError::InvalidJson(_) => (
                StatusCode::BAD_REQUEST,
                "invalid_json",
                "Request body is not a JSON object",
            ),
            ApiError::InvalidAttribute(_) => (
                StatusCode::BAD_REQUEST,
                "invalid_attribute",
                "Invalid attribute",
            ),
            ApiError::InvalidQuery(_) => (
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "Invalid query parameter",
            ),
            ApiError::PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Request body too large",
            ),
            ApiError::Unauthenticated(_) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
            ),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", "Resource not found"),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed",
            ),
            ApiError::Idempotency(I::InvalidKey) => (
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                "Invalid Idempotency-Key",
            ),
            ApiError::Idempotency(I::KeyReused) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "Idempotency-Key reused",
            ),
            ApiError::Idempotency(I::InProgress) => (
                StatusCode::CONFLICT,
                "idempotency_request_in_progress",
                "Request in progress",
            ),
            ApiError::Idempotency(I::Store(e)) => store_parts(e),
            ApiError::RefundRejected(r) => match r {
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
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "Service unavailable",
            ),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::RateLimited(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests",
            ),
            ApiError::Internal => (
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
        | StoreError::Invariant(_)
        | StoreError::Other(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal error",
        ),
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        // Logged once here, at the boundary, with its cause chain; the client sees no internals.
        match error {
            StoreError::Unavailable(_) | StoreError::WriterStopped => {
                tracing::warn!(error.cause_chain = ?error, "database unavailable");
                ApiError::Unavailable
            }
            StoreError::IdCollision
            | StoreError::DuplicateReference
            | StoreError::Corrupt(_)
            | StoreError::Invariant(_)
            | StoreError::Other(_) => {
                tracing::error!(error.cause_chain = ?error, "storage failure");
                ApiError::Internal
            }
        }
    }
}

impl From<AppError> for ApiError {
    /// The TMF676 and operator answer to each use-case outcome, in one
    /// place: a refused refund is TMF's refund refusal, a state that does
    /// not allow the request a conflict, a silent gateway or carrier a 503
    /// (the outcome is being checked; asking again is safe). The consent
    /// page's and notifications' own outcomes would be a wiring bug here:
    /// logged, and answered as payhub's own failure.
    fn from(error: AppError) -> Self {
        match error {
            AppError::UnknownPayment(Some(id)) => {
                ApiError::NotFound(format!("no payment {id} at its gateway"))
            }
            AppError::UnknownPayment(None) => {
                ApiError::NotFound("no such payment at its gateway".into())
            }
            AppError::RefundRejected(rejection) => ApiError::RefundRejected(rejection),
            // Only a refund meets a taken reference here: its correlatorId
            // is already a retail rrn (the name of a refund of a retail sale).
            AppError::DuplicateReference(_) => ApiError::Conflict(
                "the refund's correlatorId is already the rrn of another sale or refund \
                 of the retail dialect"
                    .into(),
            ),
            AppError::AmountRequired => ApiError::InvalidAttribute(
                "'totalAmount' is required to refund an APS payment".into(),
            ),
            conflict @ (AppError::AlreadyEnded(_)
            | AppError::NotReserved { .. }
            | AppError::Busy
            | AppError::NotWaiting) => ApiError::Conflict(conflict.to_string()),
            AppError::GatewayUnavailable | AppError::CarrierUnavailable => ApiError::Unavailable,
            AppError::Store(error) => error.into(),
            unexpected @ (AppError::WrongCode(_)
            | AppError::ConsentInvalid(_)
            | AppError::NoConnector(_)
            | AppError::BadNotification(_)) => {
                tracing::error!(error = %unexpected, "request met an outcome it cannot answer");
                ApiError::Internal
            }
        }
    }
}

impl From<InsertRefundError> for ApiError {
    fn from(error: InsertRefundError) -> Self {
        match error {
            InsertRefundError::Rejected(rejection) => ApiError::RefundRejected(rejection),
            InsertRefundError::Store(store) => store.into(),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Store(store) => store.into(),
            other => ApiError::Unauthenticated(other),
        }
    }
}

impl From<IdempotencyRejection> for ApiError {
    fn from(error: IdempotencyRejection) -> Self {
        match error {
            IdempotencyRejection::Store(store) => store.into(),
            other => ApiError::Idempotency(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, _, _) = self.parts();
        let mut response = (status, axum::Json(self.body())).into_response();
        let headers = response.headers_mut();
        match self {
            ApiError::Unauthenticated(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer, Basic realm=\"payhub\""),
                );
            }
            ApiError::Unavailable | ApiError::Idempotency(IdempotencyRejection::InProgress) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::RateLimited(throttled) => {
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
        let table: Vec<(ApiError, u16, &str)> = vec![
            (ApiError::InvalidJson("x".into()), 400, "invalid_json"),
            (
                ApiError::InvalidAttribute("x".into()),
                400,
                "invalid_attribute",
            ),
            (ApiError::InvalidQuery("x".into()), 400, "invalid_query"),
            (ApiError::PayloadTooLarge(1), 413, "payload_too_large"),
            (
                ApiError::Unauthenticated(AuthError::Missing),
                401,
                "unauthorized",
            ),
            (ApiError::NotFound("x".into()), 404, "not_found"),
            (ApiError::MethodNotAllowed, 405, "method_not_allowed"),
            (
                ApiError::Idempotency(IdempotencyRejection::InvalidKey),
                400,
                "invalid_idempotency_key",
            ),
            (
                ApiError::Idempotency(IdempotencyRejection::KeyReused),
                422,
                "idempotency_key_reused",
            ),
            (
                ApiError::Idempotency(IdempotencyRejection::InProgress),
                409,
                "idempotency_request_in_progress",
            ),
            (
                ApiError::RefundRejected(RefundRejection::PaymentNotFound(pid)),
                422,
                "payment_not_found",
            ),
            (
                ApiError::RefundRejected(RefundRejection::PaymentNotRefundable {
                    payment: pid,
                    status: Status::Failed,
                }),
                422,
                "payment_not_refundable",
            ),
            (
                ApiError::RefundRejected(RefundRejection::CurrencyMismatch {
                    payment: "USD".into(),
                    refund: "EUR".into(),
                }),
                422,
                "currency_mismatch",
            ),
            (
                ApiError::RefundRejected(RefundRejection::ExceedsRefundable {
                    requested: one,
                    remaining: one,
                }),
                422,
                "refund_exceeds_payment",
            ),
            (ApiError::Conflict("x".into()), 409, "conflict"),
            (ApiError::Unavailable, 503, "service_unavailable"),
            (
                ApiError::RateLimited(Throttled::after(std::time::Duration::from_secs(1))),
                429,
                "rate_limited",
            ),
            (ApiError::Internal, 500, "internal_error"),
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

    /// Every use-case outcome's TMF676 and operator answer, in
    /// `AppError::examples()` order.
    #[test]
    fn each_use_case_outcome_has_one_api_answer() {
        let internal = (500, "internal_error", "internal error".to_owned());
        let conflict = |message: &str| (409, "conflict", message.to_owned());
        let table = [
            (
                404,
                "not_found",
                "no payment 819613055 at its gateway".to_owned(),
            ),
            conflict(
                "the refund's correlatorId is already the rrn of another sale or refund of the retail dialect",
            ),
            (
                422,
                "currency_mismatch",
                "refund currency USD differs from payment currency EUR".into(),
            ),
            conflict("the payment has already ended (succeeded)"),
            conflict("the transaction is Committed, not reserved"),
            conflict("another commit or release of this transaction is under way"),
            conflict("the payment is not waiting for this step"),
            internal.clone(),
            internal.clone(),
            internal.clone(),
            (
                503,
                "service_unavailable",
                "the service is temporarily unavailable; retry later".into(),
            ),
            (
                503,
                "service_unavailable",
                "the service is temporarily unavailable; retry later".into(),
            ),
            internal,
            (
                503,
                "service_unavailable",
                "the service is temporarily unavailable; retry later".into(),
            ),
        ];
        // The last example: a refund without the amount a split needs.
        let table: Vec<_> = table
            .into_iter()
            .chain([(
                400,
                "invalid_attribute",
                "'totalAmount' is required to refund an APS payment".to_owned(),
            )])
            .collect();
        let examples = AppError::examples();
        assert_eq!(examples.len(), table.len());
        for (error, (status, code, message)) in examples.into_iter().zip(table) {
            let answer = ApiError::from(error);
            let (found, found_code, _) = answer.parts();
            assert_eq!(
                (found.as_u16(), found_code, answer.to_string()),
                (status, code, message)
            );
        }
    }
}
