//! Alipay cross-border (MAPI, `gateway.do`) for `ALIPAY` and `ALIPAYOS`.
//!
//! Follows Alipay's global MAPI documents (global.alipay.com / docs.antom.com,
//! "ac/global" and, for the Hong Kong wallet, "ac/hkapi"): the same
//! `gateway.do` endpoint, form-encoded requests signed MD5 or RSA2, XML
//! answers. payhub's hosted page shows a QR code, so a payment starts with
//! `alipay.acquire.precreate` (transaction QR code), which answers the QR
//! payload itself (`qr_code`); `create_forex_trade`'s QR modes only embed
//! Alipay's own page in an iframe and never hand the payload out.
//!
//! | `Connector`       | MAPI service                                  |
//! |-------------------|-----------------------------------------------|
//! | `start`           | `alipay.acquire.precreate`                    |
//! | `query`           | `alipay.acquire.overseas.query`               |
//! | `cancel`          | `alipay.acquire.overseas.query`, then `alipay.acquire.cancel` |
//! | `refund`          | `alipay.acquire.overseas.spot.refund`         |
//! | `query_refund`    | `alipay.acquire.refund.query`                 |
//! | notification      | `trade_status_sync` POSTed to `notify_url`    |
//!
//! `ALIPAY` and `ALIPAYOS` use the same API; they differ in the wallet
//! (`payment_inst`: `ALIPAYCN` for Alipay, `ALIPAYHK` for AlipayHK, "the type
//! of wallet that this QR code can be scanned by"), in the contract behind
//! the account (an AlipayHK merchant has its own partner id and keys), and in
//! currency: AlipayHK takes HKD only.

mod amount;
mod client;
mod mapping;
mod sign;
mod xml;

use async_trait::async_trait;
use payhub_core::{GatewayState, PaymentId, RefundState};
use reqwest::header::HeaderMap;
use secrecy::ExposeSecret;

pub use amount::{from_alipay, to_alipay, AmountError};
pub use sign::{signing_text, Signer};
pub use xml::{parse_answer, MapiAnswer};

use super::account::{AccountConfig, AccountError};
use super::connector::{
    Acknowledgement, GatewayError, GatewayRef, GatewayReport, Notification, RefundRef,
    RefundReport, RefundRequest, StartRequest, Started, StoredMethod,
};
use super::{Connector, GatewayKind};
use crate::card::CardInput;
use client::Client;

/// The connector's name in a connector account.
pub const NAME: &str = "alipay";

/// The gateway types this connector serves.
pub const GATEWAY_TYPES: &[GatewayKind] = &[GatewayKind::Alipay, GatewayKind::Alipayos];

/// The credentials it reads, required first:
/// - `partner_id`: the Alipay partner id (PID), 16 digits starting `2088`.
/// - `md5_key`: the MAPI MD5 key (32 characters), for `sign_type` MD5.
/// - `private_key`: the merchant's RSA private key, PKCS#8 (`BEGIN PRIVATE
///   KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`) PEM, for RSA2.
/// - `alipay_public_key`: Alipay's RSA public key, PEM or the bare base64
///   Alipay's console shows, for RSA2.
/// - `sign_type`: `MD5` or `RSA2`; when absent, RSA2 if `private_key` is
///   set, else MD5.
pub const CREDENTIALS: &[&str] = &[
    "partner_id",
    "md5_key",
    "private_key",
    "alipay_public_key",
    "sign_type",
];

/// The product code of Alipay's overseas in-store (QR) acquiring.
const PRODUCT_CODE: &str = "OVERSEAS_MBARCODE_PAY";

/// Alipay cross-border behind the [`Connector`] trait.
#[derive(Debug)]
pub struct AlipayConnector {
    kind: GatewayKind,
    client: Client,
    notify_url: String,
}

impl AlipayConnector {
    /// Builds the connector for `kind` from a connector account.
    pub fn from_account(kind: GatewayKind, account: &AccountConfig) -> Result<Self, AccountError> {
        AccountError::unless_served(NAME, GATEWAY_TYPES, kind)?;
        let partner = account.credential("partner_id")?.expose_secret().trim();
        let valid_partner = partner.len() == 16
            && partner.starts_with("2088")
            && partner.bytes().all(|b| b.is_ascii_digit());
        if !valid_partner {
            return Err(AccountError::Invalid {
                name: "partner_id",
                why: "an Alipay partner id is 16 digits starting with 2088".into(),
            });
        }
        let signer = signer_from(account)?;
        Ok(AlipayConnector {
            kind,
            client: Client::new(
                account.http.clone(),
                account.base_url.clone(),
                partner.to_owned(),
                signer,
            ),
            notify_url: account.notify_url.to_string(),
        })
    }

    /// The wallet whose app can scan the code (`payment_inst`).
    fn wallet(&self) -> &'static str {
        match self.kind {
            GatewayKind::Alipayos => "ALIPAYHK",
            _ => "ALIPAYCN",
        }
    }
}

fn signer_from(account: &AccountConfig) -> Result<Signer, AccountError> {
    let chosen = account
        .optional_credential("sign_type")
        .map(|value| value.expose_secret().trim().to_ascii_uppercase());
    let mode = match chosen.as_deref() {
        Some("MD5") => "MD5",
        Some("RSA2") => "RSA2",
        Some(_) => {
            return Err(AccountError::Invalid {
                name: "sign_type",
                why: "MD5 or RSA2".into(),
            })
        }
        None if account.optional_credential("private_key").is_some() => "RSA2",
        None => "MD5",
    };
    if mode == "MD5" {
        let key = account.credential("md5_key")?;
        if key.expose_secret().trim().is_empty() {
            return Err(AccountError::Invalid {
                name: "md5_key",
                why: "empty".into(),
            });
        }
        return Ok(Signer::Md5 { key: key.clone() });
    }
    let private = account.credential("private_key")?;
    let public = account.credential("alipay_public_key")?;
    Signer::rsa2(private.expose_secret(), public.expose_secret()).map_err(|(private, why)| {
        AccountError::Invalid {
            name: if private {
                "private_key"
            } else {
                "alipay_public_key"
            },
            why: why.to_string(),
        }
    })
}

/// A field Alipay must have answered.
fn field<'a>(
    answer: &'a std::collections::BTreeMap<String, String>,
    name: &str,
) -> Result<&'a str, GatewayError> {
    answer
        .get(name)
        .map(String::as_str)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            tracing::warn!(field = name, "Alipay's answer lacks a field");
            GatewayError::Timeout
        })
}

/// The business error of a `result_code` FAIL answer.
fn business_error(answer: &std::collections::BTreeMap<String, String>) -> GatewayError {
    let code = answer
        .get("detail_error_code")
        .or_else(|| answer.get("error"))
        .map(String::as_str)
        .unwrap_or("FAIL");
    let message = answer
        .get("detail_error_des")
        .map(String::as_str)
        .unwrap_or("");
    mapping::error(code, message)
}

fn not_for_alipay() -> GatewayError {
    GatewayError::Rejected {
        code: "UNSUPPORTED".into(),
        message: "Alipay is paid by scanning a QR code".into(),
    }
}

fn refund_report(refund_id: payhub_core::RefundId, state: RefundState) -> RefundReport {
    RefundReport {
        gw_ref: Some(refund_id.to_string()),
        state,
    }
}

#[async_trait]
impl Connector for AlipayConnector {
    fn kind(&self) -> GatewayKind {
        self.kind
    }

    async fn start(&self, request: &StartRequest) -> Result<Started, GatewayError> {
        let currency = request.amount.currency();
        if self.kind == GatewayKind::Alipayos && currency.code() != "HKD" {
            return Err(GatewayError::Rejected {
                code: "CURRENCY_NOT_SUPPORT".into(),
                message: "AlipayHK takes HKD only".into(),
            });
        }
        let total_fee = to_alipay(request.amount).map_err(|error| GatewayError::Rejected {
            code: "CURRENCY_NOT_SUPPORT".into(),
            message: error.to_string(),
        })?;
        let out_trade_no = request.payment_id.to_string();
        let subject = request
            .subject
            .clone()
            .filter(|subject| !subject.trim().is_empty())
            .unwrap_or_else(|| format!("Payment {out_trade_no}"));
        let answer = self
            .client
            .call(
                "alipay.acquire.precreate",
                vec![
                    ("notify_url", self.notify_url.clone()),
                    ("timestamp", client::timestamp()),
                    ("out_trade_no", out_trade_no.clone()),
                    ("subject", subject),
                    ("product_code", PRODUCT_CODE.into()),
                    ("total_fee", total_fee),
                    ("trans_currency", currency.code().to_owned()),
                    ("currency", currency.code().to_owned()),
                    ("payment_inst", self.wallet().into()),
                ],
            )
            .await?;
        match answer.get("result_code").map(String::as_str) {
            Some("SUCCESS") => Ok(Started::Qr {
                gw_ref: out_trade_no,
                qr_content: field(&answer, "qr_code")?.to_owned(),
            }),
            Some("FAIL") => Err(business_error(&answer)),
            _ => Err(GatewayError::Timeout),
        }
    }

    async fn pay_with_card(
        &self,
        _payment: &GatewayRef,
        _card: &CardInput,
        _return_url: Option<&url::Url>,
    ) -> Result<GatewayReport, GatewayError> {
        Err(not_for_alipay())
    }

    async fn charge_token(
        &self,
        _request: &StartRequest,
        _method: &StoredMethod,
    ) -> Result<GatewayReport, GatewayError> {
        Err(not_for_alipay())
    }

    async fn answer_challenge(
        &self,
        _payment: &GatewayRef,
        _code: &str,
    ) -> Result<GatewayReport, GatewayError> {
        Err(not_for_alipay())
    }

    async fn query(&self, payment: &GatewayRef) -> Result<GatewayReport, GatewayError> {
        let answer = self
            .client
            .call(
                "alipay.acquire.overseas.query",
                vec![("partner_trans_id", payment.payment_id.to_string())],
            )
            .await?;
        match answer.get("result_code").map(String::as_str) {
            Some("SUCCESS") => {
                let status = field(&answer, "alipay_trans_status")?;
                Ok(GatewayReport {
                    saved_method: None,
                    gw_ref: answer.get("alipay_trans_id").cloned(),
                    state: mapping::trade_state(status).unwrap_or(GatewayState::Unknown),
                    qr_content: None,
                    code: Some((status.to_owned(), String::new())),
                })
            }
            Some("FAIL") => match business_error(&answer) {
                // A precreated code nobody scanned yet is no trade at Alipay:
                // the customer can still pay it.
                GatewayError::NotFound if payment.gw_ref.is_some() => Ok(GatewayReport {
                    saved_method: None,
                    gw_ref: None,
                    state: GatewayState::AwaitingCustomer,
                    qr_content: None,
                    code: Some(("TRADE_NOT_EXIST".into(), "not scanned yet".into())),
                }),
                error => Err(error),
            },
            _ => Err(GatewayError::Timeout),
        }
    }

    async fn cancel(&self, payment: &GatewayRef) -> Result<GatewayReport, GatewayError> {
        // `alipay.acquire.cancel` refunds a paid trade; payhub cancels unpaid
        // payments only, so a paid one is reported as paid instead.
        match self.query(payment).await {
            Ok(report) if report.state.is_final() => return Ok(report),
            Ok(_) | Err(GatewayError::NotFound) => {}
            Err(error) => return Err(error),
        }
        let answer = self
            .client
            .call(
                "alipay.acquire.cancel",
                vec![
                    ("timestamp", client::timestamp()),
                    ("out_trade_no", payment.payment_id.to_string()),
                ],
            )
            .await?;
        match answer.get("result_code").map(String::as_str) {
            Some("SUCCESS") => Ok(GatewayReport {
                saved_method: None,
                gw_ref: answer.get("trade_no").cloned(),
                state: GatewayState::Canceled,
                qr_content: None,
                code: Some((
                    "CANCELED".into(),
                    answer.get("action").cloned().unwrap_or_default(),
                )),
            }),
            Some("FAIL") if answer.get("retry_flag").map(String::as_str) == Some("Y") => {
                Err(GatewayError::Timeout)
            }
            Some("FAIL") => Err(business_error(&answer)),
            _ => Err(GatewayError::Timeout),
        }
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundReport, GatewayError> {
        if request.amount.currency() != request.payment_amount.currency() {
            return Err(GatewayError::Rejected {
                code: "CURRENCY_NOT_MATCH".into(),
                message: "a refund is in its payment's currency".into(),
            });
        }
        let refund_amount = to_alipay(request.amount).map_err(|error| GatewayError::Rejected {
            code: "CURRENCY_NOT_SUPPORT".into(),
            message: error.to_string(),
        })?;
        let answer = self
            .client
            .call(
                "alipay.acquire.overseas.spot.refund",
                vec![
                    ("notify_url", self.notify_url.clone()),
                    ("partner_trans_id", request.payment.payment_id.to_string()),
                    ("partner_refund_id", request.refund_id.to_string()),
                    ("refund_amount", refund_amount),
                    ("currency", request.amount.currency().code().to_owned()),
                    ("is_sync", "Y".into()),
                ],
            )
            .await?;
        match answer.get("result_code").map(String::as_str) {
            Some("SUCCESS") => Ok(refund_report(request.refund_id, RefundState::Succeeded)),
            Some("FAIL") => Err(business_error(&answer)),
            _ => Ok(refund_report(request.refund_id, RefundState::Unknown)),
        }
    }

    async fn query_refund(&self, refund: &RefundRef) -> Result<RefundReport, GatewayError> {
        let answer = self
            .client
            .call(
                "alipay.acquire.refund.query",
                vec![
                    ("out_trade_no", refund.payment.payment_id.to_string()),
                    ("out_return_no", refund.refund_id.to_string()),
                ],
            )
            .await?;
        match answer.get("response_code").map(String::as_str) {
            Some("SUCCESS") => {
                let result = answer
                    .get("refund_result_code")
                    .map(String::as_str)
                    .unwrap_or("");
                Ok(refund_report(
                    refund.refund_id,
                    mapping::refund_state(result),
                ))
            }
            Some(code) => Err(mapping::error(code, "")),
            None => Err(GatewayError::Timeout),
        }
    }

    fn parse_notification(
        &self,
        _headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Notification, GatewayError> {
        let bad = |why: &str| GatewayError::BadNotification(why.to_owned());
        let fields: Vec<(String, String)> =
            serde_urlencoded::from_bytes(body).map_err(|_| bad("not a form-encoded body"))?;
        let get = |name: &str| {
            fields
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        let names: std::collections::BTreeSet<&str> =
            fields.iter().map(|(key, _)| key.as_str()).collect();
        if names.len() != fields.len() {
            return Err(bad("a field appears twice"));
        }
        if get("sign_type") != Some(self.client.signer().sign_type()) {
            return Err(bad("sign_type is not this account's"));
        }
        let signature = get("sign").ok_or_else(|| bad("no sign"))?;
        let text = signing_text(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if !self.client.signer().verify(&text, signature) {
            return Err(bad("signature does not verify"));
        }
        if get("notify_type") != Some("trade_status_sync") {
            return Err(bad("not a trade_status_sync notification"));
        }
        let payment_id = get("out_trade_no")
            .and_then(|value| value.parse::<PaymentId>().ok())
            .ok_or_else(|| bad("out_trade_no is not a payhub payment"))?;
        let status = get("trade_status").ok_or_else(|| bad("no trade_status"))?;
        let state = mapping::trade_state(status).ok_or_else(|| bad("unknown trade_status"))?;
        Ok(Notification {
            payment_id,
            report: GatewayReport {
                saved_method: None,
                gw_ref: get("trade_no").map(str::to_owned),
                state,
                qr_content: None,
                code: Some((status.to_owned(), String::new())),
            },
        })
    }

    /// Alipay stops resending once the answer is the seven characters `success`.
    fn acknowledgement(&self) -> Acknowledgement {
        Acknowledgement {
            content_type: "text/plain",
            body: "success",
        }
    }
}

#[cfg(test)]
mod tests;
