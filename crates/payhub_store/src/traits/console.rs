//! The console aggregate: operator accounts, their sessions, and the
//! cross-merchant reads of the operator console.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::{EventId, LedgerEvent, MerchantId, Payment, PaymentId, Refund};

use crate::console::{Operator, OperatorSession, PaymentSearch, VolumeRow};
use crate::error::StoreError;
use crate::records::{DeliveryRecord, Listed, Page};

/// The console's reads and its accounts.
#[async_trait]
pub trait ConsoleStore: Send + Sync {
    // ---- operators ----
    /// Adds an operator; [`StoreError::DuplicateReference`] when the name is taken.
    async fn insert_operator(&self, operator: &Operator) -> Result<(), StoreError>;
    async fn list_operators(&self) -> Result<Vec<Operator>, StoreError>;
    async fn find_operator_by_name(&self, name: &str) -> Result<Option<Operator>, StoreError>;
    /// Counts a failed login; once `max_failures` are reached in a row the
    /// account refuses logins until `lock_until`. Returns the new count.
    async fn record_login_failure(
        &self,
        operator_id: &str,
        max_failures: i64,
        lock_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// Forgets past failures after a successful login.
    async fn clear_login_failures(
        &self,
        operator_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    // ---- sessions ----
    /// Starts a session and deletes every expired one.
    async fn insert_operator_session(&self, session: &OperatorSession) -> Result<(), StoreError>;
    /// The session and its operator, when the session exists and has not expired.
    async fn find_operator_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(OperatorSession, Operator)>, StoreError>;
    async fn delete_operator_session(&self, token_hash: &str) -> Result<(), StoreError>;

    // ---- reads across merchants ----
    /// Payments matching `search`, newest first, one page of them.
    async fn search_payments(
        &self,
        search: &PaymentSearch,
        page: Page,
    ) -> Result<Listed<Payment>, StoreError>;
    /// Every refund of a payment, oldest first.
    async fn list_refunds_of_payment(&self, payment: PaymentId) -> Result<Vec<Refund>, StoreError>;
    /// Every outbox event about these resources (payments or refunds), oldest first.
    async fn list_events_of_resources(
        &self,
        resource_ids: &[i64],
    ) -> Result<Vec<LedgerEvent>, StoreError>;
    /// Every delivery (hub notification or webhook) of these events, oldest first.
    async fn list_deliveries_of_events(
        &self,
        event_ids: &[EventId],
    ) -> Result<Vec<DeliveryRecord>, StoreError>;
    /// Payment counts per day, merchant and gateway type, for payments created
    /// in `[since, until)`.
    async fn payment_volume(
        &self,
        merchant: Option<&MerchantId>,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<VolumeRow>, StoreError>;
}
