//! The ledger aggregate: payments and refunds with their status machine.
//! Every method that changes one also writes its [`LedgerEvent`] to the
//! outbox in the same transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::{LedgerEvent, MerchantId, Payment, PaymentId, Refund, RefundId, Status};

use crate::error::{InsertRefundError, StoreError, UpdateStatusError};
use crate::records::{IdempotentResponse, ListFilter, Listed, Page};

/// Payments and refunds.
#[async_trait]
pub trait LedgerStore: Send + Sync {
    /// Records a new payment, its create event and, when given, the response
    /// kept under the request's idempotency key: all or nothing.
    async fn insert_payment(
        &self,
        payment: &Payment,
        event: &LedgerEvent,
        idempotent: Option<&IdempotentResponse>,
    ) -> Result<(), StoreError>;
    /// Records many payments with their create events in one transaction (one
    /// commit, one fsync): bulk loads, and the storage ceiling of the benchmark.
    async fn insert_payments(&self, payments: &[(Payment, LedgerEvent)]) -> Result<(), StoreError>;
    async fn find_payment(
        &self,
        merchant: &MerchantId,
        id: PaymentId,
    ) -> Result<Option<Payment>, StoreError>;
    /// The payments with these (merchant, id) keys that exist, in no
    /// particular order: the resources of a batch of events in one read.
    async fn find_payments(
        &self,
        keys: &[(&MerchantId, PaymentId)],
    ) -> Result<Vec<Payment>, StoreError>;
    /// Lists a merchant's payments, newest first; all of them when `page` is `None`.
    async fn list_payments(
        &self,
        merchant: &MerchantId,
        filter: &ListFilter,
        page: Option<Page>,
    ) -> Result<Listed<Payment>, StoreError>;
    /// Changes a payment's status through [`payhub_core::transition`] and writes
    /// its state-change event.
    async fn update_payment_status(
        &self,
        merchant: &MerchantId,
        id: PaymentId,
        to: Status,
        now: DateTime<Utc>,
    ) -> Result<Payment, UpdateStatusError>;

    /// Records a new refund after checking it against its payment with
    /// [`payhub_core::ledger::check_refund`], holding the payment locked so that
    /// concurrent refunds cannot together exceed it.
    async fn insert_refund(
        &self,
        refund: &Refund,
        event: &LedgerEvent,
        idempotent: Option<&IdempotentResponse>,
    ) -> Result<(), InsertRefundError>;
    async fn find_refund(
        &self,
        merchant: &MerchantId,
        id: RefundId,
    ) -> Result<Option<Refund>, StoreError>;
    /// The refunds with these (merchant, id) keys that exist, in no
    /// particular order.
    async fn find_refunds(
        &self,
        keys: &[(&MerchantId, RefundId)],
    ) -> Result<Vec<Refund>, StoreError>;
    async fn list_refunds(
        &self,
        merchant: &MerchantId,
        filter: &ListFilter,
        page: Option<Page>,
    ) -> Result<Listed<Refund>, StoreError>;
    async fn update_refund_status(
        &self,
        merchant: &MerchantId,
        id: RefundId,
        to: Status,
        now: DateTime<Utc>,
    ) -> Result<Refund, UpdateStatusError>;
}
