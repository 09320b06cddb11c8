//! The carrier billing aggregate: the telco payment service's catalogue and
//! transactions, the (simulated) carrier bill and SMS centre, and refunds
//! credited on the bill.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::{LedgerEvent, MerchantId, Payment, PaymentId, Refund, RefundId, TelcoState};

use crate::error::{InsertRefundError, StoreError, UpdateStatusError};
use crate::records::{
    BillRefund, CarrierAnswer, CarrierEntry, CarrierOp, ExternalRef, IdempotentResponse,
    SandboxSms, TelcoProduct, TelcoTransaction, TelcoUpdate,
};

/// The telco payment service's catalogue and transactions.
#[async_trait]
pub trait TelcoStore: Send + Sync {
    /// Adds a product to a service's catalogue, or replaces it.
    async fn upsert_telco_product(
        &self,
        product: &TelcoProduct,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The service's whole catalogue, by product id.
    async fn list_telco_products(
        &self,
        merchant: &MerchantId,
    ) -> Result<Vec<TelcoProduct>, StoreError>;
    /// Records a telco transaction's payment, its create event, its telco row
    /// and its unique reference together; `DuplicateReference` when the
    /// `transactionId` is taken.
    async fn insert_telco_transaction(
        &self,
        payment: &Payment,
        event: &LedgerEvent,
        transaction: &TelcoTransaction,
        reference: &ExternalRef,
    ) -> Result<(), StoreError>;
    async fn find_telco_transaction(
        &self,
        payment_id: PaymentId,
    ) -> Result<Option<TelcoTransaction>, StoreError>;
    /// Applies `update` if the transaction is still in `update.from`, with the
    /// payment's status change and its event; `None` when it was not (someone
    /// else moved it first: nothing was changed), or when
    /// [`TelcoState::may_become`](payhub_core::TelcoState::may_become) forbids
    /// `from → to`.
    async fn apply_telco_update(
        &self,
        payment_id: PaymentId,
        update: &TelcoUpdate,
        now: DateTime<Utc>,
    ) -> Result<Option<TelcoTransaction>, UpdateStatusError>;
    /// Transactions whose deadline has passed (consent or reservation expired).
    async fn list_overdue_telco_transactions(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<TelcoTransaction>, StoreError>;
    async fn set_telco_callback_url(
        &self,
        merchant: &MerchantId,
        url: Option<&str>,
    ) -> Result<bool, StoreError>;
    async fn telco_callback_url(&self, merchant: &MerchantId)
        -> Result<Option<String>, StoreError>;
    /// Counts a wrong one-time code on a transaction still waiting for
    /// consent, on the count as the database holds it (so codes that arrive
    /// together are each counted), rejecting it at the limit
    /// ([`payhub_core::after_wrong_code`]). `None` when it no longer waits or
    /// someone holds a claim on it.
    async fn record_wrong_telco_code(
        &self,
        payment_id: PaymentId,
        now: DateTime<Utc>,
    ) -> Result<Option<TelcoTransaction>, UpdateStatusError>;
    /// Claims a transaction still in `from` for whoever is about to call the
    /// carrier about it, until `until`, unless a live claim holds it. `None`
    /// when it is not in `from` or someone else holds it: that one acts.
    async fn claim_telco_transaction(
        &self,
        payment_id: PaymentId,
        from: TelcoState,
        claim: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<TelcoTransaction>, StoreError>;
}

/// The simulated carrier bill and SMS centre (sandbox), and refunds
/// credited on the carrier bill.
#[async_trait]
pub trait CarrierStore: Send + Sync {
    /// Books `op` on the simulated carrier bill in one transaction, so every
    /// node sees the same books. `reference` names a new booking.
    async fn book_carrier(
        &self,
        op: &CarrierOp,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<CarrierAnswer, StoreError>;
    /// The reservation or charge the simulated carrier booked under `key`
    /// (a transaction's payment id), as it stands now.
    async fn carrier_booking(&self, key: &str) -> Result<Option<CarrierEntry>, StoreError>;
    /// What the simulated carrier has charged a subscriber (minor units).
    async fn carrier_charged(&self, msisdn: &str) -> Result<i64, StoreError>;
    /// Keeps a message of the simulated SMS centre (the newest 10000 are kept).
    async fn insert_sandbox_sms(&self, sms: &SandboxSms) -> Result<(), StoreError>;
    /// What a merchant's transactions texted a number, newest first.
    async fn list_sandbox_sms(
        &self,
        merchant: &MerchantId,
        msisdn: &str,
    ) -> Result<Vec<SandboxSms>, StoreError>;

    /// Records a refund of a bill-charged payment (ledger rules apply) with
    /// its bill row, whose first check is already due at `next_check_at`, and
    /// the idempotent answer, in one transaction.
    async fn insert_bill_refund(
        &self,
        refund: &Refund,
        event: &LedgerEvent,
        row: &BillRefund,
        kept: Option<&IdempotentResponse>,
    ) -> Result<(), InsertRefundError>;
    /// Claims bill refunds whose check is due, moving their next check to
    /// `lease_until`, so one node credits each at a time.
    async fn claim_due_bill_refunds(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<BillRefund>, StoreError>;
    /// Records that a bill refund was credited: the refund becomes `done`
    /// (with its event) and is checked no more. `false` if it was already.
    async fn complete_bill_refund(
        &self,
        refund_id: RefundId,
        carrier_ref: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, UpdateStatusError>;
}
