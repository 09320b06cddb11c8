//! WeChat Pay, the cross-border (Hong Kong) merchant API v3: QR ("Native")
//! payments for the `WXPAY` gateway type, in common (direct merchant) mode.
//!
//! Followed: WeChat Pay Global APIv3 documentation (pay.weixin.qq.com,
//! `doc/global/v3/en`, formerly `wiki/doc/api_external/en/apis`, pages updated
//! 2025-01 to 2025-03): "Order Placement" (`POST /v3/global/transactions/native`),
//! "Query Order" (`GET /v3/global/transactions/out-trade-no/{out_trade_no}`),
//! "Close Order" (`POST …/out-trade-no/{out_trade_no}/close`), "Refund"
//! (`POST /v3/global/refunds`), "Query Single Refund"
//! (`GET /v3/global/refunds/out-refund-no/{out_refund_no}`) and "Payment
//! Result Notification", with the APIv3 signature and callback-decryption
//! rules. See `docs/gateways/wechatpay.md` for the full mapping.
//!
//! - [`signing`]: request signatures, answer/notification verification.
//! - [`aead`]: the notification resource's AES-256-GCM decryption.
//! - [`amount`]: `Money` ↔ `amount.total`.
//! - [`mapping`]: trade states, refund states, error codes.
//! - [`client`]: one signed, verified call.
//! - [`notification`]: reading a payment notification.

pub mod aead;
pub mod amount;
pub mod client;
pub mod mapping;
pub mod notification;
pub mod signing;
pub mod wire;

use async_trait::async_trait;
use chrono::{FixedOffset, Offset, SecondsFormat, Utc};
use payhub_core::{GatewayState, RefundState};
use reqwest::header::HeaderMap;
use reqwest::Method;
use secrecy::ExposeSecret;

use super::account::{AccountConfig, AccountError};
use super::connector::{
    Acknowledgement, Connector, GatewayError, GatewayRef, GatewayReport, Notification, RefundRef,
    RefundReport, RefundRequest, StartRequest, Started, StoredMethod,
};
use super::GatewayKind;
use crate::card::CardInput;
use aead::ApiV3Key;
use client::Client;
use signing::{MerchantSigner, PlatformVerifier};

/// The connector's name in a connector account.
pub const NAME: &str = "wechatpay";

/// The gateway types this connector serves.
pub const GATEWAY_TYPES: &[GatewayKind] = &[GatewayKind::Wxpay];

/// The credential names this connector reads, all required:
///
/// - `mchid`: the merchant ID WeChat Pay assigned (digits, e.g. `1900000109`).
/// - `appid`: the APPID bound to the merchant ID (e.g. `wx8888888888888888`).
/// - `merchant_serial_no`: the serial number of the merchant's API
///   certificate (hex, 40 characters), sent as `serial_no` in `Authorization`.
/// - `private_key`: the merchant's API private key, PEM PKCS#8
///   (`-----BEGIN PRIVATE KEY-----`, the `apiclient_key.pem` file).
/// - `api_v3_key`: the APIv3 key set on the merchant platform, exactly 32
///   bytes of text; it decrypts notifications.
/// - `platform_public_key`: the WeChat Pay public key, PEM
///   (`-----BEGIN PUBLIC KEY-----`), which verifies answers and notifications.
/// - `platform_serial`: that public key's id (`PUB_KEY_ID_…`), which every
///   signed answer must name in `Wechatpay-Serial`.
/// - `merchant_category_code`: the four-digit MCC the global order API
///   requires (`merchant_category_code`, e.g. `5999`).
///
/// Institution mode (`sp_mchid` / `sub_mchid`) is not supported.
pub const CREDENTIALS: &[&str] = &[
    "mchid",
    "appid",
    "merchant_serial_no",
    "private_key",
    "api_v3_key",
    "platform_public_key",
    "platform_serial",
    "merchant_category_code",
];

/// The answer WeChat Pay expects to a notification payhub took: any 2xx;
/// the global "Payment Result Notification" page shows this body with 200.
const ACKNOWLEDGEMENT: Acknowledgement = Acknowledgement {
    content_type: "application/json",
    body: r#"{"code":"SUCCESS","message":"OK"}"#,
};

/// The product description when payhub has no subject (WeChat Pay requires one).
const DEFAULT_DESCRIPTION: &str = "payhub payment";

/// WeChat Pay's offset in its documented `time_expire` example (+08:00).
const CHINA_OFFSET_S: i32 = 8 * 3600;

/// A merchant's WeChat Pay account, as payhub calls it.
#[derive(Debug)]
pub struct WechatPayConnector {
    kind: GatewayKind,
    mchid: String,
    appid: String,
    merchant_category_code: String,
    notify_url: String,
    api_v3_key: ApiV3Key,
    client: Client,
}

impl WechatPayConnector {
    /// The connector for `kind` from a connector account.
    pub fn from_account(kind: GatewayKind, account: &AccountConfig) -> Result<Self, AccountError> {
        AccountError::unless_served(NAME, GATEWAY_TYPES, kind)?;
        let text = |name: &'static str| -> Result<String, AccountError> {
            let value = account.credential(name)?.expose_secret().trim().to_owned();
            if value.is_empty() {
                return Err(AccountError::Missing(name));
            }
            Ok(value)
        };
        let invalid = |name: &'static str, why: &str| AccountError::Invalid {
            name,
            why: why.to_owned(),
        };
        let mchid = text("mchid")?;
        let appid = text("appid")?;
        let serial_no = text("merchant_serial_no")?;
        let signer = MerchantSigner::new(&mchid, &serial_no, &text("private_key")?)
            .map_err(|e| invalid("private_key", e.0))?;
        let api_v3_key = ApiV3Key::new(account.credential("api_v3_key")?)
            .ok_or_else(|| invalid("api_v3_key", "must be exactly 32 bytes"))?;
        let verifier =
            PlatformVerifier::new(&text("platform_serial")?, &text("platform_public_key")?)
                .map_err(|e| invalid("platform_public_key", e.0))?;
        let merchant_category_code = text("merchant_category_code")?;
        if merchant_category_code.len() != 4
            || !merchant_category_code.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(invalid("merchant_category_code", "must be four digits"));
        }
        Ok(WechatPayConnector {
            kind,
            mchid,
            appid,
            merchant_category_code,
            notify_url: account.notify_url.to_string(),
            api_v3_key,
            client: Client {
                base_url: account.base_url.clone(),
                http: account.http.clone(),
                signer,
                verifier,
            },
        })
    }

    /// Verifies and reads a notification as if received at `now` (Unix seconds).
    pub fn parse_notification_at(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<Notification, GatewayError> {
        let recipient = notification::Recipient {
            mchid: &self.mchid,
            appid: &self.appid,
        };
        notification::parse(
            &self.client.verifier,
            &self.api_v3_key,
            &recipient,
            headers,
            body,
            now,
        )
    }

    fn json<T: serde::Serialize>(value: &T) -> Result<String, GatewayError> {
        serde_json::to_string(value).map_err(|_| GatewayError::Rejected {
            code: "PARAM_ERROR".into(),
            message: "the request does not serialize".into(),
        })
    }

    fn no_cards() -> GatewayError {
        GatewayError::Rejected {
            code: "UNSUPPORTED".into(),
            message: "WeChat Pay Native payments take no card and no stored method".into(),
        }
    }
}

#[async_trait]
impl Connector for WechatPayConnector {
    fn kind(&self) -> GatewayKind {
        self.kind
    }

    /// Places a Native order; its `code_url` is the QR code's content. The
    /// answer has no WeChat Pay order number yet, so the reference is payhub's
    /// `out_trade_no` until a query or notification tells the `id`.
    async fn start(&self, request: &StartRequest) -> Result<Started, GatewayError> {
        let out_trade_no = request.payment_id.to_string();
        let china = FixedOffset::east_opt(CHINA_OFFSET_S).unwrap_or_else(|| Utc.fix());
        let currency = request.amount.currency();
        let order = wire::NativeOrder {
            appid: &self.appid,
            mchid: &self.mchid,
            description: request
                .subject
                .as_deref()
                .filter(|s| !s.is_empty())
                .unwrap_or(DEFAULT_DESCRIPTION),
            out_trade_no: &out_trade_no,
            notify_url: &self.notify_url,
            trade_type: "NATIVE",
            merchant_category_code: &self.merchant_category_code,
            time_expire: request
                .expires_at
                .with_timezone(&china)
                .to_rfc3339_opts(SecondsFormat::Secs, false),
            amount: wire::OrderAmount {
                total: amount::to_total(request.amount)?,
                currency: currency.code(),
            },
        };
        let answer = self
            .client
            .call(
                Method::POST,
                "/v3/global/transactions/native",
                Some(Self::json(&order)?),
            )
            .await?;
        let placed: wire::NativeOrderAnswer = answer.json()?;
        Ok(Started::Qr {
            gw_ref: out_trade_no,
            qr_content: placed.code_url,
        })
    }

    async fn pay_with_card(
        &self,
        _payment: &GatewayRef,
        _card: &CardInput,
        _return_url: Option<&url::Url>,
    ) -> Result<GatewayReport, GatewayError> {
        Err(Self::no_cards())
    }

    async fn charge_token(
        &self,
        _request: &StartRequest,
        _method: &StoredMethod,
    ) -> Result<GatewayReport, GatewayError> {
        Err(Self::no_cards())
    }

    async fn answer_challenge(
        &self,
        _payment: &GatewayRef,
        _code: &str,
    ) -> Result<GatewayReport, GatewayError> {
        Err(Self::no_cards())
    }

    async fn query(&self, payment: &GatewayRef) -> Result<GatewayReport, GatewayError> {
        let out_trade_no = payment.payment_id.to_string();
        let path = format!(
            "/v3/global/transactions/out-trade-no/{out_trade_no}?mchid={}",
            self.mchid
        );
        let transaction: wire::Transaction =
            self.client.call(Method::GET, &path, None).await?.json()?;
        if transaction.out_trade_no != out_trade_no {
            tracing::warn!(gateway = "WXPAY", "a query answered about another order");
            return Err(GatewayError::Timeout);
        }
        Ok(notification::report(transaction))
    }

    /// Closes the order. WeChat Pay answers 204 and nothing else; an order
    /// already paid is refused with `ORDERPAID`, and then payhub is told
    /// how it stands instead.
    async fn cancel(&self, payment: &GatewayRef) -> Result<GatewayReport, GatewayError> {
        let path = format!(
            "/v3/global/transactions/out-trade-no/{}/close",
            payment.payment_id
        );
        let body = Self::json(&wire::CloseOrder { mchid: &self.mchid })?;
        match self.client.call(Method::POST, &path, Some(body)).await {
            Ok(_) => Ok(GatewayReport {
                saved_method: None,
                gw_ref: payment.gw_ref.clone(),
                state: GatewayState::Canceled,
                qr_content: None,
                code: Some(("CLOSED".into(), "closed by the merchant".into())),
            }),
            Err(GatewayError::Rejected { code, .. }) if code == "ORDERPAID" => {
                self.query(payment).await
            }
            Err(error) => Err(error),
        }
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundReport, GatewayError> {
        if request.amount.currency() != request.payment_amount.currency() {
            return Err(GatewayError::Rejected {
                code: "PARAM_ERROR".into(),
                message: "a refund is in its payment's currency".into(),
            });
        }
        let out_trade_no = request.payment.payment_id.to_string();
        let out_refund_no = request.refund_id.to_string();
        let currency = request.amount.currency();
        let refund = wire::NewRefund {
            mchid: &self.mchid,
            appid: &self.appid,
            out_trade_no: &out_trade_no,
            out_refund_no: &out_refund_no,
            amount: wire::RefundAmount {
                refund: amount::to_total(request.amount)?,
                total: amount::to_total(request.payment_amount)?,
                currency: currency.code(),
            },
        };
        let answer: wire::Refund = self
            .client
            .call(
                Method::POST,
                "/v3/global/refunds",
                Some(Self::json(&refund)?),
            )
            .await?
            .json()?;
        Ok(refund_report(answer, &out_refund_no))
    }

    async fn query_refund(&self, refund: &RefundRef) -> Result<RefundReport, GatewayError> {
        let out_refund_no = refund.refund_id.to_string();
        let path = format!(
            "/v3/global/refunds/out-refund-no/{out_refund_no}?mchid={}",
            self.mchid
        );
        let answer: wire::Refund = self.client.call(Method::GET, &path, None).await?.json()?;
        Ok(refund_report(answer, &out_refund_no))
    }

    fn parse_notification(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Notification, GatewayError> {
        self.parse_notification_at(headers, body, Utc::now().timestamp())
    }

    fn acknowledgement(&self) -> Acknowledgement {
        ACKNOWLEDGEMENT
    }
}

/// A refund as WeChat Pay tells it; an answer about another refund or with
/// no status yet leaves it unknown.
fn refund_report(answer: wire::Refund, out_refund_no: &str) -> RefundReport {
    if answer.out_refund_no != out_refund_no {
        tracing::warn!(gateway = "WXPAY", "a refund answer about another refund");
        return RefundReport {
            gw_ref: None,
            state: RefundState::Unknown,
        };
    }
    RefundReport {
        gw_ref: answer.id,
        state: answer
            .status
            .as_deref()
            .map_or(RefundState::Unknown, mapping::refund_state),
    }
}
