//! The connector-accounts aggregate: merchants' gateway integrations, their
//! sealed credentials and their health.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::MerchantId;

use crate::connectors::{AccountHealth, ConnectorAccount};
use crate::error::StoreError;

/// Connector accounts.
#[async_trait]
pub trait ConnectorAccountStore: Send + Sync {
    async fn insert_connector_account(&self, account: &ConnectorAccount) -> Result<(), StoreError>;
    async fn find_connector_account(
        &self,
        id: &str,
    ) -> Result<Option<ConnectorAccount>, StoreError>;
    /// A merchant's accounts (every merchant's when `None`), by merchant,
    /// then priority, then creation.
    async fn list_connector_accounts(
        &self,
        merchant: Option<&MerchantId>,
    ) -> Result<Vec<ConnectorAccount>, StoreError>;
    /// Replaces an account's credentials (a rotation) and bumps their
    /// version; `false` when there is no such account.
    async fn rotate_connector_credentials(
        &self,
        id: &str,
        sealed: &str,
        hints: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Turns an account on or off; `false` when there is no such account.
    async fn set_connector_enabled(
        &self,
        id: &str,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Writes the circuit breaker's new state of an account.
    async fn set_connector_health(&self, id: &str, health: AccountHealth)
        -> Result<(), StoreError>;
}
