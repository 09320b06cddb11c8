//! The gateway aggregate: payments and refunds routed through a payment
//! gateway, the dialects' references to them, and the signatures seen on
//! signed requests (replay protection).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::gateway::{CardAttempts, CardClaim};
use payhub_core::{LedgerEvent, MerchantId, Payment, PaymentId, Refund, RefundId, RefundState};

use crate::error::{InsertRefundError, StoreError, UpdateStatusError};
use crate::records::{
    ExternalRef, GatewayApplied, GatewayPayment, GatewayRefund, GatewayUpdate, IdempotentResponse,
};

/// Gateway payments, gateway refunds and seen signatures.
#[async_trait]
pub trait GatewayStore: Send + Sync {
    /// Records a payment routed through a gateway: the payment, its create
    /// event, its gateway row and the dialect's reference, all or nothing.
    /// [`StoreError::DuplicateReference`] when the reference is taken.
    async fn insert_gateway_payment(
        &self,
        payment: &Payment,
        event: &LedgerEvent,
        gateway: &GatewayPayment,
        reference: Option<&ExternalRef>,
    ) -> Result<(), StoreError>;
    /// Writes the gateway row of a payment already in the ledger.
    async fn insert_gateway_row(&self, gateway: &GatewayPayment) -> Result<(), StoreError>;
    async fn find_gateway_payment(
        &self,
        payment_id: PaymentId,
    ) -> Result<Option<GatewayPayment>, StoreError>;
    async fn find_external_ref(
        &self,
        merchant: &MerchantId,
        dialect: &str,
        reference: &str,
    ) -> Result<Option<ExternalRef>, StoreError>;
    /// Applies what a gateway said. A payment whose gateway state is already
    /// final is left alone (duplicate notifications change nothing); a final
    /// new state moves the payment's status, with its event, in the same
    /// transaction.
    async fn apply_gateway_update(
        &self,
        payment_id: PaymentId,
        update: &GatewayUpdate,
        now: DateTime<Utc>,
    ) -> Result<GatewayApplied, UpdateStatusError>;
    /// Claims the next card attempt of a payment on the hosted page for
    /// `claim` until `until`, under the row's lock: the core decides
    /// ([`CardAttempts::claim`]); when granted, the count grows by one, the
    /// claim is written and a check is scheduled at `until` (so an attempt
    /// whose node died is asked about), all in one transaction.
    async fn claim_card_attempt(
        &self,
        payment_id: PaymentId,
        attempts: CardAttempts,
        claim: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<CardClaim, StoreError>;
    /// Applies what the gateway said about the card sent under `claim`, as
    /// [`Self::apply_gateway_update`] does, and releases the claim if it is
    /// still `claim`'s, in the same transaction.
    async fn apply_card_attempt(
        &self,
        payment_id: PaymentId,
        claim: &str,
        update: &GatewayUpdate,
        now: DateTime<Utc>,
    ) -> Result<GatewayApplied, UpdateStatusError>;
    /// Claims gateway payments whose check is due, hiding them until `lease_until`.
    async fn claim_due_gateway_checks(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<GatewayPayment>, StoreError>;
    /// Records a refund about to be sent to its payment's gateway (checked by
    /// the ledger's refund rules like any refund), with the dialect's reference.
    async fn insert_gateway_refund(
        &self,
        refund: &Refund,
        event: &LedgerEvent,
        gateway: &GatewayRefund,
        reference: Option<&ExternalRef>,
        idempotent: Option<&IdempotentResponse>,
    ) -> Result<(), InsertRefundError>;
    async fn find_gateway_refund(
        &self,
        refund_id: RefundId,
    ) -> Result<Option<GatewayRefund>, StoreError>;
    /// Applies a gateway's answer about a refund; a final answer moves the
    /// refund's status with its event. `false` when it had already ended.
    async fn apply_refund_update(
        &self,
        refund_id: RefundId,
        state: RefundState,
        gw_ref: Option<&str>,
        next_check_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, UpdateStatusError>;
    async fn claim_due_refund_checks(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<GatewayRefund>, StoreError>;
    /// Notes a signed request; `false` when the same signature was seen before.
    async fn remember_signature(
        &self,
        api_key: &str,
        signature: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    async fn purge_seen_signatures(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}
