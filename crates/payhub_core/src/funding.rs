//! How a payment is funded: a customer account's available credit, spent
//! before any payment method, held while the method's part is open, and
//! given back exactly once if that part fails.
//!
//! The rule (APS `useAvailableCredit`): credit pays first, as much of the
//! total as it covers; only the rest goes to the payment method. Credit never
//! goes below zero: the store applies [`split`] to the balance it holds
//! locked, and debits exactly [`CreditSplit::credit`]. Credit spent is
//! [`CreditState::Held`]; when the method's part ends, [`settle`] says
//! whether the credit goes back (a failure, once) or the card is saved (a
//! success the customer asked to remember).
//!
//! A refund of such a payment gives each part back where it came from, card
//! first ([`split_refund`]): the customer gets money on the card before credit
//! on the account, and the credit part is returned only once the card part is
//! refunded in full.

use crate::gateway::GatewayState;
use crate::ledger::RefundRejection;
use crate::money::{Money, MoneyError};
use crate::status::Status;

/// The largest balance an account may hold, in minor units. Far above any
/// real balance, and low enough that giving spent credit back can never
/// overflow a 64-bit integer (SQLite would silently turn it into a float).
pub const MAX_CREDIT_MINOR: i64 = 1_000_000_000_000_000;

/// The balance after adding `amount_minor` (negative to take) to
/// `balance_minor`; `None` when it would leave `0..=MAX_CREDIT_MINOR`.
pub fn add_credit(balance_minor: i64, amount_minor: i64) -> Option<i64> {
    balance_minor
        .checked_add(amount_minor)
        .filter(|b| (0..=MAX_CREDIT_MINOR).contains(b))
}

/// What became of the credit a payment spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CreditState {
    /// No credit was spent.
    None,
    /// The credit is spent.
    Held,
    /// The payment-method part failed and the credit was given back (once).
    Returned,
}

impl CreditState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CreditState::None => "none",
            CreditState::Held => "held",
            CreditState::Returned => "returned",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<CreditState> {
        [CreditState::None, CreditState::Held, CreditState::Returned]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

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

/// What a new payment funded by `split` starts as: its ledger status (paid
/// already when credit covers it all), the state of its credit, and whether
/// to save the card the customer enters (only when there is a part left to
/// pay and no stored method pays it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Funding {
    pub status: Status,
    pub credit_state: CreditState,
    /// Whether the stored method (if any) is charged.
    pub uses_stored_method: bool,
    pub save_method: bool,
}

/// Decides how a payment split as `split` starts; `has_stored_method` when
/// the customer chose a stored payment method.
pub fn fund(split: &CreditSplit, has_stored_method: bool) -> Funding {
    let covered = split.covered_by_credit();
    Funding {
        status: if covered {
            Status::Captured
        } else {
            Status::PendingAuthorization
        },
        credit_state: if split.credit.amount_minor() > 0 {
            CreditState::Held
        } else {
            CreditState::None
        },
        uses_stored_method: has_stored_method && !covered,
        save_method: !covered && !has_stored_method,
    }
}

/// What the end of a payment's method part does to its account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settlement {
    /// Nothing (still open, or nothing to give back or save).
    Nothing,
    /// Give `credit_minor` back to the account and mark the credit returned.
    ReturnCredit,
    /// Save the card the gateway saw as a payment method.
    SaveCard,
}

/// What a gateway `state` does to a payment's account: a failure gives the
/// held credit back (once: only a `held` credit is returned, so a second
/// final report gives nothing), a success saves the card when the customer
/// asked and the gateway saw one.
pub fn settle(
    state: GatewayState,
    credit_state: CreditState,
    save_method: bool,
    card_known: bool,
) -> Settlement {
    if !state.is_final() {
        return Settlement::Nothing;
    }
    if state == GatewayState::Succeeded {
        return if save_method && card_known {
            Settlement::SaveCard
        } else {
            Settlement::Nothing
        };
    }
    if credit_state == CreditState::Held {
        Settlement::ReturnCredit
    } else {
        Settlement::Nothing
    }
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

/// What a card saved from a hosted-page payment is charged with later, or
/// `None` when nothing could charge it (and it is not saved): the gateway's
/// own reusable reference when it gave one (Stripe's `cus_…/pm_…`, made by
/// a payment set up for later use); payhub's own card token only where the
/// gateway charges payhub's tokens (`charges_payhub_tokens`: the simulated
/// gateway). A real gateway that gave no reference has nothing it could
/// charge later, so saving payhub's token would save a card that fails at
/// its first use.
pub fn saved_card_charge<'a>(
    payhub_token: &'a str,
    gateway_token: Option<&'a str>,
    charges_payhub_tokens: bool,
) -> Option<&'a str> {
    match gateway_token.filter(|token| !token.is_empty()) {
        Some(token) => Some(token),
        None if charges_payhub_tokens => Some(payhub_token),
        None => None,
    }
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
    fn the_balance_stays_within_its_cap() {
        let table = [
            (0, 100, Some(100)),
            (100, -100, Some(0)),
            (100, -101, None),
            (MAX_CREDIT_MINOR, 0, Some(MAX_CREDIT_MINOR)),
            (MAX_CREDIT_MINOR, 1, None),
            (i64::MAX, 1, None),
        ];
        for (balance, amount, want) in table {
            assert_eq!(add_credit(balance, amount), want, "{balance} + {amount}");
        }
    }

    #[test]
    fn how_a_payment_starts_by_its_funding() {
        let split_of = |credit, rest| CreditSplit {
            credit: usd(credit),
            rest: usd(rest),
        };
        let table = [
            // (credit, rest, stored method, status, credit state, uses stored, save)
            (
                1000,
                0,
                false,
                Status::Captured,
                CreditState::Held,
                false,
                false,
            ),
            (
                1000,
                0,
                true,
                Status::Captured,
                CreditState::Held,
                false,
                false,
            ),
            (
                300,
                700,
                false,
                Status::PendingAuthorization,
                CreditState::Held,
                false,
                true,
            ),
            (
                300,
                700,
                true,
                Status::PendingAuthorization,
                CreditState::Held,
                true,
                false,
            ),
            (
                0,
                1000,
                false,
                Status::PendingAuthorization,
                CreditState::None,
                false,
                true,
            ),
            (
                0,
                1000,
                true,
                Status::PendingAuthorization,
                CreditState::None,
                true,
                false,
            ),
        ];
        for (credit, rest, stored, status, credit_state, uses_stored, save) in table {
            assert_eq!(
                fund(&split_of(credit, rest), stored),
                Funding {
                    status,
                    credit_state,
                    uses_stored_method: uses_stored,
                    save_method: save
                },
                "{credit} {rest} {stored}"
            );
        }
    }

    #[test]
    fn credit_goes_back_exactly_once_and_only_on_a_failure() {
        use GatewayState::*;
        for state in GatewayState::ALL {
            for credit_state in [CreditState::None, CreditState::Held, CreditState::Returned] {
                for (save, card) in [(false, false), (true, false), (false, true), (true, true)] {
                    let want = match state {
                        AwaitingCustomer | Challenge | Unknown => Settlement::Nothing,
                        Succeeded if save && card => Settlement::SaveCard,
                        Succeeded => Settlement::Nothing,
                        Declined | Expired | Canceled if credit_state == CreditState::Held => {
                            Settlement::ReturnCredit
                        }
                        Declined | Expired | Canceled => Settlement::Nothing,
                    };
                    assert_eq!(
                        settle(state, credit_state, save, card),
                        want,
                        "{state:?} {credit_state:?} {save} {card}"
                    );
                }
            }
        }
        for state in [CreditState::None, CreditState::Held, CreditState::Returned] {
            assert_eq!(CreditState::parse(state.as_str()), Some(state));
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

    #[test]
    fn a_saved_card_is_charged_with_what_its_gateway_can_charge() {
        // (payhub token, gateway token, gateway charges payhub tokens, charged with)
        let table = [
            ("tok_1", Some("cus_1/pm_2"), false, Some("cus_1/pm_2")),
            ("tok_1", Some("cus_1/pm_2"), true, Some("cus_1/pm_2")),
            ("tok_1", None, true, Some("tok_1")),
            ("tok_1", None, false, None),
            ("tok_1", Some(""), false, None),
            ("tok_1", Some(""), true, Some("tok_1")),
        ];
        for (payhub, gateway, simulated, want) in table {
            assert_eq!(
                saved_card_charge(payhub, gateway, simulated),
                want,
                "{payhub} {gateway:?} {simulated}"
            );
        }
    }
}
