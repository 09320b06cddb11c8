//! The settings as given: by the config file, the environment and the
//! command line, each a partial [`SettingsInput`], merged by precedence
//! before [`SettingsInput::resolve`] checks them.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::SettingsError;

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
    /// Cards a customer may try on one hosted-page payment (default 3, at
    /// most 10): a decline before the last keeps the payment waiting for another card.
    #[arg(long, env = "PAYHUB_CARD_ATTEMPTS")]
    pub card_attempts: Option<u32>,
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
    /// The carrier billing system behind the telco payment service:
    /// "simulated" (the default, the sandbox's bill in the database) or
    /// "camara" (an operator's CAMARA Carrier Billing API).
    #[arg(long, env = "PAYHUB_CARRIER")]
    pub carrier: Option<String>,
    /// The CAMARA Carrier Billing API's root with its version, e.g.
    /// "https://api.operator.example/carrier-billing/v0" (carrier = camara).
    #[arg(long, env = "PAYHUB_CAMARA_BASE_URL")]
    pub camara_base_url: Option<String>,
    /// The CAMARA Carrier Billing Refund API's root (default: the base URL).
    #[arg(long, env = "PAYHUB_CAMARA_REFUND_BASE_URL")]
    pub camara_refund_base_url: Option<String>,
    /// The OAuth2 token endpoint payhub gets CAMARA access tokens from
    /// (client-credentials grant).
    #[arg(long, env = "PAYHUB_CAMARA_TOKEN_URL")]
    pub camara_token_url: Option<String>,
    /// payhub's OAuth2 client id at the operator.
    #[arg(long, env = "PAYHUB_CAMARA_CLIENT_ID")]
    pub camara_client_id: Option<String>,
    /// payhub's OAuth2 client secret at the operator (never logged).
    #[arg(long, env = "PAYHUB_CAMARA_CLIENT_SECRET", hide_env_values = true)]
    pub camara_client_secret: Option<String>,
    /// payhub's public https address of its CAMARA notification route,
    /// e.g. "https://payhub.example/carrier/camara/notifications"
    /// (carrier = camara); unset: no notifications are asked for.
    #[arg(long, env = "PAYHUB_CAMARA_SINK_URL")]
    pub camara_sink_url: Option<String>,
    /// The SMS centre that texts consent codes: "simulated" (the default,
    /// the sandbox's messages in the database) or "smpp" (an operator's
    /// SMSC over SMPP v3.4).
    #[arg(long, env = "PAYHUB_SMS")]
    pub sms: Option<String>,
    /// The SMSC's host name or address (sms = smpp).
    #[arg(long, env = "PAYHUB_SMPP_HOST")]
    pub smpp_host: Option<String>,
    /// The SMSC's port (default 2775).
    #[arg(long, env = "PAYHUB_SMPP_PORT")]
    pub smpp_port: Option<u16>,
    /// payhub's SMPP system_id at the SMSC (up to 15 characters).
    #[arg(long, env = "PAYHUB_SMPP_SYSTEM_ID")]
    pub smpp_system_id: Option<String>,
    /// payhub's SMPP password at the SMSC (up to 8 characters; never logged).
    #[arg(long, env = "PAYHUB_SMPP_PASSWORD", hide_env_values = true)]
    pub smpp_password: Option<String>,
    /// The SMPP system_type the SMSC expects (default empty).
    #[arg(long, env = "PAYHUB_SMPP_SYSTEM_TYPE")]
    pub smpp_system_type: Option<String>,
    /// The sender subscribers see: a number or up to 11 letters and digits.
    #[arg(long, env = "PAYHUB_SMPP_SOURCE_ADDR")]
    pub smpp_source_addr: Option<String>,
    /// "transceiver" (the default: delivery receipts come back on the
    /// bind) or "transmitter".
    #[arg(long, env = "PAYHUB_SMPP_BIND")]
    pub smpp_bind: Option<String>,
    /// Seconds the SMPP link may stay quiet before payhub sends
    /// enquire_link (default 30).
    #[arg(long, env = "PAYHUB_SMPP_ENQUIRE_LINK_S")]
    pub smpp_enquire_link_s: Option<u64>,
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
            card_attempts: self.card_attempts.or(lower.card_attempts),
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
            carrier: self.carrier.or(lower.carrier),
            camara_base_url: self.camara_base_url.or(lower.camara_base_url),
            camara_refund_base_url: self.camara_refund_base_url.or(lower.camara_refund_base_url),
            camara_token_url: self.camara_token_url.or(lower.camara_token_url),
            camara_client_id: self.camara_client_id.or(lower.camara_client_id),
            camara_client_secret: self.camara_client_secret.or(lower.camara_client_secret),
            camara_sink_url: self.camara_sink_url.or(lower.camara_sink_url),
            sms: self.sms.or(lower.sms),
            smpp_host: self.smpp_host.or(lower.smpp_host),
            smpp_port: self.smpp_port.or(lower.smpp_port),
            smpp_system_id: self.smpp_system_id.or(lower.smpp_system_id),
            smpp_password: self.smpp_password.or(lower.smpp_password),
            smpp_system_type: self.smpp_system_type.or(lower.smpp_system_type),
            smpp_source_addr: self.smpp_source_addr.or(lower.smpp_source_addr),
            smpp_bind: self.smpp_bind.or(lower.smpp_bind),
            smpp_enquire_link_s: self.smpp_enquire_link_s.or(lower.smpp_enquire_link_s),
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
}
