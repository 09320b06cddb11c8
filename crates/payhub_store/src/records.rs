//! The records the store reads and writes besides the core's payments and refunds.

use chrono::{DateTime, Utc};
use payhub_core::{
    Channel, Document, EventId, GatewayState, LedgerEvent, MerchantId, Money, Origin, PaymentId,
    RefundId, RefundState, SubscriptionId, TelcoState,
};

/// A merchant and the hash of its API key.
#[derive(Clone, Debug, PartialEq)]
pub struct Merchant {
    pub id: MerchantId,
    pub name: String,
    /// SHA-256 of the API key, hex. The key is shown once at creation and never stored.
    pub api_key_hash: String,
    /// The public key of the retail dialect (`apiKey`); its secret is derived, not stored.
    pub retail_api_key: String,
    /// The gateway codes the merchant may use (`WXPAY`, …), in listing order.
    pub gateways: Vec<String>,
    /// How retail requests are signed: `hmac-sha1` (seed 003) or `hmac-sha256`.
    pub retail_signature: String,
    pub created_at: DateTime<Utc>,
}

/// Which rows of a merchant a list returns, before the facade's own filters.
///
/// Each `Some` list is an OR of values (SQL `IN`); the lists combine with AND.
/// These are the filters that indexes serve; anything else a facade filters on
/// it evaluates itself over the rows returned.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListFilter {
    pub ids: Option<Vec<i64>>,
    pub account_ids: Option<Vec<String>>,
    pub correlator_ids: Option<Vec<String>>,
    pub statuses: Option<Vec<String>>,
    /// Refunds only: the payments they belong to.
    pub payment_ids: Option<Vec<i64>>,
    /// Only rows with a smaller id (older, in list order): reading a long
    /// list in pages of the same shape, each starting where the last ended.
    pub before_id: Option<i64>,
}

impl ListFilter {
    /// True when some list is present but empty, so no row can match.
    pub fn matches_nothing(&self) -> bool {
        self.ids.as_ref().is_some_and(Vec::is_empty)
            || self.account_ids.as_ref().is_some_and(Vec::is_empty)
            || self.correlator_ids.as_ref().is_some_and(Vec::is_empty)
            || self.statuses.as_ref().is_some_and(Vec::is_empty)
            || self.payment_ids.as_ref().is_some_and(Vec::is_empty)
    }
}

/// A window into an ordered list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub offset: i64,
    pub limit: i64,
}

/// One page of a list and the number of all rows that matched.
#[derive(Clone, Debug)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// A TMF hub subscription.
#[derive(Clone, Debug, PartialEq)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub merchant_id: MerchantId,
    pub callback: String,
    pub query: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A delivery of one event to one subscriber, claimed by a worker.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub event_id: EventId,
    /// The TMF hub listener it goes to; `None` for a merchant webhook.
    pub subscription_id: Option<SubscriptionId>,
    pub merchant_id: MerchantId,
    pub callback: String,
    /// Attempts made before this one.
    pub attempts: i64,
    pub kind: DeliveryKind,
    /// The exact bytes to send, for kinds whose body is fixed at fan-out.
    pub body: Option<String>,
}

/// What a delivery carries and to whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryKind {
    /// A TMF676 hub notification to a registered listener.
    TmfHub,
    /// A retail sale's result to its `webhookUrl`.
    RetailWebhook,
    /// A telco transaction's new state to its service's callback URL.
    TelcoCallback,
    /// An APS payment's result (`APSPayment`) to its `notifyUrl`.
    ApsNotify,
}

impl DeliveryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryKind::TmfHub => "tmf_hub",
            DeliveryKind::RetailWebhook => "retail_webhook",
            DeliveryKind::TelcoCallback => "telco_callback",
            DeliveryKind::ApsNotify => "aps_notify",
        }
    }

    pub fn parse(text: &str) -> Option<DeliveryKind> {
        match text {
            "tmf_hub" => Some(DeliveryKind::TmfHub),
            "retail_webhook" => Some(DeliveryKind::RetailWebhook),
            "telco_callback" => Some(DeliveryKind::TelcoCallback),
            "aps_notify" => Some(DeliveryKind::ApsNotify),
            _ => None,
        }
    }
}

/// An outbox event claimed for dispatch, with the origin of the payment it
/// concerns (`None` for a refund of no payment, or a row older than origins).
#[derive(Clone, Debug)]
pub struct ClaimedEvent {
    pub event: LedgerEvent,
    pub origin: Option<Origin>,
}

/// One event's fan-out: the hub listeners it goes to and the webhooks it causes.
#[derive(Clone, Debug)]
pub struct FanOut {
    pub event: EventId,
    pub subscriptions: Vec<Subscription>,
    /// The event listeners' notification, built once at dispatch and kept
    /// with each of their deliveries (retries send the same body); `None`
    /// leaves it to be built at delivery.
    pub listener_body: Option<String>,
    pub webhooks: Vec<NewWebhook>,
}

/// A merchant webhook to deliver, with its body fixed now.
#[derive(Clone, Debug, PartialEq)]
pub struct NewWebhook {
    /// A merchant webhook kind (not `TmfHub`).
    pub kind: DeliveryKind,
    pub merchant_id: MerchantId,
    pub url: String,
    pub body: String,
}

/// A delivery as the operator and the merchant see it.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryRecord {
    pub id: i64,
    pub event_id: EventId,
    pub merchant_id: MerchantId,
    pub kind: DeliveryKind,
    pub url: String,
    /// pending | delivered | dead
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub last_response: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The exact bytes sent, for kinds whose body is fixed at fan-out (a TMF
    /// hub notification's is rendered from its event at each attempt).
    pub body: Option<String>,
}

/// Which deliveries a list shows, newest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeliveryFilter {
    /// One merchant's (every merchant's when `None`: operators).
    pub merchant: Option<MerchantId>,
    /// About this payment: its own events and its refunds'.
    pub payment_id: Option<i64>,
    /// `pending`, `delivered` or `dead`.
    pub state: Option<String>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_before: Option<DateTime<Utc>>,
    /// The page starts below this delivery id (the cursor of the last page).
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// One attempt of a delivery.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryAttempt {
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub response: Option<String>,
}

/// A dialect's own unique reference to a payment or refund (a retail `rrn`, a
/// telco `transactionId`).
#[derive(Clone, Debug, PartialEq)]
pub struct ExternalRef {
    pub merchant_id: MerchantId,
    pub dialect: String,
    pub reference: String,
    /// `payment` or `refund`.
    pub resource_kind: String,
    pub resource_id: i64,
}

/// What is kept of a card: never the number or the CVC.
#[derive(Clone, Debug, PartialEq)]
pub struct CardRecord {
    /// payhub's own reference of the card (`tok_…`).
    pub token: String,
    pub brand: String,
    pub first6: String,
    pub last4: String,
    /// The gateway's reusable reference of the card, when the payment was
    /// set up to save it there (Stripe's `cus_…/pm_…`): what a later charge
    /// of the saved card sends. Reported once the gateway attached it.
    pub gateway_token: Option<String>,
}

/// What a payment's start asked its gateway for, kept so that a start whose
/// answer was lost can be repeated exactly (see
/// [`payhub_core::gateway::check::repeat_start`]).
#[derive(Clone, Debug, PartialEq)]
pub struct StartTerms {
    /// The amount sent to the gateway (an APS payment's card part, not its total).
    pub amount: payhub_core::Money,
    pub subject: Option<String>,
}

/// A payment routed through a gateway.
#[derive(Clone, Debug, PartialEq)]
pub struct GatewayPayment {
    pub payment_id: PaymentId,
    pub merchant_id: MerchantId,
    /// The gateway code (`WXPAY`, …).
    pub gateway: String,
    pub gw_ref: Option<String>,
    pub state: GatewayState,
    /// What the customer must do: a QR payload while waiting for a scan.
    pub action: Option<String>,
    pub gw_error_code: Option<String>,
    pub gw_error_message: Option<String>,
    /// When an unpaid payment expires at the gateway.
    pub expires_at: DateTime<Utc>,
    /// When payhub must next ask the gateway; `None` when nothing is due.
    pub next_check_at: Option<DateTime<Utc>>,
    /// How many times payhub has asked so far.
    pub checks: i64,
    pub lang: String,
    pub return_url: Option<String>,
    pub webhook_url: Option<String>,
    /// Where the customer goes when the payment failed (APS `callbackUrlFail`);
    /// `return_url` is used for every outcome when absent.
    pub fail_url: Option<String>,
    pub card: Option<CardRecord>,
    /// How many cards the hosted page sent to the gateway for this payment
    /// (see [`payhub_core::gateway::CardAttempts`]).
    pub card_attempts: i64,
    /// Until when a card of this payment is at the gateway: another card is
    /// refused meanwhile. `None` (or past) when no card is out.
    pub card_claimed_until: Option<DateTime<Utc>>,
    /// The connector account serving this payment (`ca_…`); `None` for the
    /// simulated gateway. Every later call goes to the same account.
    pub connector_account: Option<String>,
    /// What the start asked the gateway for; `None` for rows from before
    /// migration 0015.
    pub start: Option<StartTerms>,
    pub created_at: DateTime<Utc>,
}

impl GatewayPayment {
    /// Whether the card this payment saw could be charged later, were it
    /// saved ([`payhub_core::funding::saved_card_charge`]): the simulated
    /// gateway (no connector account) charges payhub's own token, a real
    /// one only its own reference of the card.
    pub fn card_chargeable_later(&self) -> bool {
        self.card.as_ref().is_some_and(|card| {
            payhub_core::funding::saved_card_charge(
                &card.token,
                card.gateway_token.as_deref(),
                self.connector_account.is_none(),
            )
            .is_some()
        })
    }
}

/// A change to a gateway payment: the core's [`Report`](payhub_core::gateway::Report)
/// carrying the store's card record, so that what a gateway said reaches
/// [`payhub_core::gateway::apply_report`] unchanged; the payment's status
/// follows when the new state is final.
pub type GatewayUpdate = payhub_core::gateway::Report<CardRecord>;

/// What applying a gateway update did.
#[derive(Clone, Debug, PartialEq)]
pub enum GatewayApplied {
    /// The update was written (and, if final, the payment's status with its event).
    Changed(GatewayPayment),
    /// The payment had already ended; nothing changed (a duplicate notification).
    AlreadyFinal(GatewayPayment),
}

/// A refund sent to a gateway.
#[derive(Clone, Debug, PartialEq)]
pub struct GatewayRefund {
    pub refund_id: RefundId,
    pub payment_id: PaymentId,
    pub merchant_id: MerchantId,
    pub gateway: String,
    pub gw_ref: Option<String>,
    pub state: RefundState,
    pub next_check_at: Option<DateTime<Utc>>,
    pub checks: i64,
}

/// What happened when a worker tried a delivery.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryOutcome {
    pub delivered: bool,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    /// The start of the receiver's answer, kept for the operator.
    pub response: Option<String>,
    /// When to try again; `None` after a failure means the delivery gives up.
    pub retry_at: Option<DateTime<Utc>>,
}

/// A response kept under an idempotency key, replayed to retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedResponse {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

/// A response to keep under `key` in the same transaction as the work it reports.
#[derive(Clone, Debug)]
pub struct IdempotentResponse {
    pub merchant_id: MerchantId,
    pub key: String,
    /// The claim of the request keeping it: kept only if it still holds the key.
    pub claim: String,
    pub response: SavedResponse,
}

/// What to do with a request that carries an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// The key is new (or its earlier attempt was abandoned): do the work.
    Proceed,
    /// The first request with this key and body finished: answer with its response.
    Replay(SavedResponse),
    /// The key was used with a different request.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
}

/// A product of a telco service's catalogue: what an `itemList` id means.
#[derive(Clone, Debug, PartialEq)]
pub struct TelcoProduct {
    pub merchant_id: MerchantId,
    pub product_id: String,
    pub name: String,
    pub unit_price: Money,
}

/// A telco transaction beside its ledger payment (same id).
#[derive(Clone, Debug, PartialEq)]
pub struct TelcoTransaction {
    pub payment_id: PaymentId,
    pub merchant_id: MerchantId,
    pub transaction_id: String,
    pub msisdn: String,
    pub channel: Channel,
    pub is_deliverable: bool,
    pub is_billing_required: bool,
    pub language: Option<String>,
    /// The basket as JSON (see `payhub_server::api_telco::basket`).
    pub basket: String,
    pub state: TelcoState,
    /// SHA-256 (hex) of the one-time code the subscriber was sent.
    pub otp_hash: String,
    pub otp_attempts: i64,
    pub delivery_address: Option<String>,
    pub billing_address: Option<String>,
    /// The carrier billing system's reference of the reservation or charge.
    pub carrier_ref: Option<String>,
    /// When the consent, or the reservation, expires.
    pub deadline: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A change of a telco transaction, applied only if it is still in `from`.
#[derive(Clone, Debug, PartialEq)]
pub struct TelcoUpdate {
    pub from: TelcoState,
    pub to: TelcoState,
    pub basket: Option<String>,
    /// A new total and TMF document, when the subscriber removed items.
    pub total: Option<(Money, Document)>,
    pub otp_attempts: Option<i64>,
    pub delivery_address: Option<String>,
    pub billing_address: Option<String>,
    pub carrier_ref: Option<String>,
    /// The new deadline (`None`: none any more).
    pub deadline: Option<DateTime<Utc>>,
    /// The claim this change is made under (see
    /// [`TelcoStore::claim_telco_transaction`](crate::traits::TelcoStore::claim_telco_transaction)):
    /// while another live claim holds the transaction, the change is not
    /// made. Any change clears the claim.
    pub claim: Option<String>,
}

/// What the simulated carrier billing system is asked to do. Reservations
/// and charges are keyed by the transaction (its payment id), credits by the
/// refund: the same key asked again books nothing new.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CarrierOp {
    /// Hold `amount_minor` of the subscriber's limit.
    Reserve {
        key: String,
        msisdn: String,
        amount_minor: i64,
        limit_minor: i64,
    },
    /// Charge the bill at once.
    Charge {
        key: String,
        msisdn: String,
        amount_minor: i64,
        limit_minor: i64,
    },
    /// Turn an open reservation into a charge (again: nothing more).
    Commit { reference: String },
    /// Give an open reservation back.
    Release { reference: String },
    /// Credit an amount back on the bill.
    Credit {
        key: String,
        msisdn: String,
        amount_minor: i64,
    },
}

/// The simulated carrier's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CarrierAnswer {
    /// Booked (or booked before under the same key): its reference.
    Booked(String),
    /// The subscriber's spending limit leaves `available`.
    LimitExceeded { available: i64, requested: i64 },
    /// No open (or, for a commit, committed) reservation has this reference.
    UnknownReservation,
}

/// A reservation or charge on the simulated carrier bill, as it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarrierEntry {
    pub reference: String,
    /// `reservation` or `charge`.
    pub kind: String,
    /// `open`, `committed` or `released` (a reservation); `done` (a charge).
    pub state: String,
    pub amount_minor: i64,
}

/// A text message the simulated SMS centre sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxSms {
    pub merchant_id: MerchantId,
    pub msisdn: String,
    pub transaction_id: String,
    pub text: String,
    pub link: String,
    pub code: String,
    pub sent_at: DateTime<Utc>,
}

/// A TMF676 refund of a bill-charged telco payment, until it is credited
/// on the bill.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillRefund {
    pub refund_id: RefundId,
    pub payment_id: PaymentId,
    pub merchant_id: MerchantId,
    pub msisdn: String,
    pub amount_minor: i64,
    /// The carrier's credit, once made.
    pub carrier_ref: Option<String>,
    /// When the checker credits it if nobody did before.
    pub next_check_at: Option<DateTime<Utc>>,
    pub checks: i64,
}
