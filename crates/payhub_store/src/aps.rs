//! The APS dialect's storage (seed 001): customer accounts with available
//! credit, their stored payment methods, and how each APS payment was covered.
//!
//! The records only; the trait is [`ApsStore`](crate::traits::ApsStore).

use chrono::{DateTime, Utc};
use payhub_core::credit::RefundSplit;
use payhub_core::{Currency, LedgerEvent, MerchantId, Payment, PaymentId, Refund, RefundId};

use crate::error::StoreError;
use crate::records::{GatewayPayment, GatewayRefund, IdempotentResponse};

/// A customer account behind an APS PaymentManagement resource.
#[derive(Clone, Debug, PartialEq)]
pub struct ApsAccount {
    /// The APS resource id in `/aps/2/resources/{aps-id}` (a UUID).
    pub aps_id: String,
    pub merchant_id: MerchantId,
    /// The customer account's UUID (`APSPayment.accountId`, TMF676 `account.id`).
    pub account_id: String,
    pub currency: Currency,
    /// The credit payments may spend (`useAvailableCredit`), in minor units; never negative.
    pub available_credit_minor: i64,
    pub created_at: DateTime<Utc>,
}

/// What kind of stored payment method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MethodKind {
    Card,
    Wallet,
}

impl MethodKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MethodKind::Card => "card",
            MethodKind::Wallet => "wallet",
        }
    }

    pub fn parse(text: &str) -> Option<MethodKind> {
        match text {
            "card" => Some(MethodKind::Card),
            "wallet" => Some(MethodKind::Wallet),
            _ => None,
        }
    }
}

/// A payment method an account's payments may be charged to without the
/// customer. Never a card number or CVC.
#[derive(Clone, Debug, PartialEq)]
pub struct ApsPaymentMethod {
    /// APS `paymentMethodId`.
    pub id: i64,
    pub aps_id: String,
    pub kind: MethodKind,
    /// The gateway that charges it (`VMPAY`, `WXPAY`, …).
    pub gateway: String,
    /// payhub's reference of the method (a card's `tok_…`).
    pub token: String,
    /// What the gateway charges instead of `token`, when it keeps the card
    /// itself (Stripe's `cus_…/pm_…`); see [`ApsPaymentMethod::charge_token`].
    pub gateway_token: Option<String>,
    /// The connector account that saved the card (`ca_…`): the only one
    /// whose gateway knows `gateway_token`. `None`: any account (or the
    /// simulator) of `gateway` may charge it.
    pub connector_account: Option<String>,
    pub brand: Option<String>,
    pub first6: Option<String>,
    pub last4: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl ApsPaymentMethod {
    /// What a charge of this method sends its gateway: the gateway's own
    /// reference when it keeps the card, else payhub's token.
    pub fn charge_token(&self) -> &str {
        self.gateway_token.as_deref().unwrap_or(&self.token)
    }
}

/// Whether an APS payment's credit is spent, and whether it was given back:
/// the core's type, so that the rule ([`payhub_core::funding::settle`]) and
/// the stored row speak of the same thing.
pub use payhub_core::funding::CreditState;

/// How an APS payment's total was covered.
#[derive(Clone, Debug, PartialEq)]
pub struct ApsPayment {
    pub payment_id: PaymentId,
    pub aps_id: String,
    pub merchant_id: MerchantId,
    /// Spent from the account's credit.
    pub credit_minor: i64,
    /// Left for the payment method.
    pub method_minor: i64,
    pub credit_state: CreditState,
    /// The stored method charged, or the card saved when the hosted page's payment succeeded.
    pub payment_method_id: Option<i64>,
    /// Save the hosted page's card as a method of the account on success.
    pub save_method: bool,
    /// Where the result is POSTed (`paymentContext.notifyUrl`).
    pub notify_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Everything an APS payment writes, committed together with the credit debit.
#[derive(Clone, Debug)]
pub struct ApsWrite {
    pub payment: Payment,
    pub event: LedgerEvent,
    /// The gateway row when something is left for a payment method.
    pub gateway: Option<GatewayPayment>,
    /// `credit_minor` is debited from the account in the same transaction.
    pub aps: ApsPayment,
    /// The answer kept under the request's idempotency key.
    pub kept: Option<IdempotentResponse>,
}

/// Decides the rows of an APS payment from the account's credit balance,
/// read while the account is locked. An `Err` writes nothing.
pub type ApsPlan<'a> = &'a (dyn Fn(i64) -> Result<ApsWrite, StoreError> + Send + Sync);

/// How one refund of an APS payment was given back (see
/// [`payhub_core::credit::split_refund`]: card first, then credit).
#[derive(Clone, Debug, PartialEq)]
pub struct ApsRefund {
    pub refund_id: RefundId,
    pub payment_id: PaymentId,
    pub aps_id: String,
    /// Refunded to the card through the payment's gateway.
    pub card_minor: i64,
    /// Returned to the account's credit when the refund was recorded.
    pub credit_minor: i64,
    pub created_at: DateTime<Utc>,
}

/// Everything a refund of an APS payment writes, committed together with the
/// credit it returns to the account.
#[derive(Clone, Debug)]
pub struct ApsRefundWrite {
    pub refund: Refund,
    pub event: LedgerEvent,
    /// The gateway row when the refund has a card part (sent after commit).
    pub gateway: Option<GatewayRefund>,
    pub aps: ApsRefund,
    /// The answer kept under the request's idempotency key.
    pub kept: Option<IdempotentResponse>,
}

/// Decides the rows of an APS refund from its split, computed while the
/// payment is locked.
pub type ApsRefundPlan<'a> = &'a (dyn Fn(RefundSplit) -> ApsRefundWrite + Send + Sync);

/// Why credit could not be added.
#[derive(Debug, thiserror::Error)]
pub enum CreditError {
    #[error("no such account")]
    NotFound,
    #[error("the balance would overflow")]
    Overflow,
    #[error(transparent)]
    Store(#[from] StoreError),
}
