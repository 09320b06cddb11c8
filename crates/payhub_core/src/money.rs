//! Exact money: an integer count of minor units and its currency.
//!
//! There is no float anywhere here. Decimal text is parsed exactly, and a value
//! with more decimals than the currency allows is an error, not a rounding.

use std::fmt;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::currency::Currency;

/// An amount of money: `amount_minor` minor units (cents, yen, fils) of `currency`.
///
/// The constructor refuses negative amounts: a payment or refund moves a
/// non-negative amount, and direction is expressed by the resource kind.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    amount_minor: i64,
    currency: Currency,
}

/// Why an amount is not valid money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount must not be negative")]
    Negative,
    #[error("'{value}' has more decimals than {currency} allows ({exponent})")]
    TooManyDecimals {
        value: String,
        currency: String,
        exponent: u8,
    },
    #[error("'{0}' is not a decimal number")]
    NotANumber(String),
    #[error("amount is too large")]
    Overflow,
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(String, String),
}

impl Money {
    /// Builds money from minor units; refuses a negative amount.
    pub fn from_minor(amount_minor: i64, currency: Currency) -> Result<Self, MoneyError> {
        if amount_minor < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(Self {
            amount_minor,
            currency,
        })
    }

    /// Parses decimal text (`"50"`, `"10.25"`, `"1e2"`) exactly into minor units.
    pub fn parse_decimal(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        Self::parse_written(text, currency).map(|(money, _)| money)
    }

    /// Parses decimal text like [`Money::parse_decimal`], and also says how
    /// many decimals it was written with (`10.1` one, `10` none, `10.100`
    /// three): a dialect that echoes its client's spelling keeps that next to
    /// the amount and renders it back with [`Money::to_decimal_written`].
    pub fn parse_written(text: &str, currency: Currency) -> Result<(Self, u8), MoneyError> {
        let not_a_number = || MoneyError::NotANumber(text.to_owned());
        let value = if text.contains(['e', 'E']) {
            Decimal::from_scientific(text).map_err(|_| not_a_number())?
        } else {
            Decimal::from_str_exact(text).map_err(|_| not_a_number())?
        };
        let decimals = u8::try_from(value.scale()).map_err(|_| not_a_number())?;
        Ok((
            Self::from_decimal(value.normalize(), currency, text)?,
            decimals,
        ))
    }

    fn from_decimal(value: Decimal, currency: Currency, text: &str) -> Result<Self, MoneyError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(MoneyError::Negative);
        }
        let exponent = currency.minor_unit_exponent();
        if value.scale() > u32::from(exponent) {
            return Err(MoneyError::TooManyDecimals {
                value: text.to_owned(),
                currency: currency.code().to_owned(),
                exponent,
            });
        }
        let minor = value
            .checked_mul(Decimal::from(10_i64.pow(u32::from(exponent))))
            .ok_or(MoneyError::Overflow)?;
        // The scale check above makes `minor` integral, so this conversion is exact.
        let amount_minor = minor.to_i64().ok_or(MoneyError::Overflow)?;
        Self::from_minor(amount_minor, currency)
    }

    /// The amount in minor units.
    pub fn amount_minor(&self) -> i64 {
        self.amount_minor
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The currency's code, borrowed from this amount (a stored row's
    /// column can then borrow it too, where `currency().code()` would
    /// borrow a temporary).
    pub fn currency_code(&self) -> &str {
        self.currency.code()
    }

    /// Adds two amounts of one currency; refuses mixing currencies or overflowing.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let sum = self
            .amount_minor
            .checked_add(other.amount_minor)
            .ok_or(MoneyError::Overflow)?;
        Money::from_minor(sum, self.currency)
    }

    /// A zero amount of `currency`.
    pub fn zero(currency: Currency) -> Money {
        Money {
            amount_minor: 0,
            currency,
        }
    }

    fn same_currency(&self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(
                self.currency.to_string(),
                other.currency.to_string(),
            ))
        }
    }

    /// The amount as an exact decimal in major units (`1050` EUR cents is `10.50`).
    pub fn to_decimal(&self) -> Decimal {
        Decimal::new(
            self.amount_minor,
            u32::from(self.currency.minor_unit_exponent()),
        )
    }

    /// The amount in major units written with `decimals` decimals (`1010`
    /// EUR cents with one is `10.1`), or with the currency's exponent when
    /// `None`. Never fewer decimals than the amount needs, so nothing is
    /// rounded away whatever `decimals` says.
    pub fn to_decimal_written(&self, decimals: Option<u8>) -> Decimal {
        let mut value = self.to_decimal();
        if let Some(decimals) = decimals {
            let needed = value.normalize().scale();
            value.rescale(u32::from(decimals).max(needed));
        }
        value
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({} {})", self.to_decimal(), self.currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn parses_exact_decimals_into_minor_units() {
        let cases = [
            ("50", "USD", 5000),
            ("10.25", "EUR", 1025),
            ("0.1", "HKD", 10),
            ("1e2", "USD", 10000),
            ("1.5E1", "USD", 1500),
            ("100", "JPY", 100),
            ("1.234", "KWD", 1234),
            ("10.10", "USD", 1010),
            ("0", "USD", 0),
        ];
        for (text, code, minor) in cases {
            let money = Money::parse_decimal(text, cur(code));
            assert_eq!(money.map(|m| m.amount_minor()), Ok(minor), "{text} {code}");
        }
    }

    #[test]
    fn refuses_more_decimals_than_the_currency_has() {
        for (text, code) in [
            ("0.001", "USD"),
            ("1.5", "JPY"),
            ("1.2345", "KWD"),
            ("0.1000000000000000055", "EUR"),
        ] {
            assert!(
                matches!(
                    Money::parse_decimal(text, cur(code)),
                    Err(MoneyError::TooManyDecimals { .. })
                ),
                "{text} {code} must be refused"
            );
        }
    }

    #[test]
    fn refuses_negative_and_non_numbers() {
        assert_eq!(
            Money::parse_decimal("-1", cur("USD")),
            Err(MoneyError::Negative)
        );
        assert!(matches!(
            Money::parse_decimal("ten", cur("USD")),
            Err(MoneyError::NotANumber(_))
        ));
        assert_eq!(Money::from_minor(-5, cur("USD")), Err(MoneyError::Negative));
    }

    #[test]
    fn addition_is_checked() {
        let usd = cur("USD");
        let a = Money::from_minor(i64::MAX, usd).unwrap_or_else(|e| unreachable!("{e}"));
        let one = Money::from_minor(1, usd).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(a.checked_add(one), Err(MoneyError::Overflow));
        let eur = Money::zero(cur("EUR"));
        assert!(matches!(
            one.checked_add(eur),
            Err(MoneyError::CurrencyMismatch(..))
        ));
        assert_eq!(one.checked_add(one).map(|m| m.amount_minor()), Ok(2));
    }

    #[test]
    fn an_amount_renders_back_as_its_client_wrote_it() {
        // text, currency, minor units, decimals written, rendered back
        let cases = [
            ("10.1", "EUR", 1010, 1, "10.1"),
            ("10", "EUR", 1000, 0, "10"),
            ("10.10", "EUR", 1010, 2, "10.10"),
            ("10.100", "EUR", 1010, 3, "10.100"),
            ("100.0", "JPY", 100, 1, "100.0"),
            ("1.5", "KWD", 1500, 1, "1.5"),
            ("0", "USD", 0, 0, "0"),
            ("1e2", "USD", 10000, 0, "100"),
        ];
        for (text, code, minor, decimals, rendered) in cases {
            let parsed = Money::parse_written(text, cur(code));
            let Ok((money, written)) = parsed else {
                unreachable!("{text} {code}: {parsed:?}")
            };
            assert_eq!((money.amount_minor(), written), (minor, decimals), "{text}");
            let back = money.to_decimal_written(Some(written)).to_string();
            assert_eq!(back, rendered, "{text} {code}");
        }
    }

    #[test]
    fn a_written_spelling_never_rounds_and_none_means_the_exponent() {
        let eur = cur("EUR");
        let m = Money::from_minor(1055, eur).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(m.to_decimal_written(Some(0)).to_string(), "10.55");
        assert_eq!(m.to_decimal_written(None).to_string(), "10.55");
        let whole = Money::from_minor(1000, eur).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(whole.to_decimal_written(None).to_string(), "10.00");
        assert_eq!(whole.to_decimal_written(Some(0)).to_string(), "10");
    }

    #[test]
    fn renders_major_units_exactly() {
        let m = Money::from_minor(1050, cur("EUR")).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(m.to_decimal().to_string(), "10.50");
    }
}
