//! A text as SMS octets: the GSM 7-bit default alphabet when every
//! character is in it (`data_coding` 0), else UCS-2 (`data_coding` 8,
//! UTF-16BE); a text longer than one message is split into parts that each
//! carry a concatenation header (UDH, `esm_class` 0x40).
//!
//! Facts from 3GPP TS 23.038 (the default alphabet and its extension table,
//! section 6.2.1), 3GPP TS 23.040 (9.2.3.24.1, the 8-bit reference
//! concatenation element `00 03 ref total seq`) and SMPP v3.4 (5.2.12
//! `esm_class`, 5.2.19 `data_coding`). In SMPP the GSM characters travel
//! one septet per octet (unpacked); the SMSC packs them. A single message
//! holds 160 septets or 140 octets (70 UCS-2 characters); with the 6-octet
//! UDH a part holds 153 septets or 67 UCS-2 characters. An escaped
//! character (`€`, `[`…: two septets) and a UTF-16 surrogate pair are
//! never split between parts.

/// `data_coding` of the SMSC's default alphabet, GSM 03.38 here.
pub const DATA_CODING_GSM7: u8 = 0x00;
/// `data_coding` of UCS-2 (UTF-16BE).
pub const DATA_CODING_UCS2: u8 = 0x08;
/// `esm_class` bit: the short message starts with a user data header.
pub const ESM_CLASS_UDHI: u8 = 0x40;

/// The default alphabet in septet order; index 0x1B is the escape to the
/// extension table (never a character itself).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u{1b}ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The escape septet before an extension character.
const ESCAPE: u8 = 0x1B;

/// The extension table's characters and their septet after the escape.
const GSM7_EXTENSION: [(char, u8); 10] = [
    ('\u{c}', 0x0A),
    ('^', 0x14),
    ('{', 0x28),
    ('}', 0x29),
    ('\\', 0x2F),
    ('[', 0x3C),
    ('~', 0x3D),
    (']', 0x3E),
    ('|', 0x40),
    ('€', 0x65),
];

/// Septets in one message, and in one part of a concatenated one.
const GSM7_SINGLE: usize = 160;
const GSM7_PART: usize = 153;
/// UTF-16 code units in one message, and in one part.
const UCS2_SINGLE: usize = 70;
const UCS2_PART: usize = 67;

/// A text ready for `submit_sm`: its coding and the short messages, each
/// with its UDH when there is more than one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    pub data_coding: u8,
    pub esm_class: u8,
    pub parts: Vec<Vec<u8>>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the text needs {0} messages; at most 255 can be concatenated")]
pub struct TooLong(pub usize);

/// A character's septets in the default alphabet, if it has them.
fn gsm7_septets(c: char) -> Option<Vec<u8>> {
    if c == '\u{1b}' {
        return None;
    }
    if let Some(index) = GSM7_BASIC.chars().position(|g| g == c) {
        return u8::try_from(index).ok().map(|septet| vec![septet]);
    }
    GSM7_EXTENSION
        .iter()
        .find(|(g, _)| *g == c)
        .map(|(_, septet)| vec![ESCAPE, *septet])
}

/// Each character's octets, as units that may not be split: GSM septets
/// when the whole text fits the default alphabet, else UTF-16BE.
fn units(text: &str) -> (u8, Vec<Vec<u8>>, usize, usize) {
    let gsm: Option<Vec<Vec<u8>>> = text.chars().map(gsm7_septets).collect();
    match gsm {
        Some(units) => (DATA_CODING_GSM7, units, GSM7_SINGLE, GSM7_PART),
        None => {
            let units = text
                .chars()
                .map(|c| {
                    let mut buffer = [0u16; 2];
                    c.encode_utf16(&mut buffer)
                        .iter()
                        .flat_map(|unit| unit.to_be_bytes())
                        .collect()
                })
                .collect();
            // UCS-2 sizes count octets here: two per UTF-16 code unit.
            (DATA_CODING_UCS2, units, UCS2_SINGLE * 2, UCS2_PART * 2)
        }
    }
}

/// Encodes `text`; `reference` tells this text's parts from another's.
pub fn encode(text: &str, reference: u8) -> Result<Encoded, TooLong> {
    let (data_coding, units, single, part) = units(text);
    let total: usize = units.iter().map(Vec::len).sum();
    if total <= single {
        return Ok(Encoded {
            data_coding,
            esm_class: 0,
            parts: vec![units.concat()],
        });
    }
    let mut chunks: Vec<Vec<u8>> = vec![Vec::new()];
    for unit in units {
        let full = chunks
            .last()
            .is_some_and(|chunk| chunk.len() + unit.len() > part);
        if full {
            chunks.push(Vec::new());
        }
        if let Some(chunk) = chunks.last_mut() {
            chunk.extend(unit);
        }
    }
    let count = u8::try_from(chunks.len()).map_err(|_| TooLong(chunks.len()))?;
    let parts = chunks
        .into_iter()
        .zip(1..=count)
        .map(|(chunk, sequence)| {
            let mut octets = vec![0x05, 0x00, 0x03, reference, count, sequence];
            octets.extend(chunk);
            octets
        })
        .collect();
    Ok(Encoded {
        data_coding,
        esm_class: ESM_CLASS_UDHI,
        parts,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_default_alphabet_has_128_septets() {
        assert_eq!(GSM7_BASIC.chars().count(), 128);
        // Spot checks against 3GPP TS 23.038's table.
        let at = |septet: usize| GSM7_BASIC.chars().nth(septet).unwrap();
        assert_eq!(
            [
                at(0x00),
                at(0x02),
                at(0x11),
                at(0x24),
                at(0x40),
                at(0x5F),
                at(0x7F)
            ],
            ['@', '$', '_', '¤', '¡', '§', 'à']
        );
    }

    #[test]
    fn english_goes_in_the_default_alphabet_one_septet_per_octet() {
        let encoded = encode("Code 123456: pay_now@x $5 {ok} €", 1).unwrap();
        assert_eq!(encoded.data_coding, DATA_CODING_GSM7);
        assert_eq!(encoded.esm_class, 0);
        let mut expected = b"Code 123456: pay".to_vec();
        expected.extend([0x11]); // '_'
        expected.extend(b"now");
        expected.extend([0x00]); // '@'
        expected.extend(b"x ");
        expected.extend([0x02]); // '$'
        expected.extend(b"5 ");
        expected.extend([0x1B, 0x28]); // '{'
        expected.extend(b"ok");
        expected.extend([0x1B, 0x29, b' ', 0x1B, 0x65]); // '}', ' ', '€'
        assert_eq!(encoded.parts, vec![expected]);
    }

    #[test]
    fn turkish_and_chinese_need_ucs2() {
        let cases = [
            ("ş", vec![0x01, 0x5F]),
            ("ğ", vec![0x01, 0x1F]),
            ("ı", vec![0x01, 0x31]),
            ("İ", vec![0x01, 0x30]),
            ("验证码", vec![0x9A, 0x8C, 0x8B, 0xC1, 0x78, 0x01]),
            ("驗證碼", vec![0x9A, 0x57, 0x8B, 0x49, 0x78, 0xBC]),
        ];
        for (text, octets) in cases {
            let encoded = encode(text, 1).unwrap();
            assert_eq!(encoded.data_coding, DATA_CODING_UCS2, "{text}");
            assert_eq!(encoded.parts, vec![octets], "{text}");
        }
        // One Turkish letter turns the whole text to UCS-2.
        let mixed = encode("Onay kodunuz: 1", 1).unwrap();
        assert_eq!(
            mixed.data_coding, DATA_CODING_GSM7,
            "ö, ü and ç are in the alphabet"
        );
        assert_eq!(
            encode("Onay kodunuz ış", 1).unwrap().data_coding,
            DATA_CODING_UCS2
        );
    }

    #[test]
    fn a_text_that_fits_one_message_is_not_split() {
        assert_eq!(encode(&"a".repeat(160), 1).unwrap().parts.len(), 1);
        assert_eq!(
            encode(&"ş".repeat(70), 1).unwrap().parts,
            vec![[0x01, 0x5F].repeat(70)]
        );
        assert_eq!(
            encode(&"€".repeat(80), 1).unwrap().parts.len(),
            1,
            "80 escaped = 160 septets"
        );
    }

    #[test]
    fn longer_texts_are_split_with_a_concatenation_header() {
        let encoded = encode(&"a".repeat(161), 0x2A).unwrap();
        assert_eq!(encoded.esm_class, ESM_CLASS_UDHI);
        assert_eq!(encoded.parts.len(), 2);
        assert_eq!(encoded.parts[0][..6], [0x05, 0x00, 0x03, 0x2A, 0x02, 0x01]);
        assert_eq!(encoded.parts[1][..6], [0x05, 0x00, 0x03, 0x2A, 0x02, 0x02]);
        assert_eq!(encoded.parts[0].len(), 6 + 153);
        assert_eq!(encoded.parts[1].len(), 6 + 8);

        let ucs2 = encode(&"ğ".repeat(71), 7).unwrap();
        assert_eq!(ucs2.parts.len(), 2);
        assert_eq!(ucs2.parts[0].len(), 6 + 134, "67 characters");
        assert_eq!(ucs2.parts[1].len(), 6 + 8);
    }

    #[test]
    fn escapes_and_surrogate_pairs_stay_whole() {
        // 152 plain septets, then '€' (two septets) must move to part two.
        let text = format!("{}€{}", "a".repeat(152), "b".repeat(10));
        let parts = encode(&text, 1).unwrap().parts;
        assert_eq!(parts[0].len(), 6 + 152);
        assert_eq!(parts[1][6..8], [ESCAPE, 0x65]);

        // 66 characters, then an emoji (a surrogate pair) must move to part two.
        let text = format!("{}😀{}", "ş".repeat(66), "ş".repeat(10));
        let parts = encode(&text, 1).unwrap().parts;
        assert_eq!(parts[0].len(), 6 + 132);
        assert_eq!(parts[1][6..10], [0xD8, 0x3D, 0xDE, 0x00]);
    }

    #[test]
    fn more_than_255_parts_is_refused() {
        assert_eq!(encode(&"a".repeat(153 * 256), 1), Err(TooLong(256)));
    }
}
