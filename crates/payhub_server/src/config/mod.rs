//! One typed settings tree, read once at start-up.
//!
//! Precedence, lowest first: built-in defaults, the TOML config file
//! (`--config FILE`, `PAYHUB_CONFIG`, or `./payhub.toml` when present), `PAYHUB_…`
//! environment variables, command-line flags. A bad value stops start-up with a
//! message naming it; nothing is re-read or panics later.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use payhub_app::callback_policy::CallbackPolicy;
use payhub_app::settings::{CarrierBillingSettings, ServiceSettings, WebhookSchedule};
pub use payhub_app::settings::{GatewaySettings, HubSettings};

mod input;
mod limits;
mod metrics;
mod resolve;
pub(crate) mod telco;

pub use input::{DataInput, SettingsInput};
pub use limits::{
    parse_trusted_proxies, Rate, RateLimitSettings, DEFAULT_ADDRESS_PER_S, DEFAULT_MERCHANT_PER_S,
};
pub use metrics::MetricsSettings;
pub use resolve::SettingsError;
pub use telco::{CarrierChoice, ChannelDefaults, SmsChoice, TelcoSettings};

/// Address payhub listens on unless told otherwise: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8676";
/// Where the embedded SQLite database lives unless told otherwise.
pub const DEFAULT_DATA_DIR: &str = "payhub-data";

/// Everything the server needs to know, validated.
#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// What `href` and `Location` are built from, without a trailing slash.
    pub public_base_url: String,
    pub db_max_connections: u32,
    /// The most stored resources one TMF676 list reads to evaluate filters
    /// no index serves; a broader list is refused.
    pub list_max_scanned_rows: i64,
    pub hub: HubSettings,
    /// How long an idempotency key and its response are kept (at least 24 hours).
    pub idempotency_retention: Duration,
    /// The lease of a request on its idempotency key: a running request
    /// renews it (every third of the lease), so a claim not renewed for this
    /// long belonged to a node that died, and a retry may take the key over.
    pub idempotency_lease: Duration,
    /// Which internal networks callbacks may reach (none by default).
    pub callback_policy: Arc<CallbackPolicy>,
    /// Sandbox (simulated gateways settle through `/sandbox/v1`) or production.
    pub mode: Mode,
    pub gateways: GatewaySettings,
    pub retail: RetailSettings,
    /// The telco payment service's defaults, deadlines and simulated limit.
    pub telco: TelcoSettings,
    /// The master key in Base64; `None` means `DATA_DIR/master.key`.
    pub master_key: Option<SecretString>,
    /// How long a request head may take to arrive (see `crate::serve`).
    pub header_read_timeout: Duration,
    /// How long a connection may stay open with no request in progress.
    pub idle_timeout: Duration,
    /// Where `/metrics` is served and who may read it (none by default).
    pub metrics: MetricsSettings,
    /// Requests per second per client address and per merchant (see `crate::rate_limit`).
    pub rate_limits: RateLimitSettings,
}

/// Whether the sandbox endpoints exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The embedded default: `/sandbox/v1` settles simulated payments.
    Sandbox,
    /// No sandbox endpoints.
    Production,
}

/// The retail dialect's settings.
#[derive(Clone, Debug)]
pub struct RetailSettings {
    /// The delay between two webhook attempts (seed 003: 5 minutes).
    pub webhook_interval: Duration,
    /// Webhook attempts before giving up (seed 003: 5).
    pub webhook_attempts: u32,
    /// How far a request's timestamp may be from payhub's clock.
    pub signature_window: Duration,
}

impl Settings {
    /// The part of the settings the use cases and workers read.
    pub fn service_settings(&self) -> ServiceSettings {
        ServiceSettings {
            public_base_url: self.public_base_url.clone(),
            gateways: self.gateways.clone(),
            hub: self.hub.clone(),
            carrier_billing: CarrierBillingSettings {
                consent_ttl: self.telco.consent_ttl,
                reservation_ttl: self.telco.reservation_ttl,
            },
            merchant_webhooks: WebhookSchedule {
                interval: self.retail.webhook_interval,
                attempts: self.retail.webhook_attempts,
            },
            callback_policy: self.callback_policy.clone(),
            idempotency_retention: self.idempotency_retention,
            signature_retention: self.retail.signature_window.saturating_mul(2),
        }
    }
}
