//! The simulator aggregate: the simulated gateways' own books (sandbox mode).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::{PaymentId, RefundId};

use crate::error::StoreError;
use crate::simulator::{OrderChange, SimulatorOrder, SimulatorRefund};

/// Where the simulated gateways keep their books.
#[async_trait]
pub trait SimulatorStore: Send + Sync {
    /// Books an order; one already booked for the same gateway and payment is
    /// replaced (payhub started it again), as a gateway keyed by order number does.
    async fn put_simulator_order(
        &self,
        order: &SimulatorOrder,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Reads an order and applies `change` to it under a row lock, so two
    /// nodes changing one order do so one after the other; writes it back
    /// (and the refund `change` may book) when it changed. Returns the order
    /// as it now stands, or `None` when the gateway has no such order.
    async fn change_simulator_order(
        &self,
        gateway: &str,
        payment_id: PaymentId,
        now: DateTime<Utc>,
        change: &mut OrderChange<'_>,
    ) -> Result<Option<SimulatorOrder>, StoreError>;

    /// A refund the gateway made, by payhub's refund id.
    async fn find_simulator_refund(
        &self,
        gateway: &str,
        refund_id: RefundId,
    ) -> Result<Option<SimulatorRefund>, StoreError>;
}
