//! The accounts aggregate (the APS dialect, seed 001): customer accounts
//! with available credit, their stored payment methods, and how each APS
//! payment and refund was covered.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::{MerchantId, Money, PaymentId, RefundId};

use crate::aps::{
    ApsAccount, ApsPayment, ApsPaymentMethod, ApsPlan, ApsRefund, ApsRefundPlan, ApsRefundWrite,
    ApsWrite, CreditError,
};
use crate::error::{InsertRefundError, StoreError};

/// The APS part of the store.
#[async_trait]
pub trait ApsStore: Send + Sync {
    /// Records an account; [`StoreError::IdCollision`] when its aps id or
    /// account id is taken.
    async fn insert_aps_account(&self, account: &ApsAccount) -> Result<(), StoreError>;
    async fn find_aps_account(&self, aps_id: &str) -> Result<Option<ApsAccount>, StoreError>;
    /// Adds credit to an account; returns the account as it now is.
    async fn add_aps_credit(
        &self,
        aps_id: &str,
        amount_minor: i64,
        now: DateTime<Utc>,
    ) -> Result<ApsAccount, CreditError>;
    async fn insert_aps_payment_method(&self, method: &ApsPaymentMethod) -> Result<(), StoreError>;
    async fn list_aps_payment_methods(
        &self,
        aps_id: &str,
    ) -> Result<Vec<ApsPaymentMethod>, StoreError>;
    async fn find_aps_payment_method(
        &self,
        id: i64,
    ) -> Result<Option<ApsPaymentMethod>, StoreError>;
    /// Records an APS payment: locks the account, lets `plan` decide the rows
    /// from its credit balance, debits the credit the plan spends (never below
    /// zero), and writes the payment, its event, its gateway row and the kept
    /// answer, all in one transaction. Returns what was written.
    async fn insert_aps_payment(
        &self,
        aps_id: &str,
        plan: ApsPlan<'_>,
    ) -> Result<ApsWrite, StoreError>;
    async fn find_aps_payment(
        &self,
        payment_id: PaymentId,
    ) -> Result<Option<ApsPayment>, StoreError>;
    /// Records a refund of `requested` of an APS payment, in one
    /// transaction: locks the payment, checks it can be refunded, splits the
    /// request card first between what each part has left
    /// ([`payhub_core::credit::split_refund`]), lets `plan` build the rows,
    /// writes the refund (under the ledger's `check_refund`), its split, its
    /// gateway row and kept answer, and adds the credit part to the account.
    /// Concurrent refunds of a payment wait for each other, so together they
    /// never give back more than either part paid.
    async fn insert_aps_refund(
        &self,
        merchant: &MerchantId,
        payment_id: PaymentId,
        requested: Money,
        plan: ApsRefundPlan<'_>,
    ) -> Result<ApsRefundWrite, InsertRefundError>;
    async fn find_aps_refund(&self, refund_id: RefundId) -> Result<Option<ApsRefund>, StoreError>;
    /// The APS rows of an account among `payment_ids` (others are left out).
    async fn list_aps_payments(
        &self,
        aps_id: &str,
        payment_ids: &[i64],
    ) -> Result<Vec<ApsPayment>, StoreError>;
}
