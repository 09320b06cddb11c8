//! The telco dialect's one answer shape: `{resultCode, resultDesc, transactionId}`.
//!
//! 1103 `CONSENT_REQUESTED` is seed 004's; every other code is payhub's and is
//! listed in docs/TELCO.md: 11xx name a transaction's state, 2xxx a refused
//! request (nothing was changed), 2099 a failure of payhub itself.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use payhub_app::AppError;
use payhub_core::TelcoState;
use serde_json::json;

use crate::edge::{Dialect, Refusal, DEFAULT_BODY_LIMIT};
use crate::rate_limit::{Throttled, ThrottledAnswer};

/// The code and name a transaction's state is reported with.
pub fn state_result(state: TelcoState) -> (u32, &'static str) {
    match state {
        TelcoState::ConsentRequested => (1103, "CONSENT_REQUESTED"),
        TelcoState::AwaitingCard => (1104, "AWAITING_CARD_PAYMENT"),
        TelcoState::Reserved => (1105, "RESERVED"),
        TelcoState::Committed => (1106, "COMMITTED"),
        TelcoState::Charged => (1107, "CHARGED"),
        TelcoState::Released => (1108, "RELEASED"),
        TelcoState::Rejected => (1109, "CONSENT_REJECTED"),
        TelcoState::Expired => (1110, "CONSENT_EXPIRED"),
        TelcoState::Failed => (1111, "PAYMENT_FAILED"),
        TelcoState::SmsFailed => (1112, "SMS_FAILED"),
    }
}

/// An answer about a transaction in `state`.
pub fn state_answer(state: TelcoState, transaction_id: &str) -> Response {
    let (code, desc) = state_result(state);
    Json(json!({"resultCode": code, "resultDesc": desc, "transactionId": transaction_id}))
        .into_response()
}

/// Why a telco request was refused. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum TelcoError {
    #[error("UNAUTHORIZED: send HTTP Basic credentials (service id and API key)")]
    Unauthorized,
    #[error("INVALID_REQUEST: {0}")]
    InvalidRequest(String),
    #[error("MISSING_FIELD: '{0}' is required")]
    MissingField(&'static str),
    #[error("INVALID_FIELD: '{0}' {1}")]
    InvalidField(&'static str, String),
    #[error("DUPLICATE_TRANSACTION_ID: transactionId '{0}' was already used")]
    DuplicateTransaction(String),
    #[error("INVALID_MSISDN: '{0}' is not a subscriber number (10 to 15 digits with the country code, e.g. 905321234567)")]
    InvalidMsisdn(String),
    #[error("INVALID_CHANNEL: '{0}' is not a channel (10 reserve & commit, 11 direct debit, 40 credit card, 50 in-app purchase)")]
    InvalidChannel(String),
    #[error("INVALID_ITEM_LIST: {0}")]
    InvalidItemList(String),
    #[error("UNKNOWN_PRODUCT: item id '{0}' is not in the service's catalogue")]
    UnknownProduct(String),
    #[error("INVALID_COUNT: item '{0}' has count {1}; count must be a whole number of at least 1")]
    InvalidCount(String, String),
    #[error("TRANSACTION_NOT_FOUND: no transaction '{0}'")]
    NotFound(String),
    #[error("INVALID_STATE: {0}")]
    InvalidState(String),
    #[error("REQUEST_TOO_LARGE: {0}")]
    TooLarge(String),
    #[error("INTERNAL_ERROR: payhub could not complete the request; it changed nothing and it is safe to retry")]
    Internal,
    #[error("RATE_LIMITED: {0}")]
    RateLimited(Throttled),
}

impl TelcoError {
    pub fn code(&self) -> u32 {
        match self {
            TelcoError::Unauthorized => 2001,
            TelcoError::InvalidRequest(_) => 2002,
            TelcoError::MissingField(_) => 2003,
            TelcoError::InvalidField(..) => 2004,
            TelcoError::DuplicateTransaction(_) => 2005,
            TelcoError::InvalidMsisdn(_) => 2006,
            TelcoError::InvalidChannel(_) => 2007,
            TelcoError::InvalidItemList(_) => 2008,
            TelcoError::UnknownProduct(_) => 2009,
            TelcoError::InvalidCount(..) => 2010,
            TelcoError::NotFound(_) => 2011,
            TelcoError::InvalidState(_) => 2012,
            TelcoError::TooLarge(_) => 2013,
            TelcoError::RateLimited(_) => 2014,
            TelcoError::Internal => 2099,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            TelcoError::Unauthorized => StatusCode::UNAUTHORIZED,
            TelcoError::DuplicateTransaction(_) | TelcoError::InvalidState(_) => {
                StatusCode::CONFLICT
            }
            TelcoError::NotFound(_) => StatusCode::NOT_FOUND,
            TelcoError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            TelcoError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            TelcoError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The error as the dialect answers it, naming the request's transactionId.
    pub fn answer(self, transaction_id: &str) -> Response {
        let body = json!({
            "resultCode": self.code(),
            "resultDesc": self.to_string(),
            "transactionId": transaction_id,
        });
        let mut response = (self.status(), Json(body)).into_response();
        if let TelcoError::RateLimited(throttled) = self {
            throttled.set_retry_after(&mut response);
        }
        response
    }
}

impl From<payhub_store::StoreError> for TelcoError {
    fn from(error: payhub_store::StoreError) -> Self {
        tracing::error!(error.cause_chain = ?error, "telco request failed in the store");
        TelcoError::Internal
    }
}

impl From<AppError> for TelcoError {
    /// The telco answer to each use-case outcome, in one place. Outcomes
    /// no telco API request can meet (gateway steps, refunds, the consent
    /// page's own) would be a wiring bug: logged, and answered as payhub's
    /// own failure. A silent carrier is one too, as the dialect has no code
    /// for it; nothing was changed, so retrying is safe.
    fn from(error: AppError) -> Self {
        match error {
            AppError::DuplicateReference(id) => TelcoError::DuplicateTransaction(id),
            AppError::NotReserved { state, commit } => TelcoError::InvalidState(format!(
                "only a reserved transaction can be {}; this one is {}",
                if commit { "committed" } else { "released" },
                state_result(state).1
            )),
            AppError::Busy => TelcoError::InvalidState(
                "another commit or release of this transaction is under way".into(),
            ),
            AppError::CarrierUnavailable => TelcoError::Internal,
            AppError::Store(error) => error.into(),
            unexpected @ (AppError::UnknownPayment(_)
            | AppError::RefundRejected(_)
            | AppError::AlreadyEnded(_)
            | AppError::NotWaiting
            | AppError::WrongCode(_)
            | AppError::ConsentInvalid(_)
            | AppError::NoConnector(_)
            | AppError::GatewayUnavailable
            | AppError::BadNotification(_)
            | AppError::AmountRequired) => {
                tracing::error!(error = %unexpected, "telco request met an outcome it cannot answer");
                TelcoError::Internal
            }
        }
    }
}

/// The telco dialect's answers to requests refused at the edge (see
/// [`crate::edge`]); no transaction id was read yet, so it is empty.
pub struct TelcoEdge;

impl Dialect for TelcoEdge {
    const BODY_LIMIT: usize = DEFAULT_BODY_LIMIT;

    fn refuse(refusal: Refusal) -> Response {
        let message = refusal.to_string();
        match refusal {
            Refusal::QueryTooLong | Refusal::BodyTooLarge(_) => TelcoError::TooLarge(message),
            Refusal::Path
            | Refusal::QueryText
            | Refusal::ControlCharacter(_)
            | Refusal::BodyUnreadable => TelcoError::InvalidRequest(message),
        }
        .answer("")
    }
}

impl ThrottledAnswer for TelcoEdge {
    fn throttled(throttled: Throttled) -> Response {
        TelcoError::RateLimited(throttled).answer("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_distinct_and_documented() {
        let errors = [
            TelcoError::Unauthorized,
            TelcoError::InvalidRequest(String::new()),
            TelcoError::MissingField("msisdn"),
            TelcoError::InvalidField("x", String::new()),
            TelcoError::DuplicateTransaction(String::new()),
            TelcoError::InvalidMsisdn(String::new()),
            TelcoError::InvalidChannel(String::new()),
            TelcoError::InvalidItemList(String::new()),
            TelcoError::UnknownProduct(String::new()),
            TelcoError::InvalidCount(String::new(), String::new()),
            TelcoError::NotFound(String::new()),
            TelcoError::InvalidState(String::new()),
            TelcoError::TooLarge(String::new()),
            TelcoError::RateLimited(Throttled::after(std::time::Duration::from_secs(1))),
            TelcoError::Internal,
        ];
        let mut codes: Vec<u32> = errors.iter().map(TelcoError::code).collect();
        codes.extend(TelcoState::ALL.map(|s| state_result(s).0));
        let docs = include_str!("../../../../docs/TELCO.md");
        for code in &codes {
            assert!(
                docs.contains(&format!("| {code} |")),
                "{code} is not in docs/TELCO.md"
            );
        }
        let count = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), count);
    }

    /// Every use-case outcome's telco answer, in `AppError::examples()` order.
    #[test]
    fn each_use_case_outcome_has_one_telco_answer() {
        let internal = (2099, TelcoError::Internal.to_string());
        let table = [
            internal.clone(),
            (
                2005,
                "DUPLICATE_TRANSACTION_ID: transactionId 'R-1' was already used".into(),
            ),
            internal.clone(),
            internal.clone(),
            (
                2012,
                "INVALID_STATE: only a reserved transaction can be committed; this one is COMMITTED"
                    .into(),
            ),
            (
                2012,
                "INVALID_STATE: another commit or release of this transaction is under way".into(),
            ),
            internal.clone(),
            internal.clone(),
            internal.clone(),
            internal.clone(),
            internal.clone(),
            internal.clone(),
            internal.clone(),
            internal,
        ];
        // The last example: a refund without the amount a split needs.
        let table: Vec<_> = table
            .into_iter()
            .chain([(2099, TelcoError::Internal.to_string())])
            .collect();
        let examples = AppError::examples();
        assert_eq!(examples.len(), table.len());
        for (error, (code, message)) in examples.into_iter().zip(table) {
            let answer = TelcoError::from(error);
            assert_eq!((answer.code(), answer.to_string()), (code, message));
        }
    }
}
