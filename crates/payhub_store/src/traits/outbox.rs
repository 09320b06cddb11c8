//! The outbox aggregate: ledger events waiting to be fanned out, the
//! webhook deliveries they fan out into, and the hub subscriptions that
//! ask for them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::{EventId, LedgerEvent, MerchantId, SubscriptionId};

use crate::error::StoreError;
use crate::records::{
    ClaimedEvent, Delivery, DeliveryAttempt, DeliveryFilter, DeliveryOutcome, DeliveryRecord,
    FanOut, Subscription,
};

/// The outbox's events and their dispatch.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claims up to `limit` events not yet fanned out, hiding them from other
    /// dispatchers until `lease_until`, each with its payment's origin.
    async fn claim_undispatched_events(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedEvent>, StoreError>;
    /// Records the deliveries each event fans out into and marks the events
    /// dispatched, all in one transaction. Repeating it for the same event and
    /// subscription adds nothing.
    async fn complete_dispatch(
        &self,
        fan_out: &[FanOut],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn find_event(&self, id: EventId) -> Result<Option<LedgerEvent>, StoreError>;
    /// Events not yet fanned out plus deliveries still pending (tests and `/readyz`).
    async fn count_undelivered(&self) -> Result<i64, StoreError>;
    /// The outbox backlog, unknown outcomes and pool use, from indexed counts
    /// (the `/metrics` scrape; docs/METRICS.md).
    async fn read_gauges(&self) -> Result<crate::StoreGauges, StoreError>;
}

/// Webhook deliveries and their attempts.
#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Claims up to `limit` deliveries that are due, hiding them until `lease_until`.
    async fn claim_due_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Records the outcomes of a round of attempts (delivery id, outcome),
    /// in one transaction: one writer turn for the round, not one per
    /// delivery. A delivery no longer pending (given up meanwhile) keeps
    /// its state.
    async fn record_delivery_outcomes(
        &self,
        outcomes: &[(i64, DeliveryOutcome)],
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
}

/// Hub listeners (TMF676 `/hub`).
#[async_trait]
pub trait SubscriptionStore: Send + Sync {
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
}
