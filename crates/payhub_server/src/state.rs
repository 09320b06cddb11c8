//! What every handler and worker shares.

use std::sync::Arc;

use payhub_store::Store;
use tokio::sync::Notify;

use crate::api_telco::Telco;
use crate::auth::MerchantCache;
use crate::config::Settings;
use crate::gateways::Gateways;
use crate::rate_limit::RateLimits;
use crate::secrets::MasterKey;

/// Shared application state, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    /// Wakes the hub dispatcher when a request wrote to the outbox, so events
    /// leave at once instead of at the next poll.
    pub outbox_written: Arc<Notify>,
    /// Recently authenticated API keys.
    pub merchants: Arc<MerchantCache>,
    /// The connectors payments are routed to.
    pub gateways: Arc<Gateways>,
    /// What merchants' signing secrets and page links are derived from.
    pub master_key: Arc<MasterKey>,
    /// The (simulated) carrier billing system and SMS centre of the telco service.
    pub telco: Arc<Telco>,
    /// This node's rate limits per client address and per merchant.
    pub rate_limits: Arc<RateLimits>,
}

impl AppState {
    /// Tells the workers there is new outbox work.
    pub fn notify_outbox(&self) {
        self.outbox_written.notify_one();
    }
}
