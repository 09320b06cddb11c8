//! ISO 4217 currencies and their minor-unit exponents.
//!
//! The exponent decides how many decimals an amount may carry: an amount with
//! more decimals than its currency allows is rejected, never rounded.

use std::fmt;

/// Currencies whose minor unit is not the usual hundredth, with their exponent.
const NON_DECIMAL_EXPONENTS: &[(&str, u8)] = &[
    ("BIF", 0),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("ISK", 0),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("PYG", 0),
    ("RWF", 0),
    ("UGX", 0),
    ("UYI", 0),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
    ("BHD", 3),
    ("IQD", 3),
    ("JOD", 3),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("TND", 3),
    ("CLF", 4),
    ("UYW", 4),
];

/// Active ISO 4217 codes with a two-decimal minor unit.
const TWO_DECIMAL_CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHE", "CHF", "CHW", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD",
    "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW",
    "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT",
    "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK",
    "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR",
    "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
    "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "USN", "UYU",
    "UZS", "VED", "VES", "WST", "XCD", "XCG", "YER", "ZAR", "ZMW", "ZWG",
];

/// An ISO 4217 currency code, known to payhub's table.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

/// Why a string is not a currency payhub knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an ISO 4217 currency code")]
pub struct UnknownCurrency(pub String);

impl Currency {
    /// Parses an upper-case three-letter ISO 4217 code.
    pub fn parse(code: &str) -> Result<Self, UnknownCurrency> {
        // Two-decimal codes are most of what is parsed (every stored amount
        // read back), so they are looked up first, by halves: the table is
        // sorted (a test holds it so).
        let known = TWO_DECIMAL_CODES.binary_search(&code).is_ok()
            || NON_DECIMAL_EXPONENTS.iter().any(|(c, _)| *c == code);
        match <[u8; 3]>::try_from(code.as_bytes()) {
            Ok(bytes) if known => Ok(Self(bytes)),
            _ => Err(UnknownCurrency(code.to_owned())),
        }
    }

    /// The code as text, e.g. `"EUR"`.
    pub fn code(&self) -> &str {
        // The bytes came from a &str in the table, so they are ASCII.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// How many decimals the currency's minor unit has (JPY 0, EUR 2, KWD 3).
    pub fn minor_unit_exponent(&self) -> u8 {
        NON_DECIMAL_EXPONENTS
            .iter()
            .find(|(c, _)| *c == self.code())
            .map_or(2, |(_, e)| *e)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_decimal_table_is_sorted_and_every_code_parses() {
        assert!(
            TWO_DECIMAL_CODES.windows(2).all(|w| w[0] < w[1]),
            "binary search needs order"
        );
        for code in TWO_DECIMAL_CODES {
            assert_eq!(
                Currency::parse(code).map(|c| c.minor_unit_exponent()),
                Ok(2),
                "{code}"
            );
        }
        for (code, exponent) in NON_DECIMAL_EXPONENTS {
            assert_eq!(
                Currency::parse(code).map(|c| c.minor_unit_exponent()),
                Ok(*exponent),
                "{code}"
            );
        }
        assert!(Currency::parse("XXQ").is_err());
    }

    #[test]
    fn knows_exponents_of_common_currencies() {
        let exp = |c: &str| Currency::parse(c).map(|c| c.minor_unit_exponent());
        assert_eq!(exp("EUR"), Ok(2));
        assert_eq!(exp("JPY"), Ok(0));
        assert_eq!(exp("KWD"), Ok(3));
        assert_eq!(exp("HKD"), Ok(2));
    }

    #[test]
    fn refuses_unknown_or_lower_case_codes() {
        for bad in ["usd", "XXX", "EU", "EURO", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
