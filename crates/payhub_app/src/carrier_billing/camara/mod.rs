//! A client of an operator's GSMA CAMARA Carrier Billing API
//! (`carrier-billing.yaml` and `carrier-billing-refund.yaml`), as the
//! carrier behind the telco payment service.
//!
//! - Reserve & commit (channel 10) is the API's two-step payment:
//!   `preparePayment`, then `confirmPayment` or `cancelPayment`.
//! - A charge (channels 11 and 50) is the one-step `createPayment`.
//! - A credit is `createRefund` on the charged payment.
//!
//! Every call carries an OAuth2 client-credentials access token (fetched
//! from the token endpoint, cached until shortly before it expires, fetched
//! again once when the API answers 401) and a fresh `x-correlator`, which
//! is logged with the call. A booking's key is its `clientCorrelator`, so
//! a booking asked again is booked once. A call the API does not answer in
//! time is never taken as a refusal: a confirm or cancel is resolved with
//! `retrievePayment`, a create or prepare by finding its `clientCorrelator`
//! with `retrievePayments`; what is still unknown answers
//! [`CarrierError::Unavailable`] and is asked again later.
//!
//! With a sink configured, every payment created or prepared asks for the
//! API's notifications (see [`sink`]); a notification is only the cue to
//! ask the API how the payment stands ([`Carrier::booking`]).

mod sink;
mod wire;

pub use sink::{Sink, SinkTokens};

use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use chrono::Utc;
use payhub_core::Currency;

use super::carrier::{BillCredit, BillRequest, Booked, Carrier, CarrierError};

/// Where the operator's API is and who payhub is to it.
#[derive(Clone, Debug)]
pub struct CamaraConfig {
    /// The Carrier Billing API's root, with its version (its paths
    /// `/payments…` follow), e.g. `https://api.example/carrier-billing/v0.4`.
    pub base_url: String,
    /// The Carrier Billing Refund API's root (`/payments/{id}/refunds`).
    pub refund_base_url: String,
    /// The OAuth2 token endpoint (client-credentials grant).
    pub token_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// payhub's public `https` address of its CAMARA notification route
    /// (`/carrier/camara/notifications`, behind the operator-facing TLS
    /// end); `None`: no notifications are asked for.
    pub sink_url: Option<String>,
}

/// A cached access token and when to fetch the next one.
struct Token {
    value: SecretString,
    refresh_at: Instant,
}

/// What a call got back: an answer, or none in time (or none readable).
enum Reply {
    Answer { status: u16, body: Value },
    Silent,
}

/// The CAMARA Carrier Billing client.
pub struct CamaraCarrier {
    http: reqwest::Client,
    config: CamaraConfig,
    token: tokio::sync::Mutex<Option<Token>>,
    sink: Option<Sink>,
}

impl CamaraCarrier {
    /// A client whose every call (the token's too) gets `call_timeout`;
    /// `tokens` make the sink credentials when a sink is configured.
    pub fn new(
        config: CamaraConfig,
        call_timeout: Duration,
        tokens: SinkTokens,
    ) -> Result<CamaraCarrier, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(call_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let sink = config.sink_url.clone().map(|url| Sink { url, tokens });
        Ok(CamaraCarrier {
            http,
            sink,
            config: CamaraConfig {
                base_url: config.base_url.trim_end_matches('/').to_owned(),
                refund_base_url: config.refund_base_url.trim_end_matches('/').to_owned(),
                ..config
            },
            token: tokio::sync::Mutex::new(None),
        })
    }

    /// The cached token, or a new one from the token endpoint. Held under
    /// the lock, so concurrent calls fetch one token.
    async fn access_token(&self, renew: bool) -> Result<SecretString, CarrierError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            if !renew && Instant::now() < token.refresh_at {
                return Ok(token.value.clone());
            }
        }
        let response = self
            .http
            .post(&self.config.token_url)
            .basic_auth(
                &self.config.client_id,
                Some(self.config.client_secret.expose_secret()),
            )
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(|error| {
                tracing::warn!(%error, "the CAMARA token endpoint did not answer");
                CarrierError::Unavailable
            })?;
        let status = response.status();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(CarrierError::Unavailable);
        }
        if !status.is_success() {
            tracing::error!(%status, "the CAMARA token endpoint refused payhub's client credentials");
            return Err(CarrierError::Rejected(format!(
                "token endpoint answered {status}"
            )));
        }
        let body: Value = response
            .json()
            .await
            .map_err(|_| CarrierError::Unavailable)?;
        let value = body
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| CarrierError::Rejected("the token answer has no access_token".into()))?;
        let lifetime =
            Duration::from_secs(body.get("expires_in").and_then(Value::as_u64).unwrap_or(60));
        // Fetched again shortly before it expires: a tenth of its life
        // early, at most 30 seconds, so a call never carries a stale token.
        let early = (lifetime / 10).min(Duration::from_secs(30));
        let token = SecretString::from(value.to_owned());
        *cached = Some(Token {
            value: token.clone(),
            refresh_at: Instant::now() + lifetime.saturating_sub(early),
        });
        Ok(token)
    }

    /// One call to the API with a token and a fresh `x-correlator`; a 401
    /// fetches a new token and tries once more.
    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Reply, CarrierError> {
        let mut renew = false;
        loop {
            let token = self.access_token(renew).await?;
            let correlator = format!(
                "payhub-{}",
                hex::encode(rand::thread_rng().gen::<[u8; 12]>())
            );
            let mut request = self
                .http
                .request(method.clone(), url)
                .bearer_auth(token.expose_secret())
                .header("x-correlator", &correlator);
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(error) => {
                    tracing::info!(carrier.correlator = correlator.as_str(), %url, %error, "CAMARA call not answered");
                    return Ok(Reply::Silent);
                }
            };
            let status = response.status().as_u16();
            tracing::debug!(carrier.correlator = correlator.as_str(), %url, status, "CAMARA call answered");
            if status == 401 && !renew {
                renew = true;
                continue;
            }
            let text = match response.text().await {
                Ok(text) => text,
                Err(_) => return Ok(Reply::Silent),
            };
            let body = if text.trim().is_empty() {
                Value::Null
            } else {
                match serde_json::from_str(&text) {
                    Ok(body) => body,
                    Err(_) if status >= 500 => Value::Null,
                    Err(_) => return Ok(Reply::Silent),
                }
            };
            return Ok(Reply::Answer { status, body });
        }
    }

    fn payments_url(&self, path: &str) -> String {
        format!("{}/payments{path}", self.config.base_url)
    }

    /// `createPayment` or `preparePayment`, expecting the payment in
    /// `expected`; an unanswered call is resolved by its `clientCorrelator`.
    async fn book(
        &self,
        path: &str,
        request: &BillRequest<'_>,
        expected: &str,
    ) -> Result<String, CarrierError> {
        let mut body = wire::payment_body(request)?;
        if let Some((sink, credential)) = self
            .sink
            .as_ref()
            .and_then(|sink| sink.members(request.key, Utc::now()))
        {
            body["sink"] = sink;
            body["sinkCredential"] = credential;
        }
        match self
            .send(Method::POST, &self.payments_url(path), Some(&body))
            .await?
        {
            Reply::Answer {
                status: 200 | 201,
                body,
            } => {
                let id = string(&body, "paymentId")?;
                wire::payment_outcome(body["paymentStatus"].as_str().unwrap_or(""), expected)?;
                Ok(id)
            }
            Reply::Answer { status, body } => Err(refused(status, &body)),
            Reply::Silent => self.find_booked(request.key, expected).await,
        }
    }

    /// Finds the payment booked under `key` (`retrievePayments`, matched by
    /// `clientCorrelator`): its id when it is in `expected`; not found,
    /// nothing was booked yet ([`CarrierError::Unavailable`]: ask again).
    async fn find_booked(&self, key: &str, expected: &str) -> Result<String, CarrierError> {
        let Reply::Answer { status: 200, body } =
            self.send(Method::GET, &self.payments_url(""), None).await?
        else {
            return Err(CarrierError::Unavailable);
        };
        let found =
            body.as_array().into_iter().flatten().find(|payment| {
                payment["amountTransaction"]["clientCorrelator"].as_str() == Some(key)
            });
        let Some(payment) = found else {
            return Err(CarrierError::Unavailable);
        };
        wire::payment_outcome(payment["paymentStatus"].as_str().unwrap_or(""), expected)?;
        string(payment, "paymentId")
    }

    /// `retrievePayment`: the payment's status now; `None` when unknown.
    async fn status_of(&self, reference: &str) -> Result<Option<String>, CarrierError> {
        match self
            .send(
                Method::GET,
                &self.payments_url(&format!("/{reference}")),
                None,
            )
            .await?
        {
            Reply::Answer { status: 200, body } => {
                Ok(body["paymentStatus"].as_str().map(str::to_owned))
            }
            Reply::Answer { status, body } => match wire::refusal(status, &body) {
                CarrierError::UnknownReservation => Ok(Some("cancelled".into())),
                _ => Ok(None),
            },
            Reply::Silent => Ok(None),
        }
    }

    /// A confirm or cancel resolved by the payment's status now.
    async fn resolve(&self, reference: &str, expected: &str) -> Result<(), CarrierError> {
        match self.status_of(reference).await? {
            Some(status) => wire::payment_outcome(&status, expected),
            None => Err(CarrierError::Unavailable),
        }
    }
}

/// An error answer as a [`CarrierError`]; one that says payhub's request
/// or set-up is wrong is logged, as nobody else will see it.
fn refused(status: u16, body: &Value) -> CarrierError {
    let error = wire::refusal(status, body);
    if let CarrierError::Rejected(reason) = &error {
        let message = body.get("message").and_then(Value::as_str).unwrap_or("");
        tracing::warn!(
            carrier.answer = reason.as_str(),
            carrier.message = message,
            "the CAMARA API rejected payhub's request"
        );
    }
    error
}

/// A string field of an answer; its absence is a protocol fault.
fn string(body: &Value, field: &str) -> Result<String, CarrierError> {
    body.get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| CarrierError::Rejected(format!("the answer has no {field}")))
}

#[async_trait::async_trait]
impl Carrier for CamaraCarrier {
    async fn reserve(&self, request: &BillRequest<'_>) -> Result<String, CarrierError> {
        self.book("/prepare", request, "reserved").await
    }

    async fn commit(&self, reference: &str, msisdn: &str) -> Result<(), CarrierError> {
        let body = serde_json::json!({"phoneNumber": wire::phone_number(msisdn)});
        let url = self.payments_url(&format!("/{reference}/confirm"));
        match self.send(Method::POST, &url, Some(&body)).await? {
            // Accepted, or confirmed before (an earlier answer lost): the
            // payment's status says whether it is charged.
            Reply::Answer { status: 202, .. } | Reply::Silent => {
                self.resolve(reference, "succeeded").await
            }
            Reply::Answer { status: 409, body }
                if body["code"] == "CARRIER_BILLING.PAYMENT_CONFIRMED" =>
            {
                self.resolve(reference, "succeeded").await
            }
            Reply::Answer { status, body } => Err(refused(status, &body)),
        }
    }

    async fn release(&self, reference: &str, msisdn: &str) -> Result<(), CarrierError> {
        let body = serde_json::json!({"phoneNumber": wire::phone_number(msisdn)});
        let url = self.payments_url(&format!("/{reference}/cancel"));
        match self.send(Method::POST, &url, Some(&body)).await? {
            Reply::Answer { status: 202, .. } => Ok(()),
            Reply::Silent => self
                .resolve(reference, "cancelled")
                .await
                .or_else(|e| match e {
                    CarrierError::UnknownReservation => Ok(()),
                    other => Err(other),
                }),
            Reply::Answer { status, body } => match refused(status, &body) {
                // Cancelled before, or unknown: nothing stays reserved.
                CarrierError::UnknownReservation => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn charge(&self, request: &BillRequest<'_>) -> Result<String, CarrierError> {
        self.book("", request, "succeeded").await
    }

    async fn credit(&self, credit: &BillCredit<'_>) -> Result<String, CarrierError> {
        let Some(charge) = credit.charge else {
            return Err(CarrierError::Rejected(
                "no carrier payment to refund".into(),
            ));
        };
        let body = wire::refund_body(credit)?;
        let url = format!("{}/payments/{charge}/refunds", self.config.refund_base_url);
        match self.send(Method::POST, &url, Some(&body)).await? {
            Reply::Answer {
                status: 200 | 201,
                body,
            } => {
                let id = string(&body, "refundId")?;
                match body["refundStatus"].as_str().unwrap_or("") {
                    "succeeded" => Ok(id),
                    "denied" => Err(CarrierError::Denied),
                    // Processing: asked again (same clientCorrelator) later.
                    _ => Err(CarrierError::Unavailable),
                }
            }
            Reply::Answer { status, body } => Err(refused(status, &body)),
            // Asked again by the refund checker under the same clientCorrelator.
            Reply::Silent => Err(CarrierError::Unavailable),
        }
    }

    async fn booking(
        &self,
        key: &str,
        reference: Option<&str>,
        currency: Currency,
    ) -> Result<Option<Booked>, CarrierError> {
        let payment = match reference {
            Some(reference) => {
                let url = self.payments_url(&format!("/{reference}"));
                match self.send(Method::GET, &url, None).await? {
                    Reply::Answer { status: 200, body } => Some(body),
                    Reply::Answer { status: 404, .. } => None,
                    Reply::Answer { status, body } => return Err(refused(status, &body)),
                    Reply::Silent => return Err(CarrierError::Unavailable),
                }
            }
            None => match self.send(Method::GET, &self.payments_url(""), None).await? {
                Reply::Answer { status: 200, body } => body
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|p| p["amountTransaction"]["clientCorrelator"].as_str() == Some(key))
                    .cloned(),
                Reply::Answer { status, body } => return Err(refused(status, &body)),
                Reply::Silent => return Err(CarrierError::Unavailable),
            },
        };
        match payment {
            // Another key's payment is not this booking.
            Some(payment)
                if payment["amountTransaction"]["clientCorrelator"].as_str() == Some(key) =>
            {
                wire::booked(&payment, currency).map(Some)
            }
            _ => Ok(None),
        }
    }
}
