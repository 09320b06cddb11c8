//! Card data the customer types into the hosted card form.
//!
//! A full card number (PAN) and the security code (CVC) must never be stored
//! or logged. The types here make that the easy path: their fields are
//! private, `Debug` and `Display` print only the masked form
//! (`424242******4242`, `***`), and the raw digits are reachable only through
//! an explicitly named accessor meant for handing the card to a gateway
//! connector. Each parse failure names the form field it belongs to, so the
//! page can show the message next to that field.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use payhub_core::card_data::luhn_valid;
use rand::Rng;

/// Why the card form was refused: one variant per form field problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// The number field: wrong length, not digits, or fails the Luhn check.
    #[error("the card number is not valid")]
    Number,
    /// The expiry field could not be read as a month and year.
    #[error("the expiry date is not valid; use MM/YY")]
    Expiry,
    /// The expiry field is readable but the card's last valid month has passed.
    #[error("the card has expired")]
    Expired,
    /// The security code field has the wrong length for the card's brand.
    #[error("the security code is not valid")]
    Cvc,
}

/// A card number that passed the length and Luhn checks: digits only.
///
/// `Debug` and `Display` print the masked form (first six and last four
/// digits), which is what card schemes allow to be shown and logged.
#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber(String);

impl CardNumber {
    /// Reads a number as customers type it: spaces and dashes are ignored,
    /// then 12–19 digits that pass the Luhn check are required.
    pub fn parse(text: &str) -> Result<CardNumber, CardError> {
        let digits: String = text.chars().filter(|c| *c != ' ' && *c != '-').collect();
        let length_ok = (12..=19).contains(&digits.len());
        if !length_ok || !digits.bytes().all(|b| b.is_ascii_digit()) || !luhn_valid(&digits) {
            return Err(CardError::Number);
        }
        Ok(CardNumber(digits))
    }

    /// The card scheme, from the number's prefix.
    pub fn brand(&self) -> CardBrand {
        CardBrand::detect(&self.0)
    }

    /// The first six digits (the BIN), which may be shown and stored.
    pub fn first6(&self) -> &str {
        self.0.get(..6).unwrap_or_default()
    }

    /// The last four digits, which may be shown and stored.
    pub fn last4(&self) -> &str {
        let start = self.0.len().saturating_sub(4);
        self.0.get(start..).unwrap_or_default()
    }

    /// The full number. Only for handing the card to a gateway connector:
    /// never store, log or render what this returns.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// The masked form, `424242******4242`.
    fn masked(&self) -> String {
        let hidden = self.0.len().saturating_sub(10);
        format!("{}{}{}", self.first6(), "*".repeat(hidden), self.last4())
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber({})", self.masked())
    }
}

impl fmt::Display for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// A card scheme, which decides the CVC length and which gateways accept the card.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CardBrand {
    Visa,
    Mastercard,
    Amex,
    UnionPay,
    /// A scheme payhub does not recognise; gateways decide whether to take it.
    Unknown,
}

impl CardBrand {
    /// Detects the scheme from the number's leading digits (Visa 4;
    /// Mastercard 51–55 and 2221–2720; Amex 34 and 37; UnionPay 62).
    fn detect(digits: &str) -> CardBrand {
        let prefix = |n: usize| -> u32 {
            digits
                .get(..n)
                .and_then(|p| p.parse().ok())
                .unwrap_or_default()
        };
        let two = prefix(2);
        let four = prefix(4);
        if digits.starts_with('4') {
            CardBrand::Visa
        } else if (51..=55).contains(&two) || (2221..=2720).contains(&four) {
            CardBrand::Mastercard
        } else if two == 34 || two == 37 {
            CardBrand::Amex
        } else if two == 62 {
            CardBrand::UnionPay
        } else {
            CardBrand::Unknown
        }
    }

    /// The name shown to customers and in gateway messages.
    pub fn name(self) -> &'static str {
        match self {
            CardBrand::Visa => "Visa",
            CardBrand::Mastercard => "Mastercard",
            CardBrand::Amex => "American Express",
            CardBrand::UnionPay => "UnionPay",
            CardBrand::Unknown => "Card",
        }
    }

    /// How many digits the security code has: four for Amex (the "CID"), else three.
    pub fn cvc_length(self) -> usize {
        match self {
            CardBrand::Amex => 4,
            _ => 3,
        }
    }
}

/// A card's expiry month; the card is valid through the last day of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry {
    month: u32,
    year: i32,
}

impl Expiry {
    /// Reads `MM/YY`, `MM / YY`, `MM/YYYY` or `MMYY` (a one-digit month is
    /// accepted before a slash) and refuses a card whose month ended before
    /// `today`. Two-digit years are in the 2000s: cards are issued for at most
    /// a few years ahead, so no other century is plausible.
    pub fn parse(text: &str, today: NaiveDate) -> Result<Expiry, CardError> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let (month_text, year_text) = match compact.split_once('/') {
            Some(parts) => parts,
            None if compact.len() == 4 || compact.len() == 6 => {
                compact.split_at_checked(2).ok_or(CardError::Expiry)?
            }
            None => return Err(CardError::Expiry),
        };
        let month = parse_digits(month_text, 1..=2)?;
        if !(1..=12).contains(&month) {
            return Err(CardError::Expiry);
        }
        let year_number = parse_digits(year_text, 2..=4)?;
        let year = match year_text.len() {
            2 => 2000 + year_number,
            4 => year_number,
            _ => return Err(CardError::Expiry),
        };
        let year = i32::try_from(year).map_err(|_| CardError::Expiry)?;
        let expiry = Expiry { month, year };
        if expiry.is_expired(today) {
            return Err(CardError::Expired);
        }
        Ok(expiry)
    }

    /// Whether the card's last valid month ended before `today`.
    pub fn is_expired(&self, today: NaiveDate) -> bool {
        (self.year, self.month) < (today.year(), today.month())
    }

    /// The month, 1–12.
    pub fn month(&self) -> u32 {
        self.month
    }

    /// The four-digit year.
    pub fn year(&self) -> i32 {
        self.year
    }
}

/// Parses a run of ASCII digits whose length is in `lengths`.
fn parse_digits(text: &str, lengths: std::ops::RangeInclusive<usize>) -> Result<u32, CardError> {
    if !lengths.contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CardError::Expiry);
    }
    text.parse().map_err(|_| CardError::Expiry)
}

/// A card security code (CVC/CVV/CID): 3 digits, or 4 for Amex.
///
/// It may be sent to the gateway once and must never be stored; `Debug`
/// prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Cvc(String);

impl Cvc {
    /// Reads the code for a card of `brand`; surrounding spaces are ignored.
    pub fn parse(text: &str, brand: CardBrand) -> Result<Cvc, CardError> {
        let code = text.trim();
        if code.len() != brand.cvc_length() || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CardError::Cvc);
        }
        Ok(Cvc(code.to_owned()))
    }

    /// The code. Only for handing the card to a gateway connector: never
    /// store, log or render what this returns.
    pub fn digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cvc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A card form that passed every check, ready for a gateway connector.
///
/// `Debug` masks the number and CVC (through their own types) and hides the
/// holder's name, which is personal data.
#[derive(Clone)]
pub struct CardInput {
    pub number: CardNumber,
    pub expiry: Expiry,
    pub cvc: Cvc,
    /// The name on the card, when the customer gave one.
    pub holder: Option<String>,
}

impl fmt::Debug for CardInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardInput")
            .field("number", &self.number)
            .field("expiry", &self.expiry)
            .field("cvc", &self.cvc)
            .field("holder", &self.holder.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Reads the hosted card form's four fields. The first failing field (in
/// form order: number, expiry, CVC) decides the error, so the page points
/// at one field at a time. An empty holder name is `None`.
pub fn parse_card_form(
    number: &str,
    expiry: &str,
    cvc: &str,
    holder: &str,
    today: NaiveDate,
) -> Result<CardInput, CardError> {
    let number = CardNumber::parse(number)?;
    let expiry = Expiry::parse(expiry, today)?;
    let cvc = Cvc::parse(cvc, number.brand())?;
    let holder = holder.trim();
    let holder = (!holder.is_empty()).then(|| holder.to_owned());
    Ok(CardInput {
        number,
        expiry,
        cvc,
        holder,
    })
}

/// Like [`parse_card_form`], but checks every field and answers every
/// problem at once, in form order (number, expiry, CVC), so the page can show
/// each message next to its field in one round trip. The CVC length depends
/// on the brand, so when the number is bad the CVC is checked against the
/// brand its prefix suggests.
pub fn check_card_form(
    number: &str,
    expiry: &str,
    cvc: &str,
    holder: &str,
    today: NaiveDate,
) -> Result<CardInput, Vec<CardError>> {
    let parsed_number = CardNumber::parse(number);
    let brand = match &parsed_number {
        Ok(number) => number.brand(),
        Err(_) => {
            let digits: String = number.chars().filter(char::is_ascii_digit).collect();
            CardBrand::detect(&digits)
        }
    };
    let parsed_expiry = Expiry::parse(expiry, today);
    let parsed_cvc = Cvc::parse(cvc, brand);
    match (parsed_number, parsed_expiry, parsed_cvc) {
        (Ok(_), Ok(_), Ok(_)) => {
            parse_card_form(number, expiry, cvc, holder, today).map_err(|e| vec![e])
        }
        (number, expiry, cvc) => Err([number.err(), expiry.err(), cvc.err()]
            .into_iter()
            .flatten()
            .collect()),
    }
}

/// A fresh opaque reference for a card payment attempt: `tok_` and 24 hex
/// characters (96 random bits), so the card can be referred to in records
/// and logs without any of its digits.
pub fn card_token() -> String {
    let bytes: [u8; 12] = rand::thread_rng().gen();
    format!("tok_{}", hex::encode(bytes))
}

/// Card data found in a client's free-form JSON: where, and what it is.
/// Its text names the place only, never the data, so it can be answered and
/// logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardDataFound {
    /// The JSON path (`paymentMethod.cardNumber`, `documents[0].docId`).
    pub path: String,
    pub kind: CardDataKind,
}

/// Which card data was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardDataKind {
    CardNumber,
    SecurityCode,
}

impl CardDataFound {
    /// What is wrong, without the path (for dialects that name the field apart).
    pub fn reason(&self) -> &'static str {
        match self.kind {
            CardDataKind::CardNumber => {
                "holds a full card number: payhub never stores card numbers or security codes \
                 (keep only the brand, the first six and the last four digits, or let the \
                 customer enter the card on the hosted payment page)"
            }
            CardDataKind::SecurityCode => {
                "is a card security code: payhub never stores card numbers or security codes \
                 (keep only the brand, the first six and the last four digits, or let the \
                 customer enter the card on the hosted payment page)"
            }
        }
    }
}

impl fmt::Display for CardDataFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' {}", self.path, self.reason())
    }
}

/// The first card number or security code in `value` (member names and
/// values, at any depth), skipping the members whose paths `skip` lists
/// (references to payhub's own ids, which are long numbers too).
pub fn find_card_data(
    value: &serde_json::Value,
    path: &str,
    skip: &[&str],
) -> Option<CardDataFound> {
    use payhub_core::card_data::contains_pan;
    use serde_json::Value;
    if skip.contains(&path) {
        return None;
    }
    let found = |kind| {
        Some(CardDataFound {
            path: path.to_owned(),
            kind,
        })
    };
    match value {
        Value::String(text) if contains_pan(text) => found(CardDataKind::CardNumber),
        Value::Number(number) if contains_pan(&number.to_string()) => {
            found(CardDataKind::CardNumber)
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find_card_data(item, &format!("{path}[{i}]"), skip)),
        Value::Object(members) => find_card_data_in_members(members, path, skip),
        _ => None,
    }
}

/// [`find_card_data`] over an object's members (a request body as parsed).
pub fn find_card_data_in_members(
    members: &serde_json::Map<String, serde_json::Value>,
    path: &str,
    skip: &[&str],
) -> Option<CardDataFound> {
    use payhub_core::card_data::{contains_pan, is_security_code_name};
    members.iter().find_map(|(name, member)| {
        let member_path = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        let holds_value = !member.is_null() && member.as_str().is_none_or(|text| !text.is_empty());
        let kind = if contains_pan(name) {
            Some(CardDataKind::CardNumber)
        } else if is_security_code_name(name) && holds_value {
            Some(CardDataKind::SecurityCode)
        } else {
            None
        };
        match kind {
            Some(kind) => Some(CardDataFound {
                path: member_path,
                kind,
            }),
            None => find_card_data(member, &member_path, skip),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_check_answers_every_bad_field_at_once() {
        let today = NaiveDate::from_ymd_opt(2026, 6, 15).unwrap_or_else(|| unreachable!());
        let all = check_card_form("4242 4242 4242 4241", "13/30", "12", "", today).err();
        assert_eq!(
            all,
            Some(vec![CardError::Number, CardError::Expiry, CardError::Cvc])
        );
        let expiry_only = check_card_form("4242 4242 4242 4242", "01/20", "123", "", today).err();
        assert_eq!(expiry_only, Some(vec![CardError::Expired]));
        // An Amex prefix asks four CVC digits even when the number is bad.
        let amex = check_card_form("3782 8224 6310 000", "12/30", "1234", "", today).err();
        assert_eq!(amex, Some(vec![CardError::Number]));
        let card = check_card_form("4242424242424242", "12/30", "123", " Chan ", today);
        assert!(card.is_ok_and(|card| card.holder.as_deref() == Some("Chan")));
    }

    #[test]
    fn card_data_is_found_with_its_path_and_never_echoed() {
        let body = serde_json::json!({
            "account": {"id": "acct"},
            "payment": {"id": "4111111111111111"},
            "paymentMethod": {"@type": "BankCard", "brand": "Mastercard", "bin": "555555", "lastFour": "4444"},
            "items": [{"note": "ok"}, {"note": "card 5555 5555 5555 4444"}],
        });
        let found = find_card_data(&body, "", &["payment.id"]);
        assert_eq!(
            found,
            Some(CardDataFound {
                path: "items[1].note".into(),
                kind: CardDataKind::CardNumber
            })
        );
        let message = found.map(|f| f.to_string()).unwrap_or_default();
        assert!(!message.contains("5555"), "{message}");

        let cvv = serde_json::json!({"paymentMethod": {"cvv": "687"}});
        assert_eq!(
            find_card_data(&cvv, "", &[]).map(|f| (f.path, f.kind)),
            Some(("paymentMethod.cvv".into(), CardDataKind::SecurityCode))
        );
        let number = serde_json::json!({"n": 5555555555554444_u64});
        assert!(
            find_card_data(&number, "", &[]).is_some(),
            "a JSON number too"
        );
        let clean = serde_json::json!({"paymentMethod": {"cvv": "", "lastFour": "4444"}, "payment": {"id": "4111111111111111"}});
        assert_eq!(find_card_data(&clean, "", &["payment.id"]), None);
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_else(|| unreachable!("bad test date"))
    }

    fn number(text: &str) -> CardNumber {
        CardNumber::parse(text).unwrap_or_else(|e| unreachable!("{text}: {e}"))
    }

    #[test]
    fn well_known_test_numbers_pass_luhn() {
        for text in [
            "4242424242424242",
            "5555555555554444",
            "378282246310005",
            "6200000000000005",
            "2223003122003222",
            "4242 4242 4242 4242",
            "4242-4242-4242-4242",
        ] {
            assert!(CardNumber::parse(text).is_ok(), "{text} should pass");
        }
    }

    #[test]
    fn bad_numbers_are_refused() {
        for text in [
            "4242424242424241",     // one digit off: Luhn fails
            "42424242424",          // too short
            "42424242424242424242", // too long
            "4242x24242424242",
            "",
        ] {
            assert_eq!(CardNumber::parse(text), Err(CardError::Number), "{text}");
        }
    }

    #[test]
    fn brands_follow_the_number_prefix() {
        let cases = [
            ("4242424242424242", CardBrand::Visa),
            ("5555555555554444", CardBrand::Mastercard),
            ("2223003122003222", CardBrand::Mastercard),
            ("378282246310005", CardBrand::Amex),
            ("371449635398431", CardBrand::Amex),
            ("6200000000000005", CardBrand::UnionPay),
            ("6011111111111117", CardBrand::Unknown),
        ];
        for (text, brand) in cases {
            assert_eq!(number(text).brand(), brand, "{text}");
        }
        assert_eq!(CardBrand::Amex.name(), "American Express");
        assert_eq!(CardBrand::Unknown.name(), "Card");
    }

    #[test]
    fn debug_and_display_show_only_the_masked_number() {
        let card = number("4242 4242 4242 4242");
        assert_eq!(card.to_string(), "424242******4242");
        assert_eq!(format!("{card:?}"), "CardNumber(424242******4242)");
        assert_eq!(card.first6(), "424242");
        assert_eq!(card.last4(), "4242");
        assert_eq!(card.digits(), "4242424242424242");
        assert_eq!(number("378282246310005").to_string(), "378282*****0005");
    }

    #[test]
    fn expiry_accepts_the_usual_spellings() {
        let today = date(2025, 6, 15);
        for text in ["12/27", "12 / 27", "12/2027", "1227", " 12/27 "] {
            let expiry = Expiry::parse(text, today).unwrap_or_else(|e| unreachable!("{text}: {e}"));
            assert_eq!((expiry.month(), expiry.year()), (12, 2027), "{text}");
        }
        let short_month = Expiry::parse("3/28", today).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!((short_month.month(), short_month.year()), (3, 2028));
    }

    #[test]
    fn expiry_refuses_bad_months_and_garbage() {
        let today = date(2025, 6, 15);
        for text in [
            "13/27", "00/27", "12/7", "12/027", "ab/cd", "", "1/", "/27", "12-27", "122",
        ] {
            assert_eq!(
                Expiry::parse(text, today),
                Err(CardError::Expiry),
                "{text:?}"
            );
        }
    }

    #[test]
    fn a_card_is_valid_through_the_last_day_of_its_month() {
        // June 2025 is still valid on its last day, and July 1 ends it.
        assert!(Expiry::parse("06/25", date(2025, 6, 1)).is_ok());
        assert!(Expiry::parse("06/25", date(2025, 6, 30)).is_ok());
        assert_eq!(
            Expiry::parse("06/25", date(2025, 7, 1)),
            Err(CardError::Expired)
        );
        assert_eq!(
            Expiry::parse("12/24", date(2025, 1, 1)),
            Err(CardError::Expired)
        );
    }

    #[test]
    fn cvc_length_depends_on_the_brand() {
        assert!(Cvc::parse("123", CardBrand::Visa).is_ok());
        assert!(Cvc::parse("123", CardBrand::UnionPay).is_ok());
        assert_eq!(Cvc::parse("1234", CardBrand::Visa), Err(CardError::Cvc));
        assert!(Cvc::parse("1234", CardBrand::Amex).is_ok());
        assert_eq!(Cvc::parse("123", CardBrand::Amex), Err(CardError::Cvc));
        assert_eq!(Cvc::parse("12a", CardBrand::Visa), Err(CardError::Cvc));
        assert_eq!(
            format!("{:?}", Cvc::parse("123", CardBrand::Visa)),
            "Ok(***)"
        );
    }

    #[test]
    fn the_form_reports_the_first_bad_field() {
        let today = date(2025, 6, 15);
        let form = |n: &str, e: &str, c: &str| parse_card_form(n, e, c, "", today).err();
        assert_eq!(form("4242", "12/27", "123"), Some(CardError::Number));
        assert_eq!(
            form("4242424242424242", "1/", "123"),
            Some(CardError::Expiry)
        );
        assert_eq!(
            form("4242424242424242", "01/25", "123"),
            Some(CardError::Expired)
        );
        assert_eq!(
            form("4242424242424242", "12/27", "1234"),
            Some(CardError::Cvc)
        );
        assert_eq!(form("4242424242424242", "12/27", "123"), None);
    }

    #[test]
    fn debug_of_a_card_input_leaks_neither_number_nor_cvc() {
        let input = parse_card_form(
            "4242 4242 4242 4242",
            "12/27",
            "987",
            "  Chan Tai Man ",
            date(2025, 6, 15),
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(input.holder.as_deref(), Some("Chan Tai Man"));
        let debug = format!("{input:?}");
        assert!(!debug.contains("4242424242424242"), "{debug}");
        assert!(!debug.contains("987"), "{debug}");
        assert!(!debug.contains("Chan"), "{debug}");
        assert!(debug.contains("424242******4242"), "{debug}");
    }

    #[test]
    fn tokens_are_prefixed_random_hex() {
        let token = card_token();
        assert_eq!(token.len(), 28);
        assert!(token.starts_with("tok_"));
        assert!(token["tok_".len()..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(token, card_token());
    }
}
