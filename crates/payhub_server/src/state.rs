//! What every handler shares.

use std::ops::Deref;
use std::sync::Arc;

use payhub_app::Services;

use crate::auth::MerchantCache;
use crate::config::Settings;
use crate::rate_limit::RateLimits;

/// Shared application state, cheap to clone: the use cases' [`Services`]
/// and what only the HTTP layer needs.
///
/// It dereferences to [`Services`], so a handler passes `&state` to a use
/// case and reads `state.store` directly: the HTTP layer is a thin shell
/// around the services, not a second owner of them.
#[derive(Clone)]
pub struct AppState {
    pub services: Arc<Services>,
    pub settings: Arc<Settings>,
    /// Recently authenticated API keys.
    pub merchants: Arc<MerchantCache>,
    /// This node's rate limits per client address and per merchant.
    pub rate_limits: Arc<RateLimits>,
}

impl Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}
