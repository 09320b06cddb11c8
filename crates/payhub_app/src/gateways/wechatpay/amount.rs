//! Amounts as WeChat Pay's v3 global API writes them.
//!
//! `amount.total` (and a refund's `amount.refund`) is an integer count of
//! the currency's smallest unit: cents for HKD and USD, fen for CNY, whole
//! yen for JPY and won for KRW (WeChat Pay global, "Order Placement",
//! `amount.total`: "integer, in the smallest unit of the currency"). That is
//! ISO 4217's minor unit for every currency WeChat Pay settles, so payhub's
//! minor units pass through unchanged. WeChat Pay lists no currency with three
//! or four decimals (KWD, BHD, CLF, …); payhub refuses those before calling
//! rather than guess a scale.

use payhub_core::{Currency, Money};

use crate::gateways::connector::GatewayError;

/// The largest exponent WeChat Pay's currencies have (two decimals).
const MAX_EXPONENT: u8 = 2;

/// `amount.total` for `money`, or a refusal for a currency WeChat Pay does
/// not take (nothing was sent).
pub fn to_total(money: Money) -> Result<i64, GatewayError> {
    supported(money.currency())?;
    Ok(money.amount_minor())
}

/// The money an `amount.total` of `currency` means.
pub fn from_total(total: i64, currency: Currency) -> Result<Money, GatewayError> {
    supported(currency)?;
    Money::from_minor(total, currency).map_err(|_| GatewayError::Rejected {
        code: "INVALID_AMOUNT".into(),
        message: "a negative amount".into(),
    })
}

fn supported(currency: Currency) -> Result<(), GatewayError> {
    if currency.minor_unit_exponent() > MAX_EXPONENT {
        return Err(GatewayError::Rejected {
            code: "UNSUPPORTED_CURRENCY".into(),
            message: format!("WeChat Pay takes no amounts in {}", currency.code()),
        });
    }
    Ok(())
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly on a bad fixture")]
mod tests {
    use super::*;

    fn money(text: &str, code: &str) -> Money {
        let currency = Currency::parse(code).unwrap();
        Money::parse_decimal(text, currency).unwrap()
    }

    #[test]
    fn totals_are_the_currency_s_smallest_unit() {
        // (written amount, currency, amount.total)
        let table = [
            ("88.80", "HKD", 8880),
            ("0.01", "HKD", 1),
            ("1", "CNY", 100),
            ("99.99", "CNY", 9999),
            ("12.34", "USD", 1234),
            ("1000", "JPY", 1000),
            ("1", "JPY", 1),
            ("1500", "KRW", 1500),
        ];
        for (text, code, total) in table {
            let amount = money(text, code);
            assert_eq!(to_total(amount), Ok(total), "{text} {code}");
            assert_eq!(
                from_total(total, amount.currency()),
                Ok(amount),
                "{total} {code}"
            );
        }
    }

    #[test]
    fn three_decimal_currencies_are_refused_before_any_call() {
        for code in ["KWD", "BHD", "CLF"] {
            let amount = money("1", code);
            assert!(
                matches!(to_total(amount), Err(GatewayError::Rejected { ref code, .. }) if code == "UNSUPPORTED_CURRENCY"),
                "{code}"
            );
        }
    }

    #[test]
    fn a_negative_total_is_not_money() {
        let hkd = Currency::parse("HKD").unwrap();
        assert!(from_total(-1, hkd).is_err());
    }
}
