//! The merchants aggregate: merchant accounts and how they authenticate,
//! plus the few cluster-wide settings every node must agree on.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::MerchantId;

use crate::error::StoreError;
use crate::records::Merchant;

/// Merchant accounts.
#[async_trait]
pub trait MerchantStore: Send + Sync {
    async fn insert_merchant(&self, merchant: &Merchant) -> Result<(), StoreError>;
    async fn list_merchants(&self) -> Result<Vec<Merchant>, StoreError>;
    async fn find_merchant_by_api_key_hash(
        &self,
        api_key_hash: &str,
    ) -> Result<Option<Merchant>, StoreError>;
    async fn find_merchant(&self, id: &MerchantId) -> Result<Option<Merchant>, StoreError>;
    async fn find_merchant_by_retail_api_key(
        &self,
        retail_api_key: &str,
    ) -> Result<Option<Merchant>, StoreError>;
    /// Sets which gateways a merchant may use and how its retail requests are
    /// signed; `false` when there is no such merchant.
    async fn update_merchant_gateways(
        &self,
        id: &MerchantId,
        gateways: &[String],
        retail_signature: &str,
    ) -> Result<bool, StoreError>;
}

/// Values the first node of a cluster decides and every later node adopts.
#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// Stores `value` under `name` unless a value is already there, and
    /// returns the stored one: the first node's value wins, atomically.
    async fn claim_cluster_setting(
        &self,
        name: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError>;
}
