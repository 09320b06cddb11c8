//! A payment's record, and the event its creation writes.

use chrono::{DateTime, Utc};

use super::{Document, Origin};
use crate::events::{EventKind, LedgerEvent};
use crate::ids::{MerchantId, PaymentId};
use crate::money::Money;
use crate::status::Status;

/// The status of a payment recorded without one.
///
/// TMF676 describes a payment as "a performed payment": a channel records money
/// it has already taken. So a payment posted without a status is `captured`,
/// which is also what makes it refundable.
pub const DEFAULT_PAYMENT_STATUS: Status = Status::Captured;

/// A payment as the ledger holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Payment {
    pub id: PaymentId,
    pub merchant_id: MerchantId,
    pub status: Status,
    pub status_date: DateTime<Utc>,
    pub payment_date: DateTime<Utc>,
    /// The customer account the payment belongs to (TMF676 `account.id`).
    pub account_id: String,
    /// The channel's own reference (TMF676 `correlatorId`, the retail `rrn`, ...).
    pub correlator_id: Option<String>,
    /// The amount including taxes; TMF676 lets a client record a payment without one.
    pub total_amount: Option<Money>,
    /// How many decimals the client wrote `total_amount` with, for a dialect
    /// that echoes its client's spelling (TMF676 renders `10.1` as `10.1`);
    /// `None` spells it with the currency's exponent. See
    /// [`Money::to_decimal_written`].
    pub amount_decimals: Option<u8>,
    pub document: Document,
    /// The dialect the payment was recorded through.
    pub origin: Origin,
    pub created_at: DateTime<Utc>,
}

/// What a dialect asks the ledger to record as a payment.
#[derive(Clone, Debug)]
pub struct NewPayment {
    pub merchant_id: MerchantId,
    pub account_id: String,
    pub correlator_id: Option<String>,
    pub total_amount: Option<Money>,
    /// How many decimals the client wrote `total_amount` with, for a dialect
    /// that echoes its client's spelling (TMF676 renders `10.1` as `10.1`);
    /// `None` spells it with the currency's exponent. See
    /// [`Money::to_decimal_written`].
    pub amount_decimals: Option<u8>,
    /// The status the client recorded; [`DEFAULT_PAYMENT_STATUS`] when absent.
    pub status: Option<Status>,
    /// When the payment was performed; the time of recording when absent.
    pub payment_date: Option<DateTime<Utc>>,
    pub document: Document,
    /// The dialect recording it.
    pub origin: Origin,
}

impl Payment {
    /// Records a new payment at `now`: its record and the create event that
    /// goes to the outbox with it. Every path that creates a payment uses
    /// this, so the event always names the status the payment was created in.
    pub fn record_with_event(new: NewPayment, now: DateTime<Utc>) -> (Payment, LedgerEvent) {
        let payment = Payment::record(new, now);
        let event = payment.create_event();
        (payment, event)
    }

    /// The event announcing this payment's creation, at its creation time.
    /// A caller that changes the record before storing it (a fresh id after a
    /// collision, a correlator set from the id) takes the event afterwards.
    pub fn create_event(&self) -> LedgerEvent {
        LedgerEvent::new(
            self.merchant_id.clone(),
            EventKind::PaymentCreate,
            self.id.get(),
            self.status,
            self.created_at,
        )
    }

    /// Builds the record of a new payment at `now` with a fresh id.
    pub fn record(new: NewPayment, now: DateTime<Utc>) -> Payment {
        Payment {
            id: PaymentId::generate(now),
            merchant_id: new.merchant_id,
            status: new.status.unwrap_or(DEFAULT_PAYMENT_STATUS),
            status_date: now,
            payment_date: new.payment_date.unwrap_or(now),
            account_id: new.account_id,
            correlator_id: new.correlator_id,
            total_amount: new.total_amount,
            amount_decimals: new.amount_decimals,
            document: new.document,
            origin: new.origin,
            created_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_payment(status: Option<Status>) -> NewPayment {
        NewPayment {
            merchant_id: MerchantId::generate(),
            account_id: "a".into(),
            correlator_id: None,
            total_amount: None,
            amount_decimals: None,
            status,
            payment_date: None,
            document: Document::default(),
            origin: Origin::new("test"),
        }
    }

    #[test]
    fn the_create_event_names_the_payment_as_recorded() {
        let now = Utc::now();
        let table = [
            (None, Status::Captured),
            (
                Some(Status::PendingAuthorization),
                Status::PendingAuthorization,
            ),
            (Some(Status::Denied), Status::Denied),
        ];
        for (asked, status) in table {
            let (payment, event) = Payment::record_with_event(new_payment(asked), now);
            assert_eq!(payment.status, status);
            assert_eq!(event.kind, EventKind::PaymentCreate);
            assert_eq!(
                (
                    event.merchant_id,
                    event.resource_id,
                    event.status,
                    event.occurred_at
                ),
                (payment.merchant_id, payment.id.get(), status, now),
                "{asked:?}"
            );
        }
    }
}
