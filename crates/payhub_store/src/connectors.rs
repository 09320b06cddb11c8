//! Connector accounts: which gateway integration serves which of a
//! merchant's gateway types (see migration 0014).

use chrono::{DateTime, Utc};
use payhub_core::MerchantId;

/// A merchant's connector account as stored: its credentials still sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectorAccount {
    /// `ca_<16 hex>`.
    pub id: String,
    pub merchant_id: MerchantId,
    /// The connector's name (`stripe`, `alipay`, `wechatpay`, `simulated`).
    pub connector: String,
    pub label: String,
    /// The seed 003 gateway types it serves (`WXPAY`, …).
    pub gateway_types: Vec<String>,
    pub rules: RoutingRules,
    pub base_url: String,
    pub live: bool,
    pub enabled: bool,
    /// `v1:` and the Base64 of nonce ‖ AES-256-GCM ciphertext; opened only
    /// with the master key (payhub_app::secrets).
    pub sealed_credentials: String,
    /// What may be shown of each credential: `{"secret_key":"…4242"}`.
    pub credential_hints: String,
    /// Bumped by each rotation, so nodes rebuild their connector.
    pub credentials_version: i64,
    pub health: AccountHealth,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// When an account is chosen, besides serving the payment's type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoutingRules {
    /// Lower is tried first.
    pub priority: i64,
    /// Share among the accounts of one priority (an A/B split), ≥ 1.
    pub weight: i64,
    pub min_amount_minor: Option<i64>,
    pub max_amount_minor: Option<i64>,
    pub currency: Option<String>,
}

/// The circuit breaker's state of an account, shared by every node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccountHealth {
    /// Consecutive calls without an answer (timeouts, 5xx).
    pub failures: i64,
    /// Until when new payments avoid the account; `None` when healthy.
    pub unhealthy_until: Option<DateTime<Utc>>,
}
