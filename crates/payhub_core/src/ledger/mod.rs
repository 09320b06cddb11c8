//! Payments and refunds: the records every dialect reads and writes, and
//! the rules a refund must pass.
//!
//! - [`payment`]: a payment's record and its create event.
//! - [`refund`]: a refund's record, its create event, and when a payment is
//!   fully refunded.

pub mod payment;
pub mod refund;

pub use payment::{NewPayment, Payment, DEFAULT_PAYMENT_STATUS};
pub use refund::{fully_refunded, NewRefund, Refund, DEFAULT_REFUND_STATUS};

use crate::ids::PaymentId;
use crate::money::Money;
use crate::status::Status;

/// The attributes a dialect keeps beyond the core fields, as a JSON object text
/// in TMF676 shape.
///
/// The core never looks inside: it only stores and returns it, so unknown and
/// extension attributes round-trip unchanged.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Document(String);

impl Document {
    /// Wraps a JSON object text produced by a facade.
    pub fn new(json_object_text: String) -> Self {
        Self(json_object_text)
    }
    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The dialect a payment was recorded through (its `origin` column).
///
/// The ledger does not interpret it: it is the key under which the shared
/// flows find the hooks of the dialect that answers for the payment (its
/// notifications, where its customer returns), so that nothing has to sniff
/// documents or probe other tables to tell. A short lowercase name chosen by
/// the dialect.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Origin(String);

impl Origin {
    /// A dialect's name as its origin.
    pub fn new(name: &str) -> Self {
        Self(name.to_owned())
    }
    /// The stored name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a refund cannot be recorded against its payment, in the order checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundRejection {
    /// No payment with that id belongs to the merchant.
    #[error("payment {0} does not exist")]
    PaymentNotFound(PaymentId),
    /// Only money that was taken can be given back.
    #[error("payment {payment} is {status}; only captured or done payments can be refunded")]
    PaymentNotRefundable { payment: PaymentId, status: Status },
    /// A refund is in its payment's currency.
    #[error("refund currency {refund} differs from payment currency {payment}")]
    CurrencyMismatch { payment: String, refund: String },
    /// The refunds of a payment never exceed its total amount.
    #[error("refund of {requested} exceeds the {remaining} still refundable")]
    ExceedsRefundable { requested: Money, remaining: Money },
}

/// The first checks of [`check_refund`], which do not depend on the refunds
/// a payment already has: it must have taken money, and a refund is in its
/// currency. Callers that split a refund before recording it (APS) check
/// these first, so their refusals come in the same order.
pub fn check_refundable(
    payment: &Payment,
    requested: Option<Money>,
) -> Result<(), RefundRejection> {
    if !matches!(payment.status, Status::Captured | Status::Done) {
        return Err(RefundRejection::PaymentNotRefundable {
            payment: payment.id,
            status: payment.status,
        });
    }
    let (Some(total), Some(requested)) = (payment.total_amount, requested) else {
        return Ok(());
    };
    if total.currency() != requested.currency() {
        return Err(RefundRejection::CurrencyMismatch {
            payment: total.currency().to_string(),
            refund: requested.currency().to_string(),
        });
    }
    Ok(())
}

/// Checks a new refund against its payment and the refunds it already has.
///
/// `refunded_minor` is the sum, in the payment's minor units, of the payment's
/// refunds that still count (see [`Status::counts_against_refundable`]). The
/// caller holds the payment locked while it calls this and inserts the refund,
/// so concurrent refunds cannot both pass.
pub fn check_refund(
    payment: &Payment,
    refunded_minor: i64,
    refund: &Refund,
) -> Result<(), RefundRejection> {
    check_refundable(payment, refund.total_amount)?;
    let (Some(total), Some(requested)) = (payment.total_amount, refund.total_amount) else {
        return Ok(());
    };
    if !refund.status.counts_against_refundable() {
        return Ok(());
    }
    let remaining_minor = total.amount_minor().saturating_sub(refunded_minor).max(0);
    let remaining = Money::from_minor(remaining_minor, total.currency())
        .unwrap_or(Money::zero(total.currency()));
    if requested.amount_minor() > remaining_minor {
        return Err(RefundRejection::ExceedsRefundable {
            requested,
            remaining,
        });
    }
    Ok(())
}

/// What a recorded refund adds to its payment's counted refunds: its amount
/// in minor units while its status counts against the payment (see
/// [`Status::counts_against_refundable`]), else nothing. The store's sum of
/// a payment's refunds adds the same figure row by row.
pub fn counted_minor(refund: &Refund) -> i64 {
    if refund.status.counts_against_refundable() {
        refund
            .total_amount
            .map_or(0, |amount| amount.amount_minor())
    } else {
        0
    }
}

/// The refunds counted against each payment while a run of new refunds is
/// checked in one transaction: each refund is checked with
/// [`check_refund`] against what was counted before it, the earlier
/// refunds of the run it admitted included, so that a batch can never
/// together exceed a payment that one refund at a time could not.
#[derive(Debug, Default)]
pub struct RefundTally {
    counted: std::collections::HashMap<PaymentId, i64>,
}

impl RefundTally {
    /// Starts from the refunds already recorded: (payment, counted minor
    /// units) as the store summed them.
    pub fn new(recorded: impl IntoIterator<Item = (PaymentId, i64)>) -> Self {
        Self {
            counted: recorded.into_iter().collect(),
        }
    }

    /// Checks `refund` against its payment (`None` when the merchant has no
    /// such payment) and, when admitted, counts it.
    pub fn admit(
        &mut self,
        payment: Option<&Payment>,
        refund: &Refund,
    ) -> Result<(), RefundRejection> {
        let Some(payment_id) = refund.payment_id else {
            return Ok(());
        };
        let payment = payment.ok_or(RefundRejection::PaymentNotFound(payment_id))?;
        let counted = self.counted.entry(payment_id).or_insert(0);
        check_refund(payment, *counted, refund)?;
        *counted = counted.saturating_add(counted_minor(refund));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::currency::Currency;
    use crate::ids::MerchantId;
    use chrono::Utc;

    fn usd(minor: i64) -> Money {
        Money::from_minor(
            minor,
            Currency::parse("USD").unwrap_or_else(|e| unreachable!("{e}")),
        )
        .unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn payment(total: Option<Money>, status: Status) -> Payment {
        let mut p = Payment::record(
            NewPayment {
                merchant_id: MerchantId::generate(),
                account_id: "a".into(),
                correlator_id: None,
                total_amount: total,
                amount_decimals: None,
                status: None,
                payment_date: None,
                document: Document::default(),
                origin: Origin::new("test"),
            },
            Utc::now(),
        );
        p.status = status;
        p
    }

    fn refund(p: &Payment, amount: Option<Money>) -> Refund {
        Refund::record(
            NewRefund {
                merchant_id: p.merchant_id.clone(),
                payment_id: Some(p.id),
                account_id: "a".into(),
                correlator_id: None,
                total_amount: amount,
                amount_decimals: None,
                status: None,
                refund_date: None,
                document: Document::default(),
            },
            Utc::now(),
        )
    }

    #[test]
    fn recorded_payments_default_to_captured_and_refunds_to_done() {
        let p = payment(None, DEFAULT_PAYMENT_STATUS);
        assert_eq!(p.status, Status::Captured);
        assert_eq!(refund(&p, None).status, Status::Done);
    }

    #[test]
    fn refunds_never_exceed_the_payment_total() {
        let p = payment(Some(usd(5000)), Status::Captured);
        assert_eq!(check_refund(&p, 0, &refund(&p, Some(usd(5000)))), Ok(()));
        assert_eq!(check_refund(&p, 3000, &refund(&p, Some(usd(2000)))), Ok(()));
        assert_eq!(
            check_refund(&p, 3000, &refund(&p, Some(usd(2001)))),
            Err(RefundRejection::ExceedsRefundable {
                requested: usd(2001),
                remaining: usd(2000)
            })
        );
    }

    #[test]
    fn refunds_need_a_captured_payment_in_the_same_currency() {
        let pending = payment(Some(usd(5000)), Status::PendingAuthorization);
        assert!(matches!(
            check_refund(&pending, 0, &refund(&pending, Some(usd(1)))),
            Err(RefundRejection::PaymentNotRefundable { .. })
        ));
        let p = payment(Some(usd(5000)), Status::Captured);
        let eur = Money::from_minor(
            1,
            Currency::parse("EUR").unwrap_or_else(|e| unreachable!("{e}")),
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(matches!(
            check_refund(&p, 0, &refund(&p, Some(eur))),
            Err(RefundRejection::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn a_run_of_refunds_is_checked_in_order_each_seeing_those_admitted_before() {
        let p = payment(Some(usd(5000)), Status::Captured);
        let pending = payment(Some(usd(5000)), Status::PendingAuthorization);
        let mut not_counting = refund(&p, Some(usd(4000)));
        not_counting.status = Status::Canceled;
        assert!(!not_counting.status.counts_against_refundable());
        let exceeds = |requested, remaining| {
            Err(RefundRejection::ExceedsRefundable {
                requested: usd(requested),
                remaining: usd(remaining),
            })
        };
        // (recorded before the run, the run in order with its payment known or not, outcomes)
        type Case<'a> = (
            i64,
            Vec<(Option<&'a Payment>, Refund)>,
            Vec<Result<(), RefundRejection>>,
        );
        let cases: Vec<Case<'_>> = vec![
            (
                0,
                vec![
                    (Some(&p), refund(&p, Some(usd(3000)))),
                    (Some(&p), refund(&p, Some(usd(3000)))),
                ],
                vec![Ok(()), exceeds(3000, 2000)],
            ),
            (
                1000,
                vec![
                    (Some(&p), refund(&p, Some(usd(4001)))),
                    (Some(&p), refund(&p, Some(usd(2500)))),
                    (Some(&p), refund(&p, Some(usd(1500)))),
                    (Some(&p), refund(&p, Some(usd(1)))),
                ],
                vec![exceeds(4001, 4000), Ok(()), Ok(()), exceeds(1, 0)],
            ),
            (
                0,
                vec![
                    (Some(&p), not_counting.clone()),
                    (Some(&p), refund(&p, Some(usd(5000)))),
                ],
                vec![Ok(()), Ok(())],
            ),
            (
                0,
                vec![
                    (None, refund(&p, Some(usd(1)))),
                    (Some(&p), refund(&p, Some(usd(5000)))),
                ],
                vec![Err(RefundRejection::PaymentNotFound(p.id)), Ok(())],
            ),
            (
                0,
                vec![(Some(&pending), refund(&pending, Some(usd(1))))],
                vec![Err(RefundRejection::PaymentNotRefundable {
                    payment: pending.id,
                    status: Status::PendingAuthorization,
                })],
            ),
        ];
        for (recorded, run, expected) in cases {
            let mut tally = RefundTally::new([(p.id, recorded)]);
            let outcomes: Vec<_> = run
                .iter()
                .map(|(payment, refund)| tally.admit(*payment, refund))
                .collect();
            assert_eq!(outcomes, expected, "recorded {recorded}");
        }
        let mut unlinked = refund(&p, Some(usd(99_999)));
        unlinked.payment_id = None;
        assert_eq!(RefundTally::default().admit(None, &unlinked), Ok(()));
        assert_eq!(counted_minor(&not_counting), 0);
        assert_eq!(counted_minor(&refund(&p, Some(usd(123)))), 123);
    }
}
