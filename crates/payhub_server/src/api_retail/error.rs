//! The retail dialect's error envelope: `{"errorCode", "errorMessage"}`.
//!
//! Codes 0, 3, 601 and 40002 are seed 003's; the 4000x–4001x codes are
//! payhub's, listed in docs/RETAIL.md. Every answer is HTTP 200 with its code
//! in the body, as the dialect's clients expect, except a failure of payhub
//! itself (HTTP 500, code 40002).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use payhub_app::AppError;
use payhub_core::RefundRejection;

use crate::edge::{Dialect, Refusal, DEFAULT_BODY_LIMIT};
use crate::rate_limit::{Throttled, ThrottledAnswer};

/// Why a retail request was not done. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum RetailError {
    /// 3: the gateway did not answer in time; query the rrn for the outcome.
    #[error("the gateway did not answer in time; query the rrn for the result")]
    GatewayTimeout,
    /// 601: the gateway refused the payment or refund.
    #[error("payment error: {0}")]
    PaymentError(String),
    /// 40001: unknown apiKey, or a sign that does not verify.
    #[error("invalid apiKey or sign")]
    BadSignature,
    /// 40002: payhub itself failed.
    #[error("other error")]
    Internal,
    /// 40003: the timestamp is outside the accepted window.
    #[error("timestamp is outside the accepted window of {0} seconds")]
    StaleTimestamp(u64),
    /// 40004: the same signed request was already received.
    #[error("this signed request was already received; sign each request with a new timestamp")]
    Replayed,
    /// 40005: a mandatory field is missing or empty.
    #[error("mandatory field '{0}' is missing")]
    MissingField(&'static str),
    /// 40006: a field has the wrong type or format.
    #[error("field '{0}' is invalid: {1}")]
    InvalidField(&'static str, String),
    /// 40007: the payment type is unknown or not enabled for the merchant.
    #[error("payment type '{0}' is not available")]
    UnsupportedType(String),
    /// 40007 too: the type is enabled, but no connector account serves it
    /// (production has no simulated gateway to fall back on).
    #[error("payment type '{0}' has no connector: no live connector account serves it for this merchant (an operator adds one with `payhub connector add`)")]
    NoConnector(String),
    /// 40008: the rrn was used before.
    #[error("rrn '{0}' is duplicated")]
    DuplicateRrn(String),
    /// 40009: no sale with that rrn (and type).
    #[error("no transaction with rrn '{0}'")]
    NotFound(String),
    /// 40010: the sale has ended and cannot be canceled.
    #[error("the transaction cannot be canceled: {0}")]
    NotCancelable(String),
    /// 40011: the refund exceeds what is refundable, or the sale is not paid.
    #[error("refund not allowed: {0}")]
    RefundNotAllowed(String),
    /// 40012: the body is not a JSON object.
    #[error("request body is not a JSON object: {0}")]
    NotJson(String),
    /// 40013: a returnUrl or webhookUrl points where payhub may not go.
    #[error("field '{0}' is refused: {1}")]
    UrlRefused(&'static str, String),
    /// 40014: the currency is not supported by the gateway.
    #[error("currency '{0}' is not supported by this payment type")]
    UnsupportedCurrency(String),
    /// 40015: the body (or query string) is larger than payhub reads.
    #[error("request too large: {0}")]
    TooLarge(String),
    /// 40016: a text (field, path or query) holds a control character or is not UTF-8.
    #[error("request refused: {0}")]
    InvalidText(String),
    /// 40017: the client address or the merchant is over its rate limit
    /// (HTTP 429 with `Retry-After`, so HTTP-aware clients back off).
    #[error("{0}")]
    RateLimited(Throttled),
}

impl RetailError {
    /// The dialect's error code.
    pub fn code(&self) -> &'static str {
        match self {
            RetailError::GatewayTimeout => "3",
            RetailError::PaymentError(_) => "601",
            RetailError::BadSignature => "40001",
            RetailError::Internal => "40002",
            RetailError::StaleTimestamp(_) => "40003",
            RetailError::Replayed => "40004",
            RetailError::MissingField(_) => "40005",
            RetailError::InvalidField(..) => "40006",
            RetailError::UnsupportedType(_) | RetailError::NoConnector(_) => "40007",
            RetailError::DuplicateRrn(_) => "40008",
            RetailError::NotFound(_) => "40009",
            RetailError::NotCancelable(_) => "40010",
            RetailError::RefundNotAllowed(_) => "40011",
            RetailError::NotJson(_) => "40012",
            RetailError::UrlRefused(..) => "40013",
            RetailError::UnsupportedCurrency(_) => "40014",
            RetailError::TooLarge(_) => "40015",
            RetailError::InvalidText(_) => "40016",
            RetailError::RateLimited(_) => "40017",
        }
    }
}

impl From<payhub_store::StoreError> for RetailError {
    fn from(error: payhub_store::StoreError) -> Self {
        tracing::error!(error.cause_chain = ?error, "retail request failed in the store");
        RetailError::Internal
    }
}

impl From<AppError> for RetailError {
    /// The retail answer to each use-case outcome, in one place. Outcomes
    /// no retail request can meet (consent, carrier, notifications) would
    /// be a wiring bug: logged, and answered as payhub's own failure.
    fn from(error: AppError) -> Self {
        match error {
            AppError::DuplicateReference(rrn) => RetailError::DuplicateRrn(rrn),
            AppError::NoConnector(kind) => RetailError::NoConnector(kind.code().into()),
            AppError::AlreadyEnded(ended) => RetailError::NotCancelable(format!(
                "the sale has already ended ({}); refund a paid sale instead",
                ended.as_str()
            )),
            AppError::GatewayUnavailable => RetailError::GatewayTimeout,
            AppError::RefundRejected(RefundRejection::ExceedsRefundable { remaining, .. }) => {
                RetailError::RefundNotAllowed(format!(
                    "only {} minor units are still refundable",
                    remaining.amount_minor()
                ))
            }
            AppError::RefundRejected(rejection) => {
                RetailError::RefundNotAllowed(rejection.to_string())
            }
            AppError::Store(error) => error.into(),
            unexpected @ (AppError::UnknownPayment(_)
            | AppError::NotReserved { .. }
            | AppError::Busy
            | AppError::NotWaiting
            | AppError::WrongCode(_)
            | AppError::ConsentInvalid(_)
            | AppError::CarrierUnavailable
            | AppError::BadNotification(_)
            | AppError::AmountRequired) => {
                tracing::error!(error = %unexpected, "retail request met an outcome it cannot answer");
                RetailError::Internal
            }
        }
    }
}

impl IntoResponse for RetailError {
    fn into_response(self) -> Response {
        let status = match self {
            RetailError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            RetailError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::OK,
        };
        let body = json!({"errorCode": self.code(), "errorMessage": self.to_string()});
        let mut response = (status, Json(body)).into_response();
        if let RetailError::RateLimited(throttled) = self {
            throttled.set_retry_after(&mut response);
        }
        response
    }
}

/// The retail dialect's answers to requests refused at the edge (see [`crate::edge`]).
pub struct RetailEdge;

impl Dialect for RetailEdge {
    const BODY_LIMIT: usize = DEFAULT_BODY_LIMIT;

    fn refuse(refusal: Refusal) -> Response {
        let message = refusal.to_string();
        match refusal {
            Refusal::QueryTooLong | Refusal::BodyTooLarge(_) => RetailError::TooLarge(message),
            Refusal::Path | Refusal::QueryText | Refusal::ControlCharacter(_) => {
                RetailError::InvalidText(message)
            }
            Refusal::BodyUnreadable => RetailError::NotJson(message),
        }
        .into_response()
    }
}

impl ThrottledAnswer for RetailEdge {
    fn throttled(throttled: Throttled) -> Response {
        RetailError::RateLimited(throttled).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_documented() {
        let all = [
            RetailError::GatewayTimeout,
            RetailError::PaymentError(String::new()),
            RetailError::BadSignature,
            RetailError::Internal,
            RetailError::StaleTimestamp(300),
            RetailError::Replayed,
            RetailError::MissingField("rrn"),
            RetailError::InvalidField("amt", String::new()),
            RetailError::UnsupportedType(String::new()),
            RetailError::DuplicateRrn(String::new()),
            RetailError::NotFound(String::new()),
            RetailError::NotCancelable(String::new()),
            RetailError::RefundNotAllowed(String::new()),
            RetailError::NotJson(String::new()),
            RetailError::UrlRefused("returnUrl", String::new()),
            RetailError::UnsupportedCurrency(String::new()),
            RetailError::TooLarge(String::new()),
            RetailError::InvalidText(String::new()),
            RetailError::RateLimited(Throttled::after(std::time::Duration::from_secs(1))),
        ];
        let docs = include_str!("../../../../docs/RETAIL.md");
        let mut codes: Vec<&str> = all.iter().map(RetailError::code).collect();
        for code in &codes {
            assert!(
                docs.contains(&format!("| {code} |")),
                "code {code} is not in docs/RETAIL.md"
            );
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }

    /// Every use-case outcome's retail answer, in `AppError::examples()` order.
    #[test]
    fn each_use_case_outcome_has_one_retail_answer() {
        let internal = ("40002", "other error".to_owned());
        let table = [
            internal.clone(),
            ("40008", "rrn 'R-1' is duplicated".into()),
            (
                "40011",
                "refund not allowed: refund currency USD differs from payment currency EUR".into(),
            ),
            (
                "40010",
                "the transaction cannot be canceled: the sale has already ended (succeeded); refund a paid sale instead".into(),
            ),
            internal.clone(),
            internal.clone(),
            internal.clone(),
            internal.clone(),
            internal.clone(),
            ("40007", "payment type 'VMPAY' has no connector: no live connector account serves it for this merchant (an operator adds one with `payhub connector add`)".into()),
            (
                "3",
                "the gateway did not answer in time; query the rrn for the result".into(),
            ),
            internal.clone(),
            internal.clone(),
            internal,
        ];
        // The last example: a refund without the amount a split needs.
        let table: Vec<_> = table
            .into_iter()
            .chain([("40002", "other error".to_owned())])
            .collect();
        let examples = AppError::examples();
        assert_eq!(examples.len(), table.len());
        for (error, (code, message)) in examples.into_iter().zip(table) {
            let answer = RetailError::from(error);
            assert_eq!((answer.code(), answer.to_string()), (code, message));
        }
    }
}
