//! What every use case shares.

use std::sync::Arc;

use payhub_store::Store;
use tokio::sync::Notify;

use crate::carrier_billing::CarrierBilling;
use crate::gateways::Gateways;
use crate::hooks::Hooks;
use crate::secrets::MasterKey;
use crate::settings::ServiceSettings;

/// The store, the outside systems and the settings the use cases work with.
/// One per process; the HTTP layer holds it behind its own state.
pub struct Services {
    pub store: Arc<dyn Store>,
    /// The connectors payments are routed to.
    pub gateways: Arc<Gateways>,
    /// The (simulated) carrier billing system and SMS centre.
    pub carrier_billing: Arc<CarrierBilling>,
    /// What merchants' signing secrets and page links are derived from.
    pub master_key: Arc<MasterKey>,
    /// The settings the use cases read.
    pub config: Arc<ServiceSettings>,
    /// What the dialects plug into the shared flows.
    pub hooks: Hooks,
    /// Wakes the outbox workers when a request wrote to the outbox, so events
    /// leave at once instead of at the next poll.
    pub outbox_written: Arc<Notify>,
}

impl Services {
    /// Tells the workers there is new outbox work.
    pub fn notify_outbox(&self) {
        self.outbox_written.notify_one();
    }
}
