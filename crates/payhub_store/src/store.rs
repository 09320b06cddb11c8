//! The storage interface every backend implements.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::{
    EventId, LedgerEvent, MerchantId, Payment, PaymentId, Refund, RefundId, RefundState, Status,
    SubscriptionId, TelcoState,
};

use crate::aps::ApsStore;
use crate::console::ConsoleStore;
use crate::error::{InsertRefundError, StoreError, UpdateStatusError};
use crate::records::{BillRefund, CarrierAnswer, CarrierOp, SandboxSms};
use crate::records::{
    Delivery, DeliveryAttempt, DeliveryFilter, DeliveryOutcome, DeliveryRecord, ExternalRef,
    FanOut, GatewayApplied, GatewayPayment, GatewayRefund, GatewayUpdate, IdempotencyBegin,
    IdempotentResponse, ListFilter, Listed, Merchant, Page, Subscription, TelcoProduct,
    TelcoTransaction, TelcoUpdate,
};
use crate::simulator::SimulatorStore;

/// The ledger's storage. Every method that changes a payment or refund also
/// writes its [`LedgerEvent`] to the outbox in the same transaction.
/// The APS dialect's tables are in [`ApsStore`], the simulated gateways'
/// books in [`SimulatorStore`], the operator console's in [`ConsoleStore`].
#[async_trait]
pub trait Store: ApsStore + SimulatorStore + ConsoleStore + Send + Sync + 'static {
    /// Which backend this is, for logs and the readiness probe.
    fn backend_name(&self) -> &'static str;

    /// Answers when the database does (the readiness probe).
    async fn ping(&self) -> Result<(), StoreError>;

    // ---- merchants ----
    async fn insert_merchant(&self, merchant: &Merchant) -> Result<(), StoreError>;
    async fn list_merchants(&self) -> Result<Vec<Merchant>, StoreError>;
    async fn find_merchant_by_api_key_hash(
        &self,
        api_key_hash: &str,
    ) -> Result<Option<Merchant>, StoreError>;
    async fn find_merchant(&self, id: &MerchantId) -> Result<Option<Merchant>, StoreError>;
    async fn find_merchant_by_retail_api_key(
        &self,
        retail_api_key: &str,
    ) -> Result<Option<Merchant>, StoreError>;
    /// Sets which gateways a merchant may use and how its retail requests are
    /// signed; `false` when there is no such merchant.
    async fn update_merchant_gateways(
        &self,
        id: &MerchantId,
        gateways: &[String],
        retail_signature: &str,
    ) -> Result<bool, StoreError>;

    // ---- payments ----
    /// Records a new payment, its create event and, when given, the response
    /// kept under the request's idempotency key: all or nothing.
    async fn insert_payment(
        &self,
        payment: &Payment,
        event: &LedgerEvent,
        idempotent: Option<&IdempotentResponse>,
    ) -> Result<(), StoreError>;
    /// Records many payments with their create events in one transaction (one
    /// commit, one fsync): bulk loads, and the storage ceiling of the benchmark.
    async fn insert_payments(&self, payments: &[(Payment, LedgerEvent)]) -> Result<(), StoreError>;
    async fn find_payment(
        &self,
        merchant: &MerchantId,
        id: PaymentId,
    ) -> Result<Option<Payment>, StoreError>;
    /// Lists a merchant's payments, newest first; all of them when `page` is `None`.
    async fn list_payments(
        &self,
        merchant: &MerchantId,
        filter: &ListFilter,
        page: Option<Page>,
    ) -> Result<Listed<Payment>, StoreError>;
    /// Changes a payment's status through [`payhub_core::transition`] and writes
    /// its state-change event.
    async fn update_payment_status(
        &self,
        merchant: &MerchantId,
        id: PaymentId,
        to: Status,
        now: DateTime<Utc>,
    ) -> Result<Payment, UpdateStatusError>;

    // ---- refunds ----
    /// Records a new refund after checking it against its payment with
    /// [`payhub_core::ledger::check_refund`], holding the payment locked so that
    /// concurrent refunds cannot together exceed it.
    async fn insert_refund(
        &self,
        refund: &Refund,
        event: &LedgerEvent,
        idempotent: Option<&IdempotentResponse>,
    ) -> Result<(), InsertRefundError>;
    async fn find_refund(
        &self,
        merchant: &MerchantId,
        id: RefundId,
    ) -> Result<Option<Refund>, StoreError>;
    async fn list_refunds(
        &self,
        merchant: &MerchantId,
        filter: &ListFilter,
        page: Option<Page>,
    ) -> Result<Listed<Refund>, StoreError>;
    async fn update_refund_status(
        &self,
        merchant: &MerchantId,
        id: RefundId,
        to: Status,
        now: DateTime<Utc>,
    ) -> Result<Refund, UpdateStatusError>;

    // ---- gateways ----
    /// Records a payment routed through a gateway: the payment, its create
    /// event, its gateway row and the dialect's reference, all or nothing.
    /// [`StoreError::DuplicateReference`] when the reference is taken.
    async fn insert_gateway_payment(
        &self,
        payment: &Payment,
        event: &LedgerEvent,
        gateway: &GatewayPayment,
        reference: Option<&ExternalRef>,
    ) -> Result<(), StoreError>;
    /// Writes the gateway row of a payment already in the ledger.
    async fn insert_gateway_row(&self, gateway: &GatewayPayment) -> Result<(), StoreError>;
    async fn find_gateway_payment(
        &self,
        payment_id: PaymentId,
    ) -> Result<Option<GatewayPayment>, StoreError>;
    async fn find_external_ref(
        &self,
        merchant: &MerchantId,
        dialect: &str,
        reference: &str,
    ) -> Result<Option<ExternalRef>, StoreError>;
    /// Applies what a gateway said. A payment whose gateway state is already
    /// final is left alone (duplicate notifications change nothing); a final
    /// new state moves the payment's status, with its event, in the same
    /// transaction.
    async fn apply_gateway_update(
        &self,
        payment_id: PaymentId,
        update: &GatewayUpdate,
        now: DateTime<Utc>,
    ) -> Result<GatewayApplied, UpdateStatusError>;
    /// Claims gateway payments whose check is due, hiding them until `lease_until`.
    async fn claim_due_gateway_checks(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<GatewayPayment>, StoreError>;
    /// Records a refund about to be sent to its payment's gateway (checked by
    /// the ledger's refund rules like any refund), with the dialect's reference.
    async fn insert_gateway_refund(
        &self,
        refund: &Refund,
        event: &LedgerEvent,
        gateway: &GatewayRefund,
        reference: Option<&ExternalRef>,
        idempotent: Option<&IdempotentResponse>,
    ) -> Result<(), InsertRefundError>;
    async fn find_gateway_refund(
        &self,
        refund_id: RefundId,
    ) -> Result<Option<GatewayRefund>, StoreError>;
    /// Applies a gateway's answer about a refund; a final answer moves the
    /// refund's status with its event. `false` when it had already ended.
    async fn apply_refund_update(
        &self,
        refund_id: RefundId,
        state: RefundState,
        gw_ref: Option<&str>,
        next_check_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, UpdateStatusError>;
    async fn claim_due_refund_checks(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<GatewayRefund>, StoreError>;
    /// Notes a signed request; `false` when the same signature was seen before.
    async fn remember_signature(
        &self,
        api_key: &str,
        signature: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    async fn purge_seen_signatures(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    // ---- hub subscriptions ----
    async fn insert_subscription(&self, subscription: &Subscription) -> Result<(), StoreError>;
    /// Deletes a merchant's subscription and gives up its pending deliveries;
    /// `false` when it has none with that id.
    async fn delete_subscription(
        &self,
        merchant: &MerchantId,
        id: SubscriptionId,
    ) -> Result<bool, StoreError>;
    async fn list_subscriptions(
        &self,
        merchant: &MerchantId,
    ) -> Result<Vec<Subscription>, StoreError>;

    // ---- outbox and deliveries ----
    /// Claims up to `limit` events not yet fanned out, hiding them from other
    /// dispatchers until `lease_until`.
    async fn claim_undispatched_events(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<LedgerEvent>, StoreError>;
    /// Records the deliveries each event fans out into and marks the events
    /// dispatched, all in one transaction. Repeating it for the same event and
    /// subscription adds nothing.
    async fn complete_dispatch(
        &self,
        fan_out: &[FanOut],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn find_event(&self, id: EventId) -> Result<Option<LedgerEvent>, StoreError>;
    /// Claims up to `limit` deliveries that are due, hiding them until `lease_until`.
    async fn claim_due_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError>;
    async fn record_delivery_outcome(
        &self,
        delivery_id: i64,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The deliveries `filter` selects, newest first.
    async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
    ) -> Result<Vec<DeliveryRecord>, StoreError>;
    async fn list_delivery_attempts(
        &self,
        delivery_id: i64,
    ) -> Result<Vec<DeliveryAttempt>, StoreError>;
    /// Sends a delivery again: pending, due now, with a fresh set of attempts.
    /// `false` when no such delivery (of that merchant) exists.
    async fn resend_delivery(
        &self,
        merchant: Option<&MerchantId>,
        delivery_id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Events not yet fanned out plus deliveries still pending (tests and `/readyz`).
    async fn count_undelivered(&self) -> Result<i64, StoreError>;
    /// The outbox backlog, unknown outcomes and pool use, from indexed counts
    /// (the `/metrics` scrape; docs/METRICS.md).
    async fn read_gauges(&self) -> Result<crate::StoreGauges, StoreError>;

    // ---- cluster-wide settings ----
    /// Stores `value` under `name` unless a value is already there, and
    /// returns the stored one: the first node's value wins, atomically.
    async fn claim_cluster_setting(
        &self,
        name: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError>;

    // ---- idempotency keys ----
    /// Starts a request under `key` with its random `claim` token, or says
    /// how to answer it instead.
    /// A `processing` row last renewed before `stale_before` (its lease ran
    /// out) belonged to a request that died, and is taken over.
    async fn begin_idempotent(
        &self,
        merchant: &MerchantId,
        key: &str,
        fingerprint: &str,
        claim: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<IdempotencyBegin, StoreError>;
    /// Renews a running request's claim on `key` (its lease); `false` when
    /// the key is no longer `processing` under `claim` (answered, abandoned,
    /// or taken over).
    async fn renew_idempotent(
        &self,
        merchant: &MerchantId,
        key: &str,
        claim: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Keeps a response that was not written together with its work (an error answer).
    async fn complete_idempotent(
        &self,
        saved: &IdempotentResponse,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Forgets a key whose request failed on our side, so a retry can run.
    /// Only the request holding `claim` may.
    async fn abandon_idempotent(
        &self,
        merchant: &MerchantId,
        key: &str,
        claim: &str,
    ) -> Result<(), StoreError>;
    /// Deletes keys created before `before`; returns how many.
    async fn purge_idempotency_keys(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    // ---- the telco payment service ----
    /// Adds a product to a service's catalogue, or replaces it.
    async fn upsert_telco_product(
        &self,
        product: &TelcoProduct,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The service's whole catalogue, by product id.
    async fn list_telco_products(
        &self,
        merchant: &MerchantId,
    ) -> Result<Vec<TelcoProduct>, StoreError>;
    /// Records a telco transaction's payment, its create event, its telco row
    /// and its unique reference together; `DuplicateReference` when the
    /// `transactionId` is taken.
    async fn insert_telco_transaction(
        &self,
        payment: &Payment,
        event: &LedgerEvent,
        transaction: &TelcoTransaction,
        reference: &ExternalRef,
    ) -> Result<(), StoreError>;
    async fn find_telco_transaction(
        &self,
        payment_id: PaymentId,
    ) -> Result<Option<TelcoTransaction>, StoreError>;
    /// Applies `update` if the transaction is still in `update.from`, with the
    /// payment's status change and its event; `None` when it was not (someone
    /// else moved it first: nothing was changed).
    async fn apply_telco_update(
        &self,
        payment_id: PaymentId,
        update: &TelcoUpdate,
        now: DateTime<Utc>,
    ) -> Result<Option<TelcoTransaction>, UpdateStatusError>;
    /// Transactions whose deadline has passed (consent or reservation expired).
    async fn list_overdue_telco_transactions(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<TelcoTransaction>, StoreError>;
    async fn set_telco_callback_url(
        &self,
        merchant: &MerchantId,
        url: Option<&str>,
    ) -> Result<bool, StoreError>;
    async fn telco_callback_url(&self, merchant: &MerchantId)
        -> Result<Option<String>, StoreError>;
    /// Counts a wrong one-time code on a transaction still waiting for
    /// consent, on the count as the database holds it (so codes that arrive
    /// together are each counted), rejecting it at the limit
    /// ([`payhub_core::after_wrong_code`]). `None` when it no longer waits or
    /// someone holds a claim on it.
    async fn record_wrong_telco_code(
        &self,
        payment_id: PaymentId,
        now: DateTime<Utc>,
    ) -> Result<Option<TelcoTransaction>, UpdateStatusError>;
    /// Claims a transaction still in `from` for whoever is about to call the
    /// carrier about it, until `until`, unless a live claim holds it. `None`
    /// when it is not in `from` or someone else holds it: that one acts.
    async fn claim_telco_transaction(
        &self,
        payment_id: PaymentId,
        from: TelcoState,
        claim: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<TelcoTransaction>, StoreError>;

    // ---- the simulated carrier bill and SMS centre (sandbox) ----
    /// Books `op` on the simulated carrier bill in one transaction, so every
    /// node sees the same books. `reference` names a new booking.
    async fn book_carrier(
        &self,
        op: &CarrierOp,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<CarrierAnswer, StoreError>;
    /// What the simulated carrier has charged a subscriber (minor units).
    async fn carrier_charged(&self, msisdn: &str) -> Result<i64, StoreError>;
    /// Keeps a message of the simulated SMS centre (the newest 10000 are kept).
    async fn insert_sandbox_sms(&self, sms: &SandboxSms) -> Result<(), StoreError>;
    /// What a merchant's transactions texted a number, newest first.
    async fn list_sandbox_sms(
        &self,
        merchant: &MerchantId,
        msisdn: &str,
    ) -> Result<Vec<SandboxSms>, StoreError>;

    // ---- refunds credited on the carrier bill ----
    /// Records a refund of a bill-charged payment (ledger rules apply) with
    /// its bill row, whose first check is already due at `next_check_at`, and
    /// the idempotent answer, in one transaction.
    async fn insert_bill_refund(
        &self,
        refund: &Refund,
        event: &LedgerEvent,
        row: &BillRefund,
        kept: Option<&IdempotentResponse>,
    ) -> Result<(), InsertRefundError>;
    /// Claims bill refunds whose check is due, moving their next check to
    /// `lease_until`, so one node credits each at a time.
    async fn claim_due_bill_refunds(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<BillRefund>, StoreError>;
    /// Records that a bill refund was credited: the refund becomes `done`
    /// (with its event) and is checked no more. `false` if it was already.
    async fn settle_bill_refund(
        &self,
        refund_id: RefundId,
        carrier_ref: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, UpdateStatusError>;
}
