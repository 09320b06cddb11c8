//! What a dialect plugs into the shared flows.
//!
//! The use cases know no dialect. Where a dialect must act on something the
//! shared flows do (a sale's webhook when it ends, an APS notification, a
//! telco transaction following its card payment, the TMF hub's listeners),
//! it registers a hook at start-up; the composition root (the server's
//! `app.rs`) is the only place that names every dialect.

use std::sync::Arc;

use async_trait::async_trait;
use payhub_core::{LedgerEvent, Origin, Payment, Refund};
use payhub_store::{GatewayPayment, NewWebhook, Store, StoreError, Subscription};

use crate::Services;

/// What one dialect adds to the shared flows. Every method has a default
/// that does nothing, so a dialect implements only what it needs.
#[async_trait]
pub trait DialectHooks: Send + Sync {
    /// The dialect's name: the origin of the payments it records, under
    /// which the shared flows find these hooks.
    fn name(&self) -> &'static str;

    /// The merchant notification an outbox event about one of this dialect's
    /// payments (or a refund of one) causes, if any. The body is fixed here,
    /// so every attempt sends the same bytes.
    async fn merchant_notification(
        &self,
        _services: &Services,
        _event: &LedgerEvent,
    ) -> Result<Option<NewWebhook>, StoreError> {
        Ok(None)
    }

    /// A gateway payment reached a final state (paid, declined, expired,
    /// canceled): the dialect may move its own records along.
    async fn gateway_payment_ended(&self, _services: &Services, _row: &GatewayPayment) {}

    /// The query parameters the customer's return URL gets when a payment
    /// of this dialect, paid on the hosted page, ends.
    fn return_parameters(
        &self,
        _payment: &Payment,
        _row: &GatewayPayment,
    ) -> Option<Vec<(&'static str, String)>> {
        None
    }

    /// What this dialect calls a refund of `payment` made through another
    /// dialect, as (dialect, reference), when the payment is one it answers
    /// for: claimed with the refund, so the dialect finds it by that name
    /// (a retail sale's refund goes by an rrn). Dialects are asked in
    /// registration order; the first answer counts.
    fn refund_reference(
        &self,
        _payment: &Payment,
        _refund: &Refund,
    ) -> Option<(&'static str, String)> {
        None
    }

    /// Work of this dialect that comes due with time (deadlines); run by the
    /// workers on every pass. Returns how many items it handled.
    async fn run_due_work(&self, _services: &Services) -> usize {
        0
    }
}

/// The listeners merchants subscribe to events with (TMF676's hub): what an
/// event looks like to them, and which of them want it.
#[async_trait]
pub trait EventListeners: Send + Sync {
    /// The notifications a batch of events becomes, built from the ledger
    /// now, one per event in order; `None` where the resource an event names
    /// is gone. A batch reads its resources together, not one by one, so
    /// that fan-out keeps pace with creates (docs/PERFORMANCE.md).
    async fn envelopes(
        &self,
        store: &dyn Store,
        public_base_url: &str,
        events: &[&LedgerEvent],
    ) -> Result<Vec<Option<serde_json::Value>>, StoreError>;

    /// The notification one event becomes (see [`EventListeners::envelopes`]).
    async fn envelope(
        &self,
        store: &dyn Store,
        public_base_url: &str,
        event: &LedgerEvent,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let mut envelopes = self.envelopes(store, public_base_url, &[event]).await?;
        Ok(envelopes.pop().flatten())
    }

    /// Whether a subscription wants a notification.
    fn matches(&self, subscription: &Subscription, envelope: &serde_json::Value) -> bool;
}

/// Every hook registered, in the order they are asked.
#[derive(Clone, Default)]
pub struct Hooks {
    dialects: Vec<Arc<dyn DialectHooks>>,
    listeners: Option<Arc<dyn EventListeners>>,
}

impl Hooks {
    /// Adds a dialect's hooks; dialects are asked in the order they were added.
    pub fn with_dialect(mut self, hooks: Arc<dyn DialectHooks>) -> Hooks {
        self.dialects.push(hooks);
        self
    }

    /// Sets who listens to events.
    pub fn with_listeners(mut self, listeners: Arc<dyn EventListeners>) -> Hooks {
        self.listeners = Some(listeners);
        self
    }

    /// The dialects' hooks, in registration order.
    pub fn dialects(&self) -> &[Arc<dyn DialectHooks>] {
        &self.dialects
    }

    /// The hooks of the dialect that recorded a payment of this origin.
    pub fn dialect(&self, origin: &Origin) -> Option<&Arc<dyn DialectHooks>> {
        self.dialects
            .iter()
            .find(|hooks| hooks.name() == origin.as_str())
    }

    /// The event listeners, when a dialect registered them.
    pub fn listeners(&self) -> Option<&Arc<dyn EventListeners>> {
        self.listeners.as_ref()
    }
}
