//! The simulated gateways' books (sandbox mode): the orders payhub started at
//! a simulated gateway and the refunds it made there.
//!
//! A simulated gateway stands for another company's system, so its books are
//! not payhub's ledger: payhub learns what they say only through the
//! connector, as it would from a real gateway. They are kept in the database
//! so that every payhub node (and the same node after a restart) talks to the
//! same sandbox. The records only; the trait is
//! [`SimulatorStore`](crate::traits::SimulatorStore).

use chrono::{DateTime, Utc};
use payhub_core::{GatewayState, Money, PaymentId, RefundId, RefundState};

/// One payment as a simulated gateway knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimulatorOrder {
    /// The gateway's code (`WXPAY`, `VMPAY`, …): each simulator has its own books.
    pub gateway: String,
    /// payhub's payment id, the gateway's "merchant order number".
    pub payment_id: PaymentId,
    pub gw_ref: String,
    pub amount: Money,
    pub state: GatewayState,
    pub qr_content: Option<String>,
    /// When an unpaid order closes.
    pub expires_at: DateTime<Utc>,
    /// The gateway's code and message, when it gave one.
    pub code: Option<(String, String)>,
    /// What has been refunded so far, in minor units: never more than `amount`.
    pub refunded_minor: i64,
}

/// A refund a simulated gateway made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimulatorRefund {
    pub gateway: String,
    /// payhub's refund id, by which payhub asks about it.
    pub refund_id: RefundId,
    pub payment_id: PaymentId,
    pub gw_ref: Option<String>,
    pub state: RefundState,
}

/// A change to one order, decided while its row is locked. It may also book a
/// refund of the order, written in the same transaction, so that what was
/// refunded and the refund itself are never out of step.
pub type OrderChange<'a> = dyn FnMut(&mut SimulatorOrder) -> Option<SimulatorRefund> + Send + 'a;
