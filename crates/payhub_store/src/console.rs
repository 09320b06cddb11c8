//! The operator console's storage: operator accounts, their sessions, and the
//! cross-merchant reads the console's search, timeline and charts need.
//!
//! A separate trait, [`ConsoleStore`], so that this part of the store reads on
//! its own; [`Store`](crate::Store) requires it, so every store has it. Every
//! read takes an optional merchant: `Some` confines it to that merchant (a
//! merchant-scoped operator), `None` reads every merchant's rows.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::{EventId, LedgerEvent, MerchantId, Payment, PaymentId, Refund, Status};

use crate::error::StoreError;
use crate::records::{DeliveryRecord, Listed, Page};

/// An operator of the web console.
#[derive(Clone, Debug, PartialEq)]
pub struct Operator {
    /// `op_<16 hex>`.
    pub id: String,
    /// The login name, unique.
    pub name: String,
    /// Argon2id in PHC string format; the password itself is never stored.
    pub password_hash: String,
    /// The one merchant this operator may see; `None` for every merchant.
    pub merchant_id: Option<MerchantId>,
    /// Consecutive failed logins since the last successful one.
    pub failed_logins: i64,
    /// No login is accepted before this time (after too many failures).
    pub locked_until: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// A logged-in browser session.
#[derive(Clone, Debug, PartialEq)]
pub struct OperatorSession {
    /// SHA-256 (hex) of the token the cookie carries.
    pub token_hash: String,
    pub operator_id: String,
    /// What every console form must post back (checked on every POST).
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// What the console's payment search filters on; every `Some` must match.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PaymentSearch {
    /// Confines the search to one merchant (scoped operators always set it).
    pub merchant: Option<MerchantId>,
    pub id: Option<PaymentId>,
    /// The payment's `correlatorId`, or a dialect reference (retail `rrn`,
    /// telco `transactionId`, …) that names it.
    pub reference: Option<String>,
    pub account_id: Option<String>,
    pub status: Option<Status>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_before: Option<DateTime<Utc>>,
}

/// Payments of one day, one merchant and one gateway type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeRow {
    /// The day's start (UTC).
    pub day: DateTime<Utc>,
    pub merchant_id: MerchantId,
    /// The gateway code (`WXPAY`, …), `BILL` for a telco payment on the phone
    /// bill, `LEDGER` for a payment recorded without either.
    pub gateway: String,
    /// Payments created that day.
    pub payments: i64,
    /// Of those, the ones now `authorized`, `captured` or `done`.
    pub succeeded: i64,
}

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
