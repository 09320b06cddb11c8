//! Amounts between payhub's [`Money`] and Alipay's `total_fee` /
//! `refund_amount`: a decimal string in major units.
//!
//! Alipay's cross-border MAPI documents (`alipay.acquire.overseas.spot.refund`,
//! `alipay.acquire.precreate`): "If the currency is JPY or KRW, the amount must
//! be an integer, e.g. 100 JPY. Other currencies are accurate to two decimals,
//! e.g. 100.00 USD; another format is an error (100.999 USD)." payhub's
//! ISO 4217 exponent gives exactly that (JPY and KRW 0, HKD/CNY/USD 2), so the
//! amount is written with the currency's exponent. A currency whose exponent
//! is 3 (KWD, BHD, …) has no Alipay spelling and is refused rather than
//! rounded. Integer arithmetic only.

use payhub_core::{Currency, Money};

/// Why an amount cannot travel to or from Alipay.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("Alipay takes amounts with at most two decimals; {0} has {1}")]
    Unsupported(String, u8),
    #[error("'{0}' is not an Alipay amount in {1}")]
    Malformed(String, String),
}

/// Decimals Alipay writes for `currency` (its ISO 4217 exponent, at most 2).
fn decimals(currency: Currency) -> Result<u8, AmountError> {
    let exponent = currency.minor_unit_exponent();
    if exponent > 2 {
        return Err(AmountError::Unsupported(
            currency.code().to_owned(),
            exponent,
        ));
    }
    Ok(exponent)
}

/// `money` as Alipay's decimal string: `1050` HKD cents is `10.50`, `500` JPY is `500`.
pub fn to_alipay(money: Money) -> Result<String, AmountError> {
    let exponent = decimals(money.currency())?;
    let minor = money.amount_minor();
    if exponent == 0 {
        return Ok(minor.to_string());
    }
    let scale = 10_i64.pow(u32::from(exponent));
    let width = usize::from(exponent);
    Ok(format!(
        "{}.{:0width$}",
        minor / scale,
        minor % scale,
        width = width
    ))
}

/// Alipay's decimal string back as money of `currency`; refuses a sign, an
/// exponent, or more decimals than the currency has (never rounds).
pub fn from_alipay(text: &str, currency: Currency) -> Result<Money, AmountError> {
    let malformed = || AmountError::Malformed(text.to_owned(), currency.code().to_owned());
    let exponent = decimals(currency)?;
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) {
        return Err(malformed());
    }
    if text.contains('.') && fraction.is_empty() {
        return Err(malformed());
    }
    if fraction.len() > usize::from(exponent) {
        return Err(malformed());
    }
    let scale = 10_i64.pow(u32::from(exponent));
    let whole: i64 = whole.parse().map_err(|_| malformed())?;
    let mut minor_part: i64 = 0;
    let mut written = 0_u32;
    for byte in fraction.bytes() {
        minor_part = minor_part * 10 + i64::from(byte - b'0');
        written += 1;
    }
    let minor_part = minor_part * 10_i64.pow(u32::from(exponent) - written);
    let minor = whole
        .checked_mul(scale)
        .and_then(|m| m.checked_add(minor_part))
        .ok_or_else(malformed)?;
    Money::from_minor(minor, currency).map_err(|_| malformed())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn money(minor: i64, code: &str) -> Money {
        Money::from_minor(minor, Currency::parse(code).unwrap()).unwrap()
    }

    #[test]
    fn amounts_are_written_with_each_currencys_exponent() {
        let table = [
            (1, "HKD", "0.01"),
            (1050, "HKD", "10.50"),
            (100_000_000, "HKD", "1000000.00"),
            (99, "CNY", "0.99"),
            (12_345, "CNY", "123.45"),
            (100, "USD", "1.00"),
            (7, "USD", "0.07"),
            (0, "USD", "0.00"),
            (500, "JPY", "500"),
            (1, "JPY", "1"),
            (1000, "KRW", "1000"),
        ];
        for (minor, code, text) in table {
            assert_eq!(to_alipay(money(minor, code)).unwrap(), text, "{code}");
            assert_eq!(
                from_alipay(text, money(0, code).currency()).unwrap(),
                money(minor, code)
            );
        }
    }

    #[test]
    fn shorter_decimals_read_exactly() {
        let hkd = Currency::parse("HKD").unwrap();
        assert_eq!(from_alipay("10.5", hkd).unwrap(), money(1050, "HKD"));
        assert_eq!(from_alipay("10", hkd).unwrap(), money(1000, "HKD"));
    }

    #[test]
    fn malformed_or_too_precise_amounts_are_refused() {
        let usd = Currency::parse("USD").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        for bad in [
            "", "-1.00", "1.999", "1e2", "1.", ".5", " 1.00", "1,00", "+1",
        ] {
            assert!(from_alipay(bad, usd).is_err(), "{bad:?}");
        }
        assert!(from_alipay("100.5", jpy).is_err());
        assert!(from_alipay("100.00", jpy).is_err());
    }

    #[test]
    fn three_decimal_currencies_have_no_alipay_spelling() {
        let kwd = money(1000, "KWD");
        assert_eq!(
            to_alipay(kwd),
            Err(AmountError::Unsupported("KWD".into(), 3))
        );
        assert!(from_alipay("1.000", kwd.currency()).is_err());
    }
}
