//! A customer account's available credit, spent before any payment method.
//!
//! The rule (APS `useAvailableCredit`): credit pays first, as much of the
//! total as it covers; only the rest goes to the payment method. Credit never
//! goes below zero: the store applies [`split`] to the balance it holds
//! locked, and debits exactly [`CreditSplit::credit`].

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
}
