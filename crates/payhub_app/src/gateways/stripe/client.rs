//! Calls to Stripe's API: form-encoded requests with the secret key as a
//! bearer token and a pinned `Stripe-Version`, `Idempotency-Key` on
//! creates, and Stripe's answers sorted into what payhub can act on.

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use super::wire::{ErrorBody, ErrorObject};
use super::API_VERSION;
use crate::gateways::connector::GatewayError;

/// A form body: Stripe's bracketed keys (`metadata[payhub_payment_id]`),
/// in the order they are sent.
pub type Form = Vec<(String, String)>;

/// Why a call gave no object.
#[derive(Debug)]
pub enum CallError {
    /// No answer, a 5xx, a 409 (a concurrent request with the same key) or
    /// a 429: the request may or may not have been acted on.
    NoAnswer,
    /// Stripe answered an error object.
    Api {
        status: StatusCode,
        error: ErrorObject,
    },
}

impl CallError {
    /// What a call that failed means to payhub, when no answer-specific
    /// reading applies: a missing object (404) is `NotFound`, any other error
    /// answer a refusal (nothing happened at Stripe).
    pub fn into_gateway_error(self) -> GatewayError {
        match self {
            CallError::NoAnswer => GatewayError::Timeout,
            CallError::Api { status, error } => {
                // A 404 is the object asked for missing; a 400
                // `resource_missing` is a parameter naming a missing object
                // (a stored PaymentMethod gone), a refusal of the request.
                if status == StatusCode::NOT_FOUND {
                    GatewayError::NotFound
                } else {
                    GatewayError::Rejected {
                        code: error.best_code(),
                        message: error.text(),
                    }
                }
            }
        }
    }
}

/// Stripe's API for one account.
pub struct Api {
    base: String,
    secret_key: SecretString,
    http: reqwest::Client,
}

impl Api {
    pub fn new(base: &Url, secret_key: SecretString, http: reqwest::Client) -> Api {
        Api {
            base: base.as_str().trim_end_matches('/').to_owned(),
            secret_key,
            http,
        }
    }

    /// `POST {path}` with `form`, under `idempotency_key` when given.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &Form,
        idempotency_key: Option<&str>,
    ) -> Result<T, CallError> {
        let body = serde_urlencoded::to_string(form).map_err(|_| CallError::NoAnswer)?;
        let mut request = self
            .request(Method::POST, path)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        Self::answer(request).await
    }

    /// `GET {path}?{query}`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, query: &Form) -> Result<T, CallError> {
        Self::answer(self.request(Method::GET, path).query(query)).await
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.secret_key.expose_secret())
            .header("Stripe-Version", API_VERSION)
    }

    async fn answer<T: DeserializeOwned>(request: reqwest::RequestBuilder) -> Result<T, CallError> {
        // A request that never got an answer (timeout, refused connection,
        // cut body) may have been acted on: the outcome is unknown.
        let response = request.send().await.map_err(|_| CallError::NoAnswer)?;
        let status = response.status();
        let body = response.bytes().await.map_err(|_| CallError::NoAnswer)?;
        if status.is_success() {
            // A 2xx that does not read as the object is not an answer to act on.
            return serde_json::from_slice(&body).map_err(|_| CallError::NoAnswer);
        }
        if status.is_server_error()
            || status == StatusCode::CONFLICT
            || status == StatusCode::TOO_MANY_REQUESTS
        {
            return Err(CallError::NoAnswer);
        }
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(body) => Err(CallError::Api {
                status,
                error: body.error,
            }),
            Err(_) => Err(CallError::NoAnswer),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn api(status: u16, code: Option<&str>, decline_code: Option<&str>) -> CallError {
        CallError::Api {
            status: StatusCode::from_u16(status).unwrap(),
            error: ErrorObject {
                kind: "invalid_request_error".into(),
                code: code.map(str::to_owned),
                decline_code: decline_code.map(str::to_owned),
                message: Some("message".into()),
                payment_intent: None,
            },
        }
    }

    fn rejected(code: &str) -> GatewayError {
        GatewayError::Rejected {
            code: code.into(),
            message: "message".into(),
        }
    }

    #[test]
    fn errors_map_as_documented() {
        let table = [
            (CallError::NoAnswer, GatewayError::Timeout),
            (
                api(404, Some("resource_missing"), None),
                GatewayError::NotFound,
            ),
            (
                api(400, Some("resource_missing"), None),
                rejected("resource_missing"),
            ),
            (
                api(400, Some("parameter_missing"), None),
                rejected("parameter_missing"),
            ),
            (api(401, None, None), rejected("invalid_request_error")),
            (
                api(400, Some("amount_too_large"), None),
                rejected("amount_too_large"),
            ),
            (
                api(402, Some("card_declined"), Some("insufficient_funds")),
                rejected("insufficient_funds"),
            ),
        ];
        for (error, expected) in table {
            let printed = format!("{error:?}");
            assert_eq!(error.into_gateway_error(), expected, "{printed}");
        }
    }
}
