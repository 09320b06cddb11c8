//! A refund's record, the event its creation writes, and when refunds add
//! up to their whole payment.

use chrono::{DateTime, Utc};

use super::{Document, Payment};
use crate::events::{EventKind, LedgerEvent};
use crate::ids::{MerchantId, PaymentId, RefundId};
use crate::money::Money;
use crate::status::Status;

/// The status of a refund recorded without one: a performed refund is `done`.
pub const DEFAULT_REFUND_STATUS: Status = Status::Done;

/// A refund as the ledger holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Refund {
    pub id: RefundId,
    pub merchant_id: MerchantId,
    /// The payment it gives money back for; TMF676 also allows standalone refunds.
    pub payment_id: Option<PaymentId>,
    pub status: Status,
    pub status_date: DateTime<Utc>,
    pub refund_date: DateTime<Utc>,
    pub account_id: String,
    pub correlator_id: Option<String>,
    pub total_amount: Option<Money>,
    /// How many decimals the client wrote `total_amount` with, for a dialect
    /// that echoes its client's spelling (TMF676 renders `10.1` as `10.1`);
    /// `None` spells it with the currency's exponent. See
    /// [`Money::to_decimal_written`].
    pub amount_decimals: Option<u8>,
    pub document: Document,
    pub created_at: DateTime<Utc>,
}

/// What a dialect asks the ledger to record as a refund.
#[derive(Clone, Debug)]
pub struct NewRefund {
    pub merchant_id: MerchantId,
    pub payment_id: Option<PaymentId>,
    pub account_id: String,
    pub correlator_id: Option<String>,
    pub total_amount: Option<Money>,
    /// How many decimals the client wrote `total_amount` with, for a dialect
    /// that echoes its client's spelling (TMF676 renders `10.1` as `10.1`);
    /// `None` spells it with the currency's exponent. See
    /// [`Money::to_decimal_written`].
    pub amount_decimals: Option<u8>,
    pub status: Option<Status>,
    pub refund_date: Option<DateTime<Utc>>,
    pub document: Document,
}

impl Refund {
    /// Records a new refund at `now`: its record and its create event.
    pub fn record_with_event(new: NewRefund, now: DateTime<Utc>) -> (Refund, LedgerEvent) {
        let refund = Refund::record(new, now);
        let event = refund.create_event();
        (refund, event)
    }

    /// The event announcing this refund's creation, at its creation time.
    pub fn create_event(&self) -> LedgerEvent {
        LedgerEvent::new(
            self.merchant_id.clone(),
            EventKind::RefundCreate,
            self.id.get(),
            self.status,
            self.created_at,
        )
    }

    /// Builds the record of a new refund at `now` with a fresh id.
    pub fn record(new: NewRefund, now: DateTime<Utc>) -> Refund {
        Refund {
            id: RefundId::generate(now),
            merchant_id: new.merchant_id,
            payment_id: new.payment_id,
            status: new.status.unwrap_or(DEFAULT_REFUND_STATUS),
            status_date: now,
            refund_date: new.refund_date.unwrap_or(now),
            account_id: new.account_id,
            correlator_id: new.correlator_id,
            total_amount: new.total_amount,
            amount_decimals: new.amount_decimals,
            document: new.document,
            created_at: now,
        }
    }
}

/// Whether `refunds` that are done add up to the whole of `payment` (a
/// payment without an amount never is). Pending refunds do not count: the
/// money has not gone back yet.
pub fn fully_refunded(payment: &Payment, refunds: &[Refund]) -> bool {
    let Some(total) = payment.total_amount else {
        return false;
    };
    let refunded: i64 = refunds
        .iter()
        .filter(|r| r.status == Status::Done)
        .filter_map(|r| r.total_amount)
        .map(|m| m.amount_minor())
        .fold(0_i64, i64::saturating_add);
    refunded >= total.amount_minor()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::currency::Currency;
    use crate::ledger::{NewPayment, Origin};

    fn usd(minor: i64) -> Money {
        let currency = Currency::parse("USD").unwrap_or_else(|e| unreachable!("{e}"));
        Money::from_minor(minor, currency).unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn payment(total: Option<i64>) -> Payment {
        Payment::record(
            NewPayment {
                merchant_id: MerchantId::generate(),
                account_id: "a".into(),
                correlator_id: None,
                total_amount: total.map(usd),
                amount_decimals: None,
                status: None,
                payment_date: None,
                document: Document::default(),
                origin: Origin::new("test"),
            },
            Utc::now(),
        )
    }

    fn refund(p: &Payment, minor: Option<i64>, status: Status) -> Refund {
        Refund::record(
            NewRefund {
                merchant_id: p.merchant_id.clone(),
                payment_id: Some(p.id),
                account_id: "a".into(),
                correlator_id: None,
                total_amount: minor.map(usd),
                amount_decimals: None,
                status: Some(status),
                refund_date: None,
                document: Document::default(),
            },
            Utc::now(),
        )
    }

    #[test]
    fn only_done_refunds_count_towards_the_whole() {
        use Status::*;
        type Refunds = &'static [(Option<i64>, Status)];
        let table: [(Option<i64>, Refunds, bool); 8] = [
            (Some(1000), &[], false),
            (Some(1000), &[(Some(1000), Done)], true),
            (Some(1000), &[(Some(600), Done), (Some(400), Done)], true),
            (
                Some(1000),
                &[(Some(600), Done), (Some(400), PendingAuthorization)],
                false,
            ),
            (Some(1000), &[(Some(1000), Denied)], false),
            (Some(1000), &[(None, Done)], false),
            (Some(0), &[], true),
            (None, &[(Some(1000), Done)], false),
        ];
        for (total, refunds, want) in table {
            let p = payment(total);
            let refunds: Vec<Refund> = refunds
                .iter()
                .map(|(minor, status)| refund(&p, *minor, *status))
                .collect();
            assert_eq!(fully_refunded(&p, &refunds), want, "{total:?} {refunds:?}");
        }
    }

    #[test]
    fn the_create_event_names_the_refund_as_recorded() {
        let p = payment(Some(1000));
        let now = Utc::now();
        let mut new = refund(&p, Some(10), Status::Done);
        new.created_at = now;
        let event = new.create_event();
        assert_eq!(event.kind, EventKind::RefundCreate);
        assert_eq!(
            (event.resource_id, event.status, event.occurred_at),
            (new.id.get(), Status::Done, now)
        );
    }
}
