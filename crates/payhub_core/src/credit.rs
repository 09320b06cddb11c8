//! A customer account's available credit, spent before any payment method.
//!
//! The rule (APS `useAvailableCredit`): credit pays first, as much of the
//! total as it covers; only the rest goes to the payment method. Credit never
//! goes below zero: the store applies [`split`] to the balance it holds
//! locked, and debits exactly [`CreditSplit::credit`].
//!
//! A refund of such a payment gives each part back where it came from, card
//! first ([`split_refund`]): the customer gets money on the card before credit
//! on the account, and the credit part is returned only once the card part is
//! refunded in full.

use crate::ledger::RefundRejection;
use crate::money::{Money, MoneyError};

/// How a payment's total is covered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditSplit {
    /// Paid from the account's credit.
    pub credit: Money,
    /// Left for the payment method (stored method or hosted page).
    pub rest: Money,
}

impl CreditSplit {
    /// Whether credit covers the whole total (nothing left to charge).
    pub fn covered_by_credit(&self) -> bool {
        self.rest.amount_minor() == 0
    }
}

/// Splits `total` between `available_minor` units of credit (in the total's
/// currency) and the payment method. Without `use_credit`, everything goes to
/// the method. A negative balance (which the database's `CHECK` forbids) is
/// treated as none.
pub fn split(
    total: Money,
    available_minor: i64,
    use_credit: bool,
) -> Result<CreditSplit, MoneyError> {
    let available = if use_credit {
        available_minor.max(0)
    } else {
        0
    };
    let credit_minor = available.min(total.amount_minor());
    let rest_minor = total
        .amount_minor()
        .checked_sub(credit_minor)
        .ok_or(MoneyError::Overflow)?;
    Ok(CreditSplit {
        credit: Money::from_minor(credit_minor, total.currency())?,
        rest: Money::from_minor(rest_minor, total.currency())?,
    })
}

/// Minor units of each part of an APS payment: what it paid, or what
/// refunds have given back of it so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Parts {
    /// Charged to (or refunded to) the card or other payment method.
    pub card_minor: i64,
    /// Spent from (or returned to) the account's credit.
    pub credit_minor: i64,
}

/// How one refund of an APS payment is given back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefundSplit {
    /// Refunded to the card through its gateway.
    pub card: Money,
    /// Returned to the account's credit.
    pub credit: Money,
}

/// Splits a refund of `requested` between an APS payment's card part and its
/// credit part, **card first**: as much as the card part still holds goes
/// back to the card, only the rest to the account's credit. Neither part ever
/// gives back more than it paid minus what refunds already gave back of it;
/// a request beyond both is refused with what is left.
///
/// `refunded` counts the card parts of refunds that still count (pending or
/// done) and every credit part already returned (credit once given back is
/// not taken again, even when the card part of its refund is denied).
pub fn split_refund(
    requested: Money,
    paid: Parts,
    refunded: Parts,
) -> Result<RefundSplit, RefundRejection> {
    let left = |paid: i64, refunded: i64| paid.checked_sub(refunded).unwrap_or(0).max(0);
    let card_left = left(paid.card_minor, refunded.card_minor);
    let credit_left = left(paid.credit_minor, refunded.credit_minor);
    let currency = requested.currency();
    let money = |minor: i64| Money::from_minor(minor, currency).unwrap_or(Money::zero(currency));
    let card_minor = requested.amount_minor().min(card_left);
    let credit_minor = requested.amount_minor().saturating_sub(card_minor);
    if credit_minor > credit_left {
        return Err(RefundRejection::ExceedsRefundable {
            requested,
            remaining: money(card_left.saturating_add(credit_left)),
        });
    }
    Ok(RefundSplit {
        card: money(card_minor),
        credit: money(credit_minor),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Currency;

    fn usd(minor: i64) -> Money {
        let currency = Currency::parse("USD").unwrap_or_else(|e| unreachable!("{e}"));
        Money::from_minor(minor, currency).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn credit_pays_first_and_never_more_than_the_total() {
        let cases = [
            // (total, available, use, credit, rest)
            (1000, 2500, true, 1000, 0),
            (1000, 300, true, 300, 700),
            (1000, 0, true, 0, 1000),
            (1000, 2500, false, 0, 1000),
            (1000, -5, true, 0, 1000),
        ];
        for (total, available, use_credit, credit, rest) in cases {
            let got =
                split(usd(total), available, use_credit).unwrap_or_else(|e| unreachable!("{e}"));
            assert_eq!(
                (got.credit, got.rest),
                (usd(credit), usd(rest)),
                "{total} {available} {use_credit}"
            );
            assert_eq!(got.covered_by_credit(), rest == 0);
        }
    }

    #[test]
    fn a_refund_goes_to_the_card_first_and_never_beyond_either_part() {
        let parts = |card_minor, credit_minor| Parts {
            card_minor,
            credit_minor,
        };
        // A 30.00 payment: 15.10 by card, 14.90 from credit.
        let paid = parts(1510, 1490);
        let cases = [
            // (requested, already refunded (card, credit), Ok((card, credit)) or Err(remaining))
            (3000, parts(0, 0), Ok((1510, 1490))),
            (1000, parts(0, 0), Ok((1000, 0))),
            (1510, parts(0, 0), Ok((1510, 0))),
            (1511, parts(0, 0), Ok((1510, 1))),
            (1000, parts(1000, 0), Ok((510, 490))),
            (1490, parts(1510, 0), Ok((0, 1490))),
            (1, parts(1510, 1490), Err(0)),
            (1491, parts(1510, 0), Err(1490)),
            (3001, parts(0, 0), Err(3000)),
            (100, parts(1510, 1400), Err(90)),
            // Credit given back by a refund whose card part was denied
            // stays given back: only the card part is left.
            (1510, parts(0, 1490), Ok((1510, 0))),
            (1511, parts(0, 1490), Err(1510)),
            // Older refunds beyond a part (before the split existed) leave nothing of it.
            (100, parts(2000, 0), Ok((0, 100))),
        ];
        for (requested, refunded, expected) in cases {
            let got = split_refund(usd(requested), paid, refunded);
            let want = match expected {
                Ok((card, credit)) => Ok(RefundSplit {
                    card: usd(card),
                    credit: usd(credit),
                }),
                Err(remaining) => Err(RefundRejection::ExceedsRefundable {
                    requested: usd(requested),
                    remaining: usd(remaining),
                }),
            };
            assert_eq!(got, want, "{requested} after {refunded:?}");
            if let Ok(split) = got {
                assert_eq!(
                    split.card.amount_minor() + split.credit.amount_minor(),
                    requested
                );
            }
        }
        // A payment covered by credit alone gives everything back as credit.
        assert_eq!(
            split_refund(usd(500), parts(0, 1000), parts(0, 0)),
            Ok(RefundSplit {
                card: usd(0),
                credit: usd(500)
            })
        );
    }
}
