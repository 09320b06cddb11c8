//! What every handler and worker shares.

use std::sync::Arc;

use payhub_store::Store;
use tokio::sync::Notify;

use crate::auth::MerchantCache;
use crate::config::Settings;

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
}

impl AppState {
    /// Tells the workers there is new outbox work.
    pub fn notify_outbox(&self) {
        self.outbox_written.notify_one();
    }
}
