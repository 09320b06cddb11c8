//! The storage interface every backend implements.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::{
    EventId, LedgerEvent, MerchantId, Payment, PaymentId, Refund, RefundId, Status, SubscriptionId,
};

use crate::error::{InsertRefundError, StoreError, UpdateStatusError};
use crate::records::{
    Delivery, DeliveryOutcome, IdempotencyBegin, IdempotentResponse, ListFilter, Listed, Merchant,
    Page, SavedResponse, Subscription,
};

/// The ledger's storage. Every method that changes a payment or refund also
/// writes its [`LedgerEvent`] to the outbox in the same transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
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
        fan_out: &[(EventId, Vec<Subscription>)],
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
    /// Events not yet fanned out plus deliveries still pending (tests and `/readyz`).
    async fn count_undelivered(&self) -> Result<i64, StoreError>;

    // ---- idempotency keys ----
    /// Starts a request under `key`, or says how to answer it instead.
    /// A `processing` row last touched before `stale_before` belonged to a
    /// request that died, and is taken over.
    async fn begin_idempotent(
        &self,
        merchant: &MerchantId,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<IdempotencyBegin, StoreError>;
    /// Keeps a response that was not written together with its work (an error answer).
    async fn complete_idempotent(
        &self,
        merchant: &MerchantId,
        key: &str,
        response: &SavedResponse,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Forgets a key whose request failed on our side, so a retry can run.
    async fn abandon_idempotent(&self, merchant: &MerchantId, key: &str) -> Result<(), StoreError>;
    /// Deletes keys created before `before`; returns how many.
    async fn purge_idempotency_keys(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}
