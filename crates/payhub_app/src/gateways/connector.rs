//! The interface a payment gateway integration implements.
//!
//! Every operation names the payment by payhub's id (a gateway's "merchant
//! order number"), so payhub can ask about a payment whose start timed out
//! before the gateway's own reference came back. A [`GatewayError::Timeout`]
//! means the outcome is unknown, never that the operation failed.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::gateway::CallFailure;
use payhub_core::{GatewayState, Money, PaymentId, RefundId, RefundState};
use reqwest::header::HeaderMap;

use super::GatewayKind;
use crate::card::CardInput;

/// What payhub asks a gateway to start.
#[derive(Clone, Debug)]
pub struct StartRequest {
    pub payment_id: PaymentId,
    pub amount: Money,
    pub subject: Option<String>,
    /// When the gateway should close the payment if the customer has not paid.
    pub expires_at: DateTime<Utc>,
    /// Keep the card the customer enters, at the gateway, so that later
    /// charges without the customer can use it (an APS hosted-page payment
    /// that saves its card). Gateways that keep no cards ignore it.
    pub save_card: Option<SaveCard>,
}

/// A card payment that saves its card at the gateway (see
/// [`StartRequest::save_card`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaveCard {
    /// payhub's name of the customer whose card it is (the APS account's
    /// id): the gateway's customer record for it is made once under it.
    pub customer_ref: String,
    /// A card saved earlier for the same customer at the same account (its
    /// gateway token, e.g. Stripe's `cus_…/pm_…`): the gateway's customer
    /// it names is reused.
    pub earlier: Option<String>,
}

/// A started payment and what the customer must do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Started {
    /// Show this QR payload for the customer's app to scan.
    Qr { gw_ref: String, qr_content: String },
    /// Collect the card on payhub's card form.
    CardForm { gw_ref: String },
}

/// What a gateway says about a payment (a query answer or a notification).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayReport {
    pub gw_ref: Option<String>,
    pub state: GatewayState,
    /// The customer action, when the gateway (re)tells it (a QR payload).
    pub qr_content: Option<String>,
    /// The gateway's own code and message (`SUCCESS`, a decline reason, …).
    pub code: Option<(String, String)>,
    /// The gateway's reusable reference of the card, once a payment set up
    /// to save it ([`StartRequest::save_card`]) succeeded and the gateway
    /// keeps the card (Stripe's `cus_…/pm_…`).
    pub saved_method: Option<String>,
}

/// A payment method the customer stored earlier, charged without them.
/// Never a card number: a token and what may be shown of the card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMethod {
    pub token: String,
    /// `card` or `wallet`.
    pub kind: String,
    pub brand: Option<String>,
    pub first6: Option<String>,
    pub last4: Option<String>,
}

impl StoredMethod {
    /// The card as the gateway row keeps it (`None` for a wallet).
    pub fn token_card(&self) -> Option<payhub_store::CardRecord> {
        (self.kind == "card").then(|| payhub_store::CardRecord {
            token: self.token.clone(),
            brand: self.brand.clone().unwrap_or_default(),
            first6: self.first6.clone().unwrap_or_default(),
            last4: self.last4.clone().unwrap_or_default(),
            gateway_token: None,
        })
    }
}

/// A payment as its gateway knows it: payhub's id (the merchant order
/// number every gateway is given) and the gateway's own reference, once the
/// gateway has answered one. Gateways that look payments up by the merchant's
/// number (Alipay, WeChat Pay) need only the first; one that looks them up
/// by its own id (Stripe's PaymentIntent) needs the second.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayRef {
    pub payment_id: PaymentId,
    pub gw_ref: Option<String>,
}

impl GatewayRef {
    pub fn new(payment_id: PaymentId, gw_ref: Option<&str>) -> GatewayRef {
        GatewayRef {
            payment_id,
            gw_ref: gw_ref.map(str::to_owned),
        }
    }
}

/// A refund payhub asks a gateway for.
#[derive(Clone, Debug)]
pub struct RefundRequest {
    pub refund_id: RefundId,
    pub payment: GatewayRef,
    /// The amount of the payment the refund belongs to (some gateways ask
    /// for both, e.g. WeChat Pay's `amount.total`).
    pub payment_amount: Money,
    pub amount: Money,
}

/// A refund as its gateway knows it: payhub's id (the merchant refund
/// number), the gateway's own reference once answered, and its payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundRef {
    pub refund_id: RefundId,
    pub gw_ref: Option<String>,
    pub payment: GatewayRef,
}

/// What a gateway says about a refund.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundReport {
    pub gw_ref: Option<String>,
    pub state: RefundState,
}

/// A notification a gateway sent, once verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub payment_id: PaymentId,
    pub report: GatewayReport,
}

/// Why a gateway call gave no answer to act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// No answer in time: the gateway may or may not have acted.
    #[error("the gateway did not answer in time")]
    Timeout,
    /// The gateway refused the request; nothing happened there.
    #[error("the gateway refused the request: {code} {message}")]
    Rejected { code: String, message: String },
    /// The gateway has no such payment or refund.
    #[error("the gateway does not know this payment")]
    NotFound,
    /// A notification that does not verify.
    #[error("the notification is not authentic: {0}")]
    BadNotification(String),
    /// An authentic notification about nothing payhub applies (a Stripe
    /// event about a Customer, say): acknowledged, so the gateway does not
    /// send it again, and otherwise ignored.
    #[error("the notification is about nothing payhub applies: {0}")]
    Unrelated(String),
}

impl From<&GatewayError> for CallFailure {
    /// What a failed call means to the core's rules: a notification that does
    /// not verify is no more an answer than a timeout is, so both leave the
    /// outcome unknown.
    fn from(error: &GatewayError) -> Self {
        match error {
            GatewayError::Timeout
            | GatewayError::BadNotification(_)
            | GatewayError::Unrelated(_) => CallFailure::NoAnswer,
            GatewayError::Rejected { .. } => CallFailure::Refused,
            GatewayError::NotFound => CallFailure::NotFound,
        }
    }
}

/// A payment gateway integration.
#[async_trait]
pub trait Connector: Send + Sync + 'static {
    fn kind(&self) -> GatewayKind;
    /// Creates the payment at the gateway.
    async fn start(&self, request: &StartRequest) -> Result<Started, GatewayError>;
    /// Pays a started card payment with the card the customer entered.
    /// A declined card is reported `Declined` (or `Rejected`) for this
    /// attempt only: the payment stays open at the gateway for another card
    /// (as a PaymentIntent waits for another payment method), and payhub
    /// [`cancel`](Connector::cancel)s it when a decline ends the payment.
    ///
    /// `return_url` is where the gateway sends the customer back after a
    /// step on its own pages (the issuer's 3-D Secure page): payhub's page
    /// of this payment, so it is per payment. A gateway that reports
    /// [`GatewayState::Challenge`] with a redirect URL in `qr_content`
    /// needs it; the others ignore it.
    async fn pay_with_card(
        &self,
        payment: &GatewayRef,
        card: &CardInput,
        return_url: Option<&url::Url>,
    ) -> Result<GatewayReport, GatewayError>;
    /// Creates the payment at the gateway and charges a stored token at once,
    /// with no customer present (a merchant-initiated charge). The answer is
    /// final (succeeded or declined); a timeout leaves it to the checker.
    async fn charge_token(
        &self,
        request: &StartRequest,
        method: &StoredMethod,
    ) -> Result<GatewayReport, GatewayError>;
    /// Answers a 3-D Secure challenge: the code the customer typed on
    /// payhub's page, or (a gateway whose issuer page redirects back to
    /// payhub) the customer's return, when `code` is empty and the gateway
    /// reads how the step went.
    async fn answer_challenge(
        &self,
        payment: &GatewayRef,
        code: &str,
    ) -> Result<GatewayReport, GatewayError>;
    /// Asks how a payment stands.
    async fn query(&self, payment: &GatewayRef) -> Result<GatewayReport, GatewayError>;
    /// Closes an unpaid payment.
    async fn cancel(&self, payment: &GatewayRef) -> Result<GatewayReport, GatewayError>;
    /// Gives money of a paid payment back.
    async fn refund(&self, request: &RefundRequest) -> Result<RefundReport, GatewayError>;
    /// Asks how a refund stands.
    async fn query_refund(&self, refund: &RefundRef) -> Result<RefundReport, GatewayError>;
    /// Verifies and reads a notification the gateway POSTed, with the
    /// request's headers (where some gateways put their signature).
    fn parse_notification(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Notification, GatewayError>;
    /// What payhub answers a notification it applied (or already had), in
    /// the form the gateway expects; anything else makes it send again.
    fn acknowledgement(&self) -> Acknowledgement {
        Acknowledgement {
            content_type: "application/json",
            body: r#"{"result":"ok"}"#,
        }
    }
}

/// The answer a gateway expects to a notification payhub took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Acknowledgement {
    pub content_type: &'static str,
    pub body: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_gateway_error_is_one_call_failure() {
        let table = [
            (GatewayError::Timeout, CallFailure::NoAnswer),
            (
                GatewayError::BadNotification("bad signature".into()),
                CallFailure::NoAnswer,
            ),
            (
                GatewayError::Rejected {
                    code: "DECLINED".into(),
                    message: "no funds".into(),
                },
                CallFailure::Refused,
            ),
            (GatewayError::NotFound, CallFailure::NotFound),
        ];
        for (error, failure) in table {
            assert_eq!(CallFailure::from(&error), failure, "{error:?}");
        }
    }
}
