//! The idempotency aggregate: requests' idempotency keys, their claims and
//! kept answers.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::MerchantId;

use crate::error::StoreError;
use crate::records::{IdempotencyBegin, IdempotentResponse};

/// Idempotency keys.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Starts a request under `key` with its random `claim` token, or says
    /// how to answer it instead.
    /// A `processing` row last renewed before `stale_before` (its lease ran
    /// out) belonged to a request that died, and is taken over.
    async fn begin_idempotent(
        &self,
        merchant: &MerchantId,
        key: &str,
        fingerprint: &str,
        claim: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<IdempotencyBegin, StoreError>;
    /// Renews a running request's claim on `key` (its lease); `false` when
    /// the key is no longer `processing` under `claim` (answered, abandoned,
    /// or taken over).
    async fn renew_idempotent(
        &self,
        merchant: &MerchantId,
        key: &str,
        claim: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Keeps a response that was not written together with its work (an error answer).
    async fn complete_idempotent(
        &self,
        saved: &IdempotentResponse,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Forgets a key whose request failed on our side, so a retry can run.
    /// Only the request holding `claim` may.
    async fn abandon_idempotent(
        &self,
        merchant: &MerchantId,
        key: &str,
        claim: &str,
    ) -> Result<(), StoreError>;
    /// Deletes keys created before `before`; returns how many.
    async fn purge_idempotency_keys(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}
