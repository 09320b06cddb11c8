//! Recognising card data in free-form text, so that no dialect stores it.
//!
//! payhub never stores, logs or sends a full card number (PAN) or a card
//! security code (PCI DSS 3.3.1, 3.5.1). The hosted card form takes cards
//! directly; everything a client sends in free-form fields (TMF676 extension
//! attributes, retail `extendParam`, APS documents, telco additional
//! parameters) is checked with these functions at the dialect's edge, and a
//! request carrying card data is refused there, before anything is written.
//!
//! A PAN here is 13 to 19 digits, written together or in groups separated by
//! single spaces or dashes (`4111 1111 1111 1111`, `4111-1111-…`), that pass
//! the Luhn check and start with a card scheme's major industry identifier
//! (2 to 6). A run of more than 19 digits written together (a hash, a long id)
//! is not a card number; within grouped digits every run of whole groups is
//! checked, so digits written next to a card number (`4111 … 1111 737`) do not
//! hide it. A UUID (8-4-4-4-12 hexadecimal digits) is an identifier, never a
//! card number: about one random UUID in 600 would otherwise hold digit
//! groups that pass as one (`…-6b48-4665-9540-340232cc…`), and payhub's own
//! APS account ids are UUIDs.

/// Whether `text` contains something that looks like a full card number.
pub fn contains_pan(text: &str) -> bool {
    let text = without_uuids(text);
    digit_runs(&text).iter().any(|groups| has_pan(groups))
}

/// `text` with every UUID (8-4-4-4-12 hexadecimal digits) replaced by as many
/// `x`, so its digits form no run.
fn without_uuids(text: &str) -> std::borrow::Cow<'_, str> {
    const SHAPE: [usize; 5] = [8, 4, 4, 4, 12];
    const LEN: usize = 36;
    let bytes = text.as_bytes();
    let is_uuid_at = |start: usize| {
        let Some(candidate) = bytes.get(start..start + LEN) else {
            return false;
        };
        let mut position = 0;
        SHAPE.iter().enumerate().all(|(index, &width)| {
            let group_ok = candidate[position..position + width]
                .iter()
                .all(u8::is_ascii_hexdigit);
            position += width;
            let dash_ok = index == SHAPE.len() - 1 || candidate[position] == b'-';
            position += 1;
            group_ok && dash_ok
        })
    };
    let starts: Vec<usize> = (0..bytes.len()).filter(|&i| is_uuid_at(i)).collect();
    if starts.is_empty() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut masked = bytes.to_vec();
    for start in starts {
        masked[start..start + LEN].fill(b'x');
    }
    // Only ASCII bytes were replaced by ASCII, so the text stays UTF-8.
    std::borrow::Cow::Owned(String::from_utf8_lossy(&masked).into_owned())
}

/// Whether a JSON member name is that of a card security code
/// (`cvv`, `cvc2`, `securityCode`, `card_security_code`, …).
pub fn is_security_code_name(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    matches!(
        folded.as_str(),
        "cvv"
            | "cvv2"
            | "cvc"
            | "cvc2"
            | "cid"
            | "csc"
            | "cav2"
            | "securitycode"
            | "cardsecuritycode"
            | "cardverificationcode"
            | "cardverificationvalue"
            | "cardcvv"
            | "cardcvc"
    )
}

/// Runs of digits in `text`, each as its groups (digits between single
/// space or dash separators).
fn digit_runs(text: &str) -> Vec<Vec<&str>> {
    let bytes = text.as_bytes();
    let mut runs = Vec::new();
    let mut groups: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        groups.push(&text[start..i]);
        let joined =
            i + 1 < bytes.len() && matches!(bytes[i], b' ' | b'-') && bytes[i + 1].is_ascii_digit();
        if joined {
            i += 1;
        } else {
            runs.push(std::mem::take(&mut groups));
        }
    }
    runs
}

/// Whether some sequence of whole, consecutive groups is a PAN.
fn has_pan(groups: &[&str]) -> bool {
    (0..groups.len()).any(|first| {
        let mut digits = String::new();
        groups[first..].iter().any(|group| {
            digits.push_str(group);
            is_pan(&digits)
        })
    })
}

/// Whether `digits` (ASCII digits only) are a card number.
fn is_pan(digits: &str) -> bool {
    (13..=19).contains(&digits.len())
        && matches!(digits.as_bytes().first(), Some(b'2'..=b'6'))
        && luhn_valid(digits)
}

/// The Luhn (mod 10) check digit test; `false` for anything but ASCII digits.
///
/// It catches every single-digit typo and most transpositions (so a mistyped
/// number on the card form is refused), and only one random number in ten
/// passes it (so few other numbers look like card numbers).
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0_u32;
    for (position, c) in digits.chars().rev().enumerate() {
        let Some(digit) = c.to_digit(10) else {
            return false;
        };
        let value = if position % 2 == 1 {
            let doubled = digit * 2;
            if doubled > 9 {
                doubled - 9
            } else {
                doubled
            }
        } else {
            digit
        };
        sum += value;
    }
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_are_found_in_text() {
        let found = [
            (
                "5555555555554444",
                "Mastercard test number, issue 9's example",
            ),
            ("4111111111111111", "Visa, together"),
            ("4111 1111 1111 1111", "Visa, in groups of four"),
            ("4111-1111-1111-1111", "dashes"),
            ("3782 822463 10005", "Amex, 4-6-5"),
            ("6011000990139424", "Discover"),
            ("6200000000000005", "UnionPay"),
            ("2223003122003222", "Mastercard 2-series"),
            ("4000000000003220", "13 to 19 digits: 16"),
            ("4222222222222", "13-digit Visa"),
            ("card: 4111111111111111, thanks", "inside a sentence"),
            ("{\"cardNumber\":\"5555555555554444\"}", "inside JSON text"),
            ("pan=4111111111111111&x=1", "inside a query"),
            ("4111 1111 1111 1111 737", "followed by its security code"),
            ("exp 12 4111 1111 1111 1111", "after another number"),
            ("abc4111111111111111def", "between letters"),
            (
                "d010c41a-6b48-4665-9540-340232ccdfdf 4111 1111 1111 1111",
                "next to a UUID",
            ),
        ];
        for (text, why) in found {
            assert!(contains_pan(text), "{why}: {text}");
        }
    }

    #[test]
    fn other_numbers_are_not_card_numbers() {
        let not_found = [
            ("4111111111111112", "fails Luhn"),
            ("411111111111", "12 digits"),
            ("41111111111111111111", "20 digits together"),
            ("0000000000000000", "no scheme starts with 0"),
            ("1234567812345670", "no scheme starts with 1 (passes Luhn)"),
            ("7777777777777777", "no scheme starts with 7"),
            ("9999999999999995", "no scheme starts with 9"),
            ("+852 9123 4567", "a phone number"),
            ("2024-06-11T16:18:30+0800", "a timestamp"),
            ("4111.1111.1111.1111", "dots are not separators"),
            ("4111  1111  1111  1111", "two spaces break a run"),
            (
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "a hash",
            ),
            ("INV-2021-0042", "an invoice number"),
            (
                "d010c41a-6b48-4665-9540-340232ccdfdf",
                "a UUID whose digit groups pass the Luhn check",
            ),
            (
                "account d010c41a-6b48-4665-9540-340232ccdfdf here",
                "a UUID inside text",
            ),
            ("", "nothing"),
        ];
        for (text, why) in not_found {
            assert!(!contains_pan(text), "{why}: {text}");
        }
    }

    #[test]
    fn security_code_names_are_recognised() {
        for name in [
            "cvv",
            "CVV",
            "cvc",
            "cvv2",
            "CVC2",
            "securityCode",
            "security_code",
            "cardSecurityCode",
            "card-verification-value",
            "cid",
            "csc",
        ] {
            assert!(is_security_code_name(name), "{name}");
        }
        for name in [
            "cardNumber",
            "brand",
            "lastFour",
            "code",
            "cvvResult",
            "description",
        ] {
            assert!(!is_security_code_name(name), "{name}");
        }
    }
}
