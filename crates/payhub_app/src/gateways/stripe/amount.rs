//! Amounts between payhub's minor units and Stripe's `amount` unit.
//!
//! payhub counts in ISO 4217 minor units (`payhub_core::currency`). Stripe
//! counts in "the currency's smallest unit" as *Stripe* defines it
//! (docs.stripe.com/currencies, "Minor units in API amounts", "Zero-decimal
//! currencies", "Three-decimal currencies", "Special cases"), which differs
//! from ISO for a few currencies:
//! - zero-decimal at Stripe: BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND
//!   VUV XAF XOF XPF (MGA is two-decimal in ISO: only whole ariary convert);
//! - ISK is zero-decimal in ISO but stays two-decimal in Stripe's API, and
//!   its amounts must be whole krónur (a multiple of 100);
//! - three-decimal BHD JOD KWD OMR TND: the last digit must be 0;
//! - HUF and TWD are zero-decimal only for Stripe *payouts*; charges take
//!   two decimals, as in ISO, so they convert unchanged.
//!
//! Nothing is ever rounded: an amount Stripe cannot carry exactly is refused
//! before any call, and the currencies payhub knows with an exponent Stripe
//! does not take (IQD, LYD, CLF, UYI, UYW) are refused too.

use payhub_core::{Currency, Money};

/// Zero-decimal currencies in Stripe's API.
const STRIPE_ZERO_DECIMAL: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
];
/// Three-decimal currencies in Stripe's API (last digit must be 0).
const STRIPE_THREE_DECIMAL: &[&str] = &["BHD", "JOD", "KWD", "OMR", "TND"];
/// Two-decimal in Stripe's API, but charged in whole units only.
const STRIPE_WHOLE_UNITS_ONLY: &[&str] = &["ISK"];

/// Why an amount cannot go to Stripe exactly.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("Stripe does not take {0} amounts with payhub's {1}-decimal minor unit")]
    Unsupported(String, u8),
    #[error("{0} cannot be expressed exactly in Stripe's unit for {1}")]
    NotRepresentable(i64, String),
    #[error("the amount is too large")]
    Overflow,
}

/// How many decimals Stripe's `amount` has for `currency`, or `None` when
/// payhub's exponent for it is one Stripe does not take.
pub fn stripe_exponent(currency: Currency) -> Option<u8> {
    let code = currency.code();
    if STRIPE_ZERO_DECIMAL.contains(&code) {
        return Some(0);
    }
    if STRIPE_THREE_DECIMAL.contains(&code) {
        return Some(3);
    }
    if STRIPE_WHOLE_UNITS_ONLY.contains(&code) {
        return Some(2);
    }
    // Every other currency Stripe takes is two-decimal, as ISO has it; a
    // currency payhub knows with another exponent is not one Stripe takes.
    (currency.minor_unit_exponent() == 2).then_some(2)
}

/// The multiple a Stripe amount must be of, in Stripe's unit.
fn stripe_step(code: &str) -> i64 {
    if STRIPE_THREE_DECIMAL.contains(&code) {
        10
    } else if STRIPE_WHOLE_UNITS_ONLY.contains(&code) {
        100
    } else {
        1
    }
}

fn pow10(exponent: u8) -> Result<i64, AmountError> {
    10_i64
        .checked_pow(u32::from(exponent))
        .ok_or(AmountError::Overflow)
}

/// `money` as Stripe's `amount` and lower-case `currency`.
pub fn to_stripe(money: Money) -> Result<(i64, String), AmountError> {
    let currency = money.currency();
    let code = currency.code();
    let ours = currency.minor_unit_exponent();
    let theirs =
        stripe_exponent(currency).ok_or_else(|| AmountError::Unsupported(code.to_owned(), ours))?;
    let minor = money.amount_minor();
    let not_exact = || AmountError::NotRepresentable(minor, code.to_owned());
    let amount = if theirs >= ours {
        minor
            .checked_mul(pow10(theirs - ours)?)
            .ok_or(AmountError::Overflow)?
    } else {
        let divisor = pow10(ours - theirs)?;
        if minor % divisor != 0 {
            return Err(not_exact());
        }
        minor / divisor
    };
    if amount % stripe_step(code) != 0 {
        return Err(not_exact());
    }
    Ok((amount, code.to_ascii_lowercase()))
}

/// A Stripe `amount` in `currency` as payhub's money.
pub fn from_stripe(amount: i64, currency: Currency) -> Result<Money, AmountError> {
    let code = currency.code();
    let ours = currency.minor_unit_exponent();
    let theirs =
        stripe_exponent(currency).ok_or_else(|| AmountError::Unsupported(code.to_owned(), ours))?;
    let minor = if ours >= theirs {
        amount
            .checked_mul(pow10(ours - theirs)?)
            .ok_or(AmountError::Overflow)?
    } else {
        let divisor = pow10(theirs - ours)?;
        if amount % divisor != 0 {
            return Err(AmountError::NotRepresentable(amount, code.to_owned()));
        }
        amount / divisor
    };
    Money::from_minor(minor, currency).map_err(|_| AmountError::Overflow)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn money(minor: i64, code: &str) -> Money {
        let currency = Currency::parse(code).unwrap();
        Money::from_minor(minor, currency).unwrap()
    }

    #[test]
    fn converts_each_exponent_both_ways() {
        // (payhub minor units, currency, Stripe amount, Stripe currency)
        let table = [
            (12_345, "HKD", 12_345, "hkd"), // 123.45 HKD, both two-decimal
            (100, "CNY", 100, "cny"),       // 1.00 CNY
            (1, "USD", 1, "usd"),           // one cent
            (500, "JPY", 500, "jpy"),       // ¥500: zero-decimal in both
            (3_000, "KRW", 3_000, "krw"),
            (5, "ISK", 500, "isk"),       // 5 kr: Stripe keeps two decimals
            (1_000, "HUF", 1_000, "huf"), // 10.00 Ft: two-decimal for charges
            (1_050, "TWD", 1_050, "twd"), // 10.50 NT$
            (7, "UGX", 7, "ugx"),         // zero-decimal in both
            (5_120, "KWD", 5_120, "kwd"), // 5.120 KWD, last digit 0
            (1_000, "BHD", 1_000, "bhd"), // 1.000 BHD
            (25_000, "MGA", 250, "mga"),  // 250 Ar: two-decimal in ISO only
        ];
        for (minor, code, amount, stripe_code) in table {
            let m = money(minor, code);
            assert_eq!(
                to_stripe(m),
                Ok((amount, stripe_code.to_owned())),
                "{code} {minor}"
            );
            assert_eq!(from_stripe(amount, m.currency()), Ok(m), "{code} back");
        }
    }

    #[test]
    fn refuses_what_stripe_cannot_carry_exactly() {
        for (minor, code) in [
            (5_124, "KWD"), // three-decimal: last digit must be 0
            (1_001, "JOD"),
            (25_050, "MGA"), // a fraction of an ariary
        ] {
            assert!(
                matches!(
                    to_stripe(money(minor, code)),
                    Err(AmountError::NotRepresentable(..))
                ),
                "{code} {minor}"
            );
        }
        for code in ["IQD", "LYD", "CLF", "UYI"] {
            assert!(
                matches!(
                    to_stripe(money(1_000, code)),
                    Err(AmountError::Unsupported(..))
                ),
                "{code}"
            );
        }
        // A fractional ISK amount from Stripe is not a whole payhub króna.
        let isk = Currency::parse("ISK").unwrap();
        assert!(from_stripe(4_010, isk).is_err());
    }

    #[test]
    fn refuses_overflow_instead_of_wrapping() {
        let isk = money(i64::MAX / 10, "ISK");
        assert_eq!(to_stripe(isk), Err(AmountError::Overflow));
    }
}
