//! Ledger events: what a state change tells the outside world.
//!
//! Every create and status change writes one [`LedgerEvent`] to the outbox in the
//! same transaction as the change itself; workers deliver it afterwards, so an
//! acknowledged change never loses its notification.

use chrono::{DateTime, Utc};

use crate::ids::{EventId, MerchantId};
use crate::status::Status;

/// The kinds of event, named as TMF676 names them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum EventKind {
    PaymentCreate,
    PaymentStateChange,
    RefundCreate,
    RefundStateChange,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 4] = [
        EventKind::PaymentCreate,
        EventKind::PaymentStateChange,
        EventKind::RefundCreate,
        EventKind::RefundStateChange,
    ];

    /// The TMF676 event type name, also the stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::PaymentCreate => "PaymentCreateEvent",
            EventKind::PaymentStateChange => "PaymentStateChangeEvent",
            EventKind::RefundCreate => "RefundCreateEvent",
            EventKind::RefundStateChange => "RefundStateChangeEvent",
        }
    }

    /// Parses a stored event type name.
    pub fn parse(text: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether the event is about a refund (otherwise a payment).
    pub fn is_refund(self) -> bool {
        matches!(self, EventKind::RefundCreate | EventKind::RefundStateChange)
    }
}

/// One event in the outbox.
///
/// It names the resource and the status it had when the event happened, so a
/// delivery made later still reports the state that caused it.
#[derive(Clone, Debug, PartialEq)]
pub struct LedgerEvent {
    pub id: EventId,
    pub merchant_id: MerchantId,
    pub kind: EventKind,
    /// The payment or refund id.
    pub resource_id: i64,
    pub status: Status,
    pub occurred_at: DateTime<Utc>,
}

impl LedgerEvent {
    /// A new event with a fresh id.
    pub fn new(
        merchant_id: MerchantId,
        kind: EventKind,
        resource_id: i64,
        status: Status,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: EventId::generate(now),
            merchant_id,
            kind,
            resource_id,
            status,
            occurred_at: now,
        }
    }
}
