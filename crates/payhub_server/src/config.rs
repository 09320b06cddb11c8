//! One typed settings tree, read once at start-up.
//!
//! Precedence, lowest first: built-in defaults, the TOML config file
//! (`--config FILE`, `PAYHUB_CONFIG`, or `./payhub.toml` when present), `PAYHUB_…`
//! environment variables, command-line flags. A bad value stops start-up with a
//! message naming it; nothing is re-read or panics later.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use payhub_core::Channel;

use payhub_app::callback_policy::CallbackPolicy;
pub use payhub_app::settings::{GatewaySettings, HubSettings};
use payhub_app::settings::{ServiceSettings, WebhookSchedule};

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
    pub metrics: crate::metrics::MetricsSettings,
    /// Requests per second per client address and per merchant (see `crate::rate_limit`).
    pub rate_limits: crate::rate_limit::RateLimitSettings,
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

/// The telco payment service (seed 004).
#[derive(Clone, Debug)]
pub struct TelcoSettings {
    /// Per channel: `isDeliverable`, `isBillingRequired` and `isRemovable`
    /// when a request leaves them out.
    pub defaults: Vec<(Channel, ChannelDefaults)>,
    /// How long the subscriber has to consent.
    pub consent_ttl: Duration,
    /// How long a reservation (channel 10) waits for its commit before it is released.
    pub reservation_ttl: Duration,
    /// The simulated carrier billing system's spending limit per subscriber, in minor units.
    pub spending_limit_minor: i64,
    /// How long the simulated carrier takes to answer (zero; tests set it
    /// beyond the gateway call timeout to leave a carrier call unanswered).
    pub carrier_latency: Duration,
}

/// A channel's defaults (seed 004 lists them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelDefaults {
    pub is_deliverable: bool,
    pub is_billing_required: bool,
    pub is_removable: bool,
}

impl TelcoSettings {
    /// The defaults of a channel.
    pub fn defaults_of(&self, channel: Channel) -> ChannelDefaults {
        self.defaults
            .iter()
            .find(|(c, _)| *c == channel)
            .map(|(_, d)| *d)
            .unwrap_or(ChannelDefaults {
                is_deliverable: false,
                is_billing_required: false,
                is_removable: true,
            })
    }
}

/// Seed 004's defaults per channel: (deliverable, billing required, removable).
const SEED_004_DEFAULTS: [(i64, bool, bool, bool); 4] = [
    (10, false, false, true),
    (11, false, false, true),
    (40, true, true, true),
    (50, false, false, true),
];

/// Reads a per-channel flag list such as `10=false,40=true` over `base`.
fn channel_flags(
    name: &'static str,
    text: Option<&str>,
    mut base: Vec<(Channel, bool)>,
) -> Result<Vec<(Channel, bool)>, SettingsError> {
    let invalid = |reason: String| SettingsError::Invalid { name, reason };
    for part in text
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (id, flag) = part
            .split_once('=')
            .ok_or_else(|| invalid(format!("'{part}': expected CHANNEL=true|false")))?;
        let channel = id
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(Channel::from_id)
            .ok_or_else(|| invalid(format!("'{id}' is not a channel (10, 11, 40, 50)")))?;
        let flag = match flag.trim() {
            "true" => true,
            "false" => false,
            other => return Err(invalid(format!("'{other}': expected true or false"))),
        };
        match base.iter_mut().find(|(c, _)| *c == channel) {
            Some(entry) => entry.1 = flag,
            None => base.push((channel, flag)),
        }
    }
    Ok(base)
}

/// The settings a file, the environment or flags may give; all optional.
#[derive(Clone, Debug, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct SettingsInput {
    /// Directory of the embedded SQLite database (and the demo credentials file).
    #[arg(long, env = "PAYHUB_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST/DB; default: SQLite in the data directory.
    #[arg(long, env = "PAYHUB_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Address and port to listen on (serve only).
    #[arg(long, env = "PAYHUB_LISTEN")]
    pub listen: Option<String>,
    /// Base URL clients reach payhub at; hrefs and Location headers start with it.
    #[arg(long, env = "PAYHUB_PUBLIC_BASE_URL")]
    pub public_base_url: Option<String>,
    /// Database connections in the pool.
    #[arg(long, env = "PAYHUB_DB_MAX_CONNECTIONS")]
    pub db_max_connections: Option<u32>,
    /// The most stored resources a TMF676 list reads to evaluate filters no
    /// index serves (default 10000); a broader list is refused.
    #[arg(long, env = "PAYHUB_LIST_MAX_SCANNED_ROWS")]
    pub list_max_scanned_rows: Option<i64>,
    /// Delay before the second hub delivery attempt, in milliseconds.
    #[arg(long, env = "PAYHUB_HUB_RETRY_BASE_MS")]
    pub hub_retry_base_ms: Option<u64>,
    /// Longest delay between hub delivery attempts, in seconds.
    #[arg(long, env = "PAYHUB_HUB_RETRY_MAX_S")]
    pub hub_retry_max_s: Option<u64>,
    /// Hub delivery attempts before giving up.
    #[arg(long, env = "PAYHUB_HUB_MAX_ATTEMPTS")]
    pub hub_max_attempts: Option<u32>,
    /// How long idempotency keys are kept, in hours (at least 24).
    #[arg(long, env = "PAYHUB_IDEMPOTENCY_RETENTION_H")]
    pub idempotency_retention_h: Option<u64>,
    /// Seconds a running request's claim on its idempotency key lasts without
    /// renewal (default 10): how soon a retry may run after a node died.
    #[arg(long, env = "PAYHUB_IDEMPOTENCY_LEASE_S")]
    pub idempotency_lease_s: Option<u64>,
    /// Comma-separated CIDRs of loopback/private networks that callbacks may
    /// reach anyway (default: none), e.g. "127.0.0.1/32,10.20.0.0/16".
    #[arg(long, env = "PAYHUB_ALLOWED_CALLBACK_NETS")]
    pub allowed_callback_nets: Option<String>,
    /// "sandbox" (default: simulated payments can be settled through
    /// /sandbox/v1) or "production" (no sandbox endpoints).
    #[arg(long, env = "PAYHUB_MODE")]
    pub mode: Option<String>,
    /// Seconds a QR or card payment waits for the customer (default 300).
    #[arg(long, env = "PAYHUB_PAYMENT_EXPIRY_S")]
    pub payment_expiry_s: Option<u64>,
    /// Milliseconds a gateway call may take before its outcome is unknown (default 10000).
    #[arg(long, env = "PAYHUB_GATEWAY_TIMEOUT_MS")]
    pub gateway_timeout_ms: Option<u64>,
    /// Milliseconds before asking a gateway again about an unknown outcome (default 1000, doubling).
    #[arg(long, env = "PAYHUB_GATEWAY_CHECK_BASE_MS")]
    pub gateway_check_base_ms: Option<u64>,
    /// Largest random delay of the simulated gateways, in milliseconds (default 150).
    #[arg(long, env = "PAYHUB_SIMULATED_LATENCY_MS")]
    pub simulated_latency_ms: Option<u64>,
    /// Seconds between two retail webhook attempts (default 300).
    #[arg(long, env = "PAYHUB_RETAIL_WEBHOOK_INTERVAL_S")]
    pub retail_webhook_interval_s: Option<u64>,
    /// Retail webhook attempts before giving up (default 5).
    #[arg(long, env = "PAYHUB_RETAIL_WEBHOOK_ATTEMPTS")]
    pub retail_webhook_attempts: Option<u32>,
    /// How many seconds a retail request's timestamp may differ from payhub's clock (default 300).
    #[arg(long, env = "PAYHUB_RETAIL_SIGNATURE_WINDOW_S")]
    pub retail_signature_window_s: Option<u64>,
    /// The master key (32 bytes, Base64) that merchants' signing secrets are
    /// derived from; default: DATA_DIR/master.key, created on first start.
    /// Every node of a cluster needs the same one.
    #[arg(long, env = "PAYHUB_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
    /// Telco channels' default isDeliverable, e.g. "10=false,11=false,40=true,50=false" (the default).
    #[arg(long, env = "PAYHUB_TELCO_DEFAULT_DELIVERABLE")]
    pub telco_default_deliverable: Option<String>,
    /// Telco channels' default isBillingRequired, e.g. "10=false,11=false,40=true,50=false" (the default).
    #[arg(long, env = "PAYHUB_TELCO_DEFAULT_BILLING_REQUIRED")]
    pub telco_default_billing_required: Option<String>,
    /// Telco channels' default isRemovable, e.g. "10=true,11=true,40=true,50=true" (the default).
    #[arg(long, env = "PAYHUB_TELCO_DEFAULT_REMOVABLE")]
    pub telco_default_removable: Option<String>,
    /// Seconds a subscriber has to consent to a telco transaction (default 900).
    #[arg(long, env = "PAYHUB_TELCO_CONSENT_TTL_S")]
    pub telco_consent_ttl_s: Option<u64>,
    /// Seconds a reservation waits for its commit before it is released (default 1800).
    #[arg(long, env = "PAYHUB_TELCO_RESERVATION_TTL_S")]
    pub telco_reservation_ttl_s: Option<u64>,
    /// The simulated carrier billing's spending limit per subscriber, in minor units (default 50000).
    #[arg(long, env = "PAYHUB_TELCO_SPENDING_LIMIT_MINOR")]
    pub telco_spending_limit_minor: Option<i64>,
    /// Milliseconds a client has to send a whole request head; slower
    /// connections are closed (default 10000).
    #[arg(long, env = "PAYHUB_HEADER_READ_TIMEOUT_MS")]
    pub header_read_timeout_ms: Option<u64>,
    /// Seconds a connection may stay open with no request in progress (default 60).
    #[arg(long, env = "PAYHUB_IDLE_TIMEOUT_S")]
    pub idle_timeout_s: Option<u64>,
    /// Bearer token that opens `/metrics` on the API listener (default: none, 404).
    #[arg(long, env = "PAYHUB_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// A separate address serving `/metrics` without a token, e.g. "127.0.0.1:9464".
    #[arg(long, env = "PAYHUB_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Requests per second one client address may send, on this node (default 50; 0: no limit).
    #[arg(long, env = "PAYHUB_RATE_LIMIT_ADDRESS_PER_S")]
    pub rate_limit_address_per_s: Option<u32>,
    /// Requests one client address may send at once above its rate (default: twice the rate).
    #[arg(long, env = "PAYHUB_RATE_LIMIT_ADDRESS_BURST")]
    pub rate_limit_address_burst: Option<u32>,
    /// Requests per second one merchant may send, on this node (default 200; 0: no limit).
    #[arg(long, env = "PAYHUB_RATE_LIMIT_MERCHANT_PER_S")]
    pub rate_limit_merchant_per_s: Option<u32>,
    /// Requests one merchant may send at once above its rate (default: twice the rate).
    #[arg(long, env = "PAYHUB_RATE_LIMIT_MERCHANT_BURST")]
    pub rate_limit_merchant_burst: Option<u32>,
    /// Comma-separated addresses or CIDRs of reverse proxies whose
    /// X-Forwarded-For names the client (default: none, the header is ignored).
    #[arg(long, env = "PAYHUB_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,
}

/// Where payhub's data is: all that the administration commands (`merchant`,
/// `aps`, `telco`, `deliveries`, `migrate`) need, so their `--help` shows
/// these three and not the server's settings. A config file (`--config`)
/// is still read whole.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct DataInput {
    /// Directory of the embedded SQLite database, `master.key` and the demo credentials file.
    #[arg(long, env = "PAYHUB_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST/DB; default: SQLite in the data directory.
    #[arg(long, env = "PAYHUB_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The master key (32 bytes, Base64); default: DATA_DIR/master.key.
    #[arg(long, env = "PAYHUB_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
}

impl From<DataInput> for SettingsInput {
    fn from(input: DataInput) -> SettingsInput {
        SettingsInput {
            data_dir: input.data_dir,
            database_url: input.database_url,
            master_key: input.master_key,
            ..SettingsInput::default()
        }
    }
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path} is invalid: {source}")]
    ParseFile {
        path: String,
        source: Box<toml::de::Error>,
    },
    #[error("invalid setting {name}: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl Settings {
    /// The part of the settings the use cases and workers read.
    pub fn service_settings(&self) -> ServiceSettings {
        ServiceSettings {
            public_base_url: self.public_base_url.clone(),
            gateways: self.gateways.clone(),
            hub: self.hub.clone(),
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

impl SettingsInput {
    /// Reads a TOML config file.
    pub fn from_file(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::ReadFile {
            path: path.display().to_string(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| SettingsError::ParseFile {
            path: path.display().to_string(),
            source: Box::new(source),
        })
    }

    /// Fills every field this one leaves empty from `lower`.
    pub fn over(self, lower: SettingsInput) -> SettingsInput {
        SettingsInput {
            data_dir: self.data_dir.or(lower.data_dir),
            database_url: self.database_url.or(lower.database_url),
            listen: self.listen.or(lower.listen),
            public_base_url: self.public_base_url.or(lower.public_base_url),
            db_max_connections: self.db_max_connections.or(lower.db_max_connections),
            list_max_scanned_rows: self.list_max_scanned_rows.or(lower.list_max_scanned_rows),
            hub_retry_base_ms: self.hub_retry_base_ms.or(lower.hub_retry_base_ms),
            hub_retry_max_s: self.hub_retry_max_s.or(lower.hub_retry_max_s),
            hub_max_attempts: self.hub_max_attempts.or(lower.hub_max_attempts),
            idempotency_retention_h: self
                .idempotency_retention_h
                .or(lower.idempotency_retention_h),
            idempotency_lease_s: self.idempotency_lease_s.or(lower.idempotency_lease_s),
            allowed_callback_nets: self.allowed_callback_nets.or(lower.allowed_callback_nets),
            mode: self.mode.or(lower.mode),
            payment_expiry_s: self.payment_expiry_s.or(lower.payment_expiry_s),
            gateway_timeout_ms: self.gateway_timeout_ms.or(lower.gateway_timeout_ms),
            gateway_check_base_ms: self.gateway_check_base_ms.or(lower.gateway_check_base_ms),
            simulated_latency_ms: self.simulated_latency_ms.or(lower.simulated_latency_ms),
            retail_webhook_interval_s: self
                .retail_webhook_interval_s
                .or(lower.retail_webhook_interval_s),
            retail_webhook_attempts: self
                .retail_webhook_attempts
                .or(lower.retail_webhook_attempts),
            retail_signature_window_s: self
                .retail_signature_window_s
                .or(lower.retail_signature_window_s),
            master_key: self.master_key.or(lower.master_key),
            telco_default_deliverable: self
                .telco_default_deliverable
                .or(lower.telco_default_deliverable),
            telco_default_billing_required: self
                .telco_default_billing_required
                .or(lower.telco_default_billing_required),
            telco_default_removable: self
                .telco_default_removable
                .or(lower.telco_default_removable),
            telco_consent_ttl_s: self.telco_consent_ttl_s.or(lower.telco_consent_ttl_s),
            telco_reservation_ttl_s: self
                .telco_reservation_ttl_s
                .or(lower.telco_reservation_ttl_s),
            telco_spending_limit_minor: self
                .telco_spending_limit_minor
                .or(lower.telco_spending_limit_minor),
            header_read_timeout_ms: self.header_read_timeout_ms.or(lower.header_read_timeout_ms),
            idle_timeout_s: self.idle_timeout_s.or(lower.idle_timeout_s),
            metrics_token: self.metrics_token.or(lower.metrics_token),
            metrics_listen: self.metrics_listen.or(lower.metrics_listen),
            rate_limit_address_per_s: self
                .rate_limit_address_per_s
                .or(lower.rate_limit_address_per_s),
            rate_limit_address_burst: self
                .rate_limit_address_burst
                .or(lower.rate_limit_address_burst),
            rate_limit_merchant_per_s: self
                .rate_limit_merchant_per_s
                .or(lower.rate_limit_merchant_per_s),
            rate_limit_merchant_burst: self
                .rate_limit_merchant_burst
                .or(lower.rate_limit_merchant_burst),
            trusted_proxies: self.trusted_proxies.or(lower.trusted_proxies),
        }
    }

    /// Applies defaults and checks every value.
    pub fn resolve(self) -> Result<Settings, SettingsError> {
        let telco = self.telco_settings()?;
        let metrics = crate::metrics::MetricsSettings::resolve(
            self.metrics_token.as_deref(),
            self.metrics_listen.as_deref(),
        )?;
        let rate_limits = self.rate_limit_settings()?;
        let listen_text = self.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen: SocketAddr = listen_text.parse().map_err(|e| SettingsError::Invalid {
            name: "listen",
            reason: format!("'{listen_text}': {e}"),
        })?;
        let data_dir = self
            .data_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database_url = self
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("payhub.sqlite3").display()));
        let public_base_url = self
            .public_base_url
            .unwrap_or_else(|| format!("http://{listen}"));
        let parsed = url::Url::parse(&public_base_url).map_err(|e| SettingsError::Invalid {
            name: "public_base_url",
            reason: format!("'{public_base_url}': {e}"),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() {
            return Err(SettingsError::Invalid {
                name: "public_base_url",
                reason: format!("'{public_base_url}' must be an http(s) URL without a query"),
            });
        }
        let retention_h = self.idempotency_retention_h.unwrap_or(24);
        if retention_h < 24 {
            return Err(SettingsError::Invalid {
                name: "idempotency_retention_h",
                reason: "keys are kept at least 24 hours".into(),
            });
        }
        let lease_s = self.idempotency_lease_s.unwrap_or(10);
        if !(1..=60).contains(&lease_s) {
            return Err(SettingsError::Invalid {
                name: "idempotency_lease_s",
                reason: "between 1 and 60 seconds".into(),
            });
        }
        let callback_policy = CallbackPolicy::parse(
            self.allowed_callback_nets.as_deref().unwrap_or(""),
        )
        .map_err(|reason| SettingsError::Invalid {
            name: "allowed_callback_nets",
            reason,
        })?;
        let mode = match self.mode.as_deref().unwrap_or("sandbox") {
            "sandbox" => Mode::Sandbox,
            "production" => Mode::Production,
            other => {
                return Err(SettingsError::Invalid {
                    name: "mode",
                    reason: format!("'{other}': expected sandbox or production"),
                })
            }
        };
        let gateways = GatewaySettings {
            qr_expiry: Duration::from_secs(self.payment_expiry_s.unwrap_or(300).max(1)),
            call_timeout: Duration::from_millis(self.gateway_timeout_ms.unwrap_or(10_000).max(1)),
            check_base: Duration::from_millis(self.gateway_check_base_ms.unwrap_or(1_000).max(1)),
            check_max: Duration::from_secs(300),
            simulated_latency: Duration::from_millis(self.simulated_latency_ms.unwrap_or(150)),
        };
        let retail = RetailSettings {
            webhook_interval: Duration::from_secs(self.retail_webhook_interval_s.unwrap_or(300)),
            webhook_attempts: self.retail_webhook_attempts.unwrap_or(5).max(1),
            signature_window: Duration::from_secs(
                self.retail_signature_window_s.unwrap_or(300).max(1),
            ),
        };
        let master_key = self.master_key.map(SecretString::from);
        if let Some(key) = &master_key {
            payhub_app::secrets::MasterKey::from_base64(key.expose_secret()).map_err(|e| {
                SettingsError::Invalid {
                    name: "master_key",
                    reason: e.to_string(),
                }
            })?;
        }
        let defaults = HubSettings::default();
        let hub = HubSettings {
            retry_base: self
                .hub_retry_base_ms
                .map_or(defaults.retry_base, Duration::from_millis),
            retry_max: self
                .hub_retry_max_s
                .map_or(defaults.retry_max, Duration::from_secs),
            max_attempts: self
                .hub_max_attempts
                .unwrap_or(defaults.max_attempts)
                .max(1),
            ..defaults
        };
        Ok(Settings {
            listen,
            data_dir,
            database_url,
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
            db_max_connections: self.db_max_connections.unwrap_or(10).max(1),
            list_max_scanned_rows: self.list_max_scanned_rows.unwrap_or(10_000).max(1),
            hub,
            idempotency_retention: Duration::from_secs(retention_h * 3600),
            idempotency_lease: Duration::from_secs(lease_s),
            callback_policy: Arc::new(callback_policy),
            mode,
            gateways,
            retail,
            telco,
            master_key,
            header_read_timeout: Duration::from_millis(
                self.header_read_timeout_ms.unwrap_or(10_000).max(1),
            ),
            idle_timeout: Duration::from_secs(self.idle_timeout_s.unwrap_or(60).max(1)),
            metrics,
            rate_limits,
        })
    }

    fn rate_limit_settings(&self) -> Result<crate::rate_limit::RateLimitSettings, SettingsError> {
        use crate::rate_limit::{self as limits, Rate};
        let rate = |name, per_s: Option<u32>, default, burst| {
            Rate::new(per_s.unwrap_or(default), burst)
                .map_err(|reason| SettingsError::Invalid { name, reason })
        };
        Ok(limits::RateLimitSettings {
            per_address: rate(
                "rate_limit_address_burst",
                self.rate_limit_address_per_s,
                limits::DEFAULT_ADDRESS_PER_S,
                self.rate_limit_address_burst,
            )?,
            per_merchant: rate(
                "rate_limit_merchant_burst",
                self.rate_limit_merchant_per_s,
                limits::DEFAULT_MERCHANT_PER_S,
                self.rate_limit_merchant_burst,
            )?,
            trusted_proxies: limits::parse_trusted_proxies(
                self.trusted_proxies.as_deref().unwrap_or(""),
            )
            .map_err(|reason| SettingsError::Invalid {
                name: "trusted_proxies",
                reason,
            })?,
        })
    }

    fn telco_settings(&self) -> Result<TelcoSettings, SettingsError> {
        let seed = |pick: fn(&(i64, bool, bool, bool)) -> bool| -> Vec<(Channel, bool)> {
            SEED_004_DEFAULTS
                .iter()
                .filter_map(|entry| Channel::from_id(entry.0).map(|c| (c, pick(entry))))
                .collect()
        };
        let deliverable = channel_flags(
            "telco_default_deliverable",
            self.telco_default_deliverable.as_deref(),
            seed(|e| e.1),
        )?;
        let billing = channel_flags(
            "telco_default_billing_required",
            self.telco_default_billing_required.as_deref(),
            seed(|e| e.2),
        )?;
        let removable = channel_flags(
            "telco_default_removable",
            self.telco_default_removable.as_deref(),
            seed(|e| e.3),
        )?;
        let flag = |list: &[(Channel, bool)], channel: Channel| {
            list.iter().any(|(c, f)| *c == channel && *f)
        };
        let limit = self.telco_spending_limit_minor.unwrap_or(50_000);
        if limit < 0 {
            return Err(SettingsError::Invalid {
                name: "telco_spending_limit_minor",
                reason: "must not be negative".into(),
            });
        }
        Ok(TelcoSettings {
            defaults: Channel::ALL
                .into_iter()
                .map(|channel| {
                    (
                        channel,
                        ChannelDefaults {
                            is_deliverable: flag(&deliverable, channel),
                            is_billing_required: flag(&billing, channel),
                            is_removable: flag(&removable, channel),
                        },
                    )
                })
                .collect(),
            consent_ttl: Duration::from_secs(self.telco_consent_ttl_s.unwrap_or(900).max(1)),
            reservation_ttl: Duration::from_secs(
                self.telco_reservation_ttl_s.unwrap_or(1800).max(1),
            ),
            spending_limit_minor: limit,
            carrier_latency: Duration::ZERO,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_embedded_sqlite_on_loopback() -> Result<(), SettingsError> {
        let s = SettingsInput::default().resolve()?;
        assert_eq!(s.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(s.database_url, "sqlite://payhub-data/payhub.sqlite3");
        assert_eq!(s.public_base_url, "http://127.0.0.1:8676");
        Ok(())
    }

    #[test]
    fn flags_win_over_the_file() -> Result<(), SettingsError> {
        let file: SettingsInput = toml::from_str("listen = \"127.0.0.1:1\"\ndata_dir = \"d\"")
            .map_err(|e| SettingsError::ParseFile {
                path: "-".into(),
                source: Box::new(e),
            })?;
        let flags = SettingsInput {
            listen: Some("127.0.0.1:2".into()),
            ..Default::default()
        };
        let s = flags.over(file).resolve()?;
        assert_eq!(s.listen.port(), 2);
        assert_eq!(s.data_dir, PathBuf::from("d"));
        Ok(())
    }

    #[test]
    fn refuses_bad_values() {
        for input in [
            SettingsInput {
                listen: Some("nowhere".into()),
                ..Default::default()
            },
            SettingsInput {
                public_base_url: Some("ftp://x".into()),
                ..Default::default()
            },
            SettingsInput {
                idempotency_retention_h: Some(1),
                ..Default::default()
            },
            SettingsInput {
                allowed_callback_nets: Some("10.0.0.0/99".into()),
                ..Default::default()
            },
            SettingsInput {
                idempotency_lease_s: Some(0),
                ..Default::default()
            },
            SettingsInput {
                rate_limit_merchant_burst: Some(0),
                ..Default::default()
            },
            SettingsInput {
                trusted_proxies: Some("the proxy".into()),
                ..Default::default()
            },
        ] {
            assert!(input.resolve().is_err());
        }
    }

    /// The defaults docs/CONFIGURATION.md states; 0 turns a limit off.
    #[test]
    fn rate_limits_default_to_the_documented_values() -> Result<(), SettingsError> {
        let limits = SettingsInput::default().resolve()?.rate_limits;
        let pair = |rate: Option<crate::rate_limit::Rate>| {
            rate.map(|r| (r.per_second.get(), r.burst.get()))
        };
        assert_eq!(pair(limits.per_address), Some((50, 100)));
        assert_eq!(pair(limits.per_merchant), Some((200, 400)));
        assert!(limits.trusted_proxies.is_empty());
        let off = SettingsInput {
            rate_limit_address_per_s: Some(0),
            rate_limit_merchant_per_s: Some(0),
            ..Default::default()
        }
        .resolve()?
        .rate_limits;
        assert_eq!((off.per_address, off.per_merchant), (None, None));
        Ok(())
    }
}
