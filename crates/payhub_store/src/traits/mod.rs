//! The storage interface, one small trait per aggregate.
//!
//! Each trait is implemented by the one `sql/` module that does its work, so
//! an operation has one name from caller to SQL. [`Store`] gathers them, so
//! `Arc<dyn Store>` is still the one handle the server holds; callers bring
//! the traits whose methods they call into scope with
//! `use payhub_store::prelude::*`.

mod accounts;
mod carrier_billing;
mod connectors;
mod console;
mod gateway;
mod idempotency;
mod ledger;
mod merchants;
mod outbox;
mod simulator;

use async_trait::async_trait;

use crate::error::StoreError;

pub use accounts::ApsStore;
pub use carrier_billing::{CarrierStore, TelcoStore};
pub use connectors::ConnectorAccountStore;
pub use console::ConsoleStore;
pub use gateway::GatewayStore;
pub use idempotency::IdempotencyStore;
pub use ledger::LedgerStore;
pub use merchants::{MerchantStore, SettingsStore};
pub use outbox::{DeliveryStore, OutboxStore, SubscriptionStore};
pub use simulator::SimulatorStore;

/// Every aggregate's storage behind one handle.
#[async_trait]
pub trait Store:
    LedgerStore
    + GatewayStore
    + OutboxStore
    + DeliveryStore
    + SubscriptionStore
    + IdempotencyStore
    + MerchantStore
    + SettingsStore
    + ApsStore
    + TelcoStore
    + CarrierStore
    + SimulatorStore
    + ConsoleStore
    + ConnectorAccountStore
    + Send
    + Sync
    + 'static
{
    /// Which backend this is, for logs and the readiness probe.
    fn backend_name(&self) -> &'static str;

    /// Answers when the database does (the readiness probe).
    async fn ping(&self) -> Result<(), StoreError>;
}
