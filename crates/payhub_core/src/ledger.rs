//! Payments and refunds: the records every dialect reads and writes.

use chrono::{DateTime, Utc};

use crate::ids::{MerchantId, PaymentId, RefundId};
use crate::money::Money;
use crate::status::Status;

/// The status of a payment recorded without one.
///
/// TMF676 describes a payment as "a performed payment": a channel records money
/// it has already taken. So a payment posted without a status is `captured`,
/// which is also what makes it refundable.
pub const DEFAULT_PAYMENT_STATUS: Status = Status::Captured;

/// The status of a refund recorded without one: a performed refund is `done`.
pub const DEFAULT_REFUND_STATUS: Status = Status::Done;

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
    pub document: Document,
    pub created_at: DateTime<Utc>,
}

/// What a dialect asks the ledger to record as a payment.
#[derive(Clone, Debug)]
pub struct NewPayment {
    pub merchant_id: MerchantId,
    pub account_id: String,
    pub correlator_id: Option<String>,
    pub total_amount: Option<Money>,
    /// The status the client recorded; [`DEFAULT_PAYMENT_STATUS`] when absent.
    pub status: Option<Status>,
    /// When the payment was performed; the time of recording when absent.
    pub payment_date: Option<DateTime<Utc>>,
    pub document: Document,
}

impl Payment {
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
            document: new.document,
            created_at: now,
        }
    }
}

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
    pub status: Option<Status>,
    pub refund_date: Option<DateTime<Utc>>,
    pub document: Document,
}

impl Refund {
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
            document: new.document,
            created_at: now,
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::currency::Currency;

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
                status: None,
                payment_date: None,
                document: Document::default(),
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
}
