//! TMF676 resources out: a payment or refund laid out as the dialect shows it.
//!
//! A [`Rendering`] gathers what a resource shows (its id and href, the stored
//! document, the ledger's amount, status and dates) and lays it out in one of
//! two ways that give the same JSON:
//!
//! - [`Rendering::value`] builds a `serde_json::Value`, which the filters
//!   evaluated in memory, `fields=` selection and the hub's events need;
//! - [`Rendering::write_json`] writes the JSON text straight into a buffer,
//!   copying the stored document's members as they are, which is what a plain
//!   `GET` and an indexed list answer with. It does so only for a document
//!   that serde_json would write back byte for byte (compact, no escape
//!   sequence, no key twice in any object, none of the attributes the server
//!   sets); any other document goes through [`Rendering::value`], so the two
//!   ways cannot disagree on a document they treat differently. The tests
//!   below compare both ways over many documents.
//!
//! Parsing every stored document into a tree and serializing the tree again
//! was most of the CPU time of a list of payments (docs/PERFORMANCE.md).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use payhub_core::{Document, Money, Payment, Refund, Status};
use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use payhub_app::money_json::written_number;

use super::wire::{format_time, href};

/// The members the server sets at fixed places; a document holding one is
/// laid out through [`Rendering::value`].
const SERVER_SET: [&str; 4] = ["id", "href", "status", "statusDate"];

/// Objects with more members than this are checked through a tree: the
/// duplicate-key check below compares every pair.
const MAX_MEMBERS_CHECKED: usize = 64;

/// The amount of a resource as the ledger keeps it, and how many decimals
/// the client wrote it with.
type LedgerAmount = (Option<Money>, Option<u8>);

/// What a TMF676 payment or refund shows, ready to be laid out.
pub struct Rendering<'a> {
    id: String,
    href: String,
    document: &'a Document,
    amount: LedgerAmount,
    status: Status,
    status_date: DateTime<Utc>,
    /// `paymentDate` or `refundDate`, with the ledger's date for it.
    date_attribute: (&'static str, DateTime<Utc>),
    /// `Payment` or `Refund`, the `@type` shown when the client sent none.
    type_name: &'static str,
}

impl<'a> Rendering<'a> {
    /// A payment as TMF676 shows it.
    pub fn payment(payment: &'a Payment, base_url: &str) -> Self {
        Self {
            id: payment.id.to_string(),
            href: href(base_url, "payment", payment.id),
            document: &payment.document,
            amount: (payment.total_amount, payment.amount_decimals),
            status: payment.status,
            status_date: payment.status_date,
            date_attribute: ("paymentDate", payment.payment_date),
            type_name: "Payment",
        }
    }

    /// A refund as TMF676 shows it.
    pub fn refund(refund: &'a Refund, base_url: &str) -> Self {
        Self {
            id: refund.id.to_string(),
            href: href(base_url, "refund", refund.id),
            document: &refund.document,
            amount: (refund.total_amount, refund.amount_decimals),
            status: refund.status,
            status_date: refund.status_date,
            date_attribute: ("refundDate", refund.refund_date),
            type_name: "Refund",
        }
    }

    /// Lays out the resource: `id` and `href` first, then the client's
    /// attributes with the ledger's amount in its place, then what the server
    /// sets (overriding nothing the client may own).
    pub fn value(&self) -> Value {
        let mut resource = Map::new();
        resource.insert("id".into(), Value::String(self.id.clone()));
        resource.insert("href".into(), Value::String(self.href.clone()));
        for (name, value) in stored_document(self.document) {
            resource.insert(name, value);
        }
        if let (Some(amount), decimals) = self.amount {
            let place = resource
                .entry("totalAmount")
                .or_insert_with(|| Value::Object(Map::new()));
            fill_amount(place, amount, decimals);
        }
        resource.insert("status".into(), Value::String(self.status.as_str().into()));
        resource.insert(
            "statusDate".into(),
            Value::String(format_time(self.status_date)),
        );
        let (date_name, date) = self.date_attribute;
        resource
            .entry(date_name)
            .or_insert_with(|| Value::String(format_time(date)));
        resource
            .entry("@type")
            .or_insert_with(|| Value::String(self.type_name.into()));
        Value::Object(resource)
    }

    /// Appends the JSON text of [`Rendering::value`] to `out`, without
    /// building the tree when the stored document allows.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let document = self.document.as_str();
        match top_level_members(document) {
            Some(members) if members.iter().all(|(name, _)| !SERVER_SET.contains(name)) => {
                self.write_members(&members, out);
            }
            _ => write_value(out, &self.value()),
        }
    }

    /// The layout of [`Rendering::value`], member by member.
    fn write_members(&self, members: &[(&str, &str)], out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"id\":");
        write_value(out, self.id.as_str());
        out.extend_from_slice(b",\"href\":");
        write_value(out, self.href.as_str());
        let (date_name, date) = self.date_attribute;
        let (mut has_amount_place, mut has_date, mut has_type) = (false, false, false);
        for &(name, raw) in members {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
            match (name, self.amount) {
                ("totalAmount", (Some(amount), decimals)) => {
                    has_amount_place = true;
                    let mut place = serde_json::from_str(raw).unwrap_or(Value::Null);
                    fill_amount(&mut place, amount, decimals);
                    write_value(out, &place);
                }
                _ => out.extend_from_slice(raw.as_bytes()),
            }
            has_date |= name == date_name;
            has_type |= name == "@type";
        }
        if let (Some(amount), decimals) = self.amount {
            if !has_amount_place {
                let mut place = Value::Object(Map::new());
                fill_amount(&mut place, amount, decimals);
                out.extend_from_slice(b",\"totalAmount\":");
                write_value(out, &place);
            }
        }
        out.extend_from_slice(b",\"status\":");
        write_value(out, self.status.as_str());
        out.extend_from_slice(b",\"statusDate\":");
        write_value(out, format_time(self.status_date).as_str());
        if !has_date {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(date_name.as_bytes());
            out.extend_from_slice(b"\":");
            write_value(out, format_time(date).as_str());
        }
        if !has_type {
            out.extend_from_slice(b",\"@type\":");
            write_value(out, self.type_name);
        }
        out.push(b'}');
    }
}

/// A payment as TMF676 shows it, as a tree.
pub fn render_payment(payment: &Payment, base_url: &str) -> Value {
    Rendering::payment(payment, base_url).value()
}

/// A refund as TMF676 shows it, as a tree.
pub fn render_refund(refund: &Refund, base_url: &str) -> Value {
    Rendering::refund(refund, base_url).value()
}

/// A response whose body is JSON text already written, with the headers
/// `axum::Json` would have set.
pub fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// The stored document's members; a document that is not a JSON object
/// shows none.
pub(super) fn stored_document(document: &Document) -> Map<String, Value> {
    match serde_json::from_str::<Value>(document.as_str()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// Writes the ledger's amount into its place (`unit` and `value` where the
/// document put them), spelt with the decimals the client wrote. A place that
/// is not an object becomes one.
fn fill_amount(place: &mut Value, amount: Money, decimals: Option<u8>) {
    if !place.is_object() {
        *place = Value::Object(Map::new());
    }
    if let Value::Object(members) = place {
        members.insert(
            "unit".into(),
            Value::String(amount.currency().code().into()),
        );
        members.insert("value".into(), written_number(amount, decimals));
    }
}

fn write_value<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Writing JSON of strings and trees into a Vec cannot fail.
    let _ = serde_json::to_writer(out, value);
}

/// The top-level members (name, JSON text) of a stored document that
/// serde_json would write back byte for byte, in order; `None` for any other
/// text, which then goes through a tree.
fn top_level_members(text: &str) -> Option<Vec<(&str, &str)>> {
    // serde_json reads an object with this member name as a number.
    if !text.starts_with('{') || !is_compact_without_escapes(text) || text.contains("$serde_json") {
        return None;
    }
    serde_json::from_str::<Canonical>(text).ok()?;
    split_members(text)
}

/// Whether `text` has no backslash at all, no whitespace outside strings and
/// no number with an exponent (serde_json writes `1E5` back as `1e+5`; every
/// other number it writes as it read it). Without backslashes a string ends
/// at the next quote, which is what lets [`split_members`] find the members
/// by counting brackets.
fn is_compact_without_escapes(text: &str) -> bool {
    let mut in_string = false;
    let mut previous = b' ';
    for &byte in text.as_bytes() {
        match byte {
            b'\\' => return false,
            b'"' => in_string = !in_string,
            _ if in_string => {}
            b' ' | b'\t' | b'\n' | b'\r' => return false,
            // Outside strings an `e` follows a digit only in an exponent
            // (`true` and `false` have theirs after a letter).
            b'e' | b'E' if previous.is_ascii_digit() => return false,
            _ => {}
        }
        previous = byte;
    }
    !in_string
}

/// The members of a JSON object text that is valid, compact and free of
/// backslashes (see [`top_level_members`]).
fn split_members(text: &str) -> Option<Vec<(&str, &str)>> {
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    let mut members = Vec::new();
    let mut rest = inner;
    while !rest.is_empty() {
        let after_quote = rest.strip_prefix('"')?;
        let name_end = after_quote.find('"')?;
        let name = &after_quote[..name_end];
        let value_text = after_quote[name_end + 1..].strip_prefix(':')?;
        let value_end = value_end(value_text);
        members.push((name, &value_text[..value_end]));
        rest = &value_text[value_end..];
        if let Some(next) = rest.strip_prefix(',') {
            rest = next;
        } else if !rest.is_empty() {
            return None;
        }
    }
    Some(members)
}

/// Where the value at the start of `text` ends: the first `,` outside
/// strings and brackets, or the end.
fn value_end(text: &str) -> usize {
    let (mut depth, mut in_string) = (0usize, false);
    for (at, byte) in text.bytes().enumerate() {
        match byte {
            b'"' => in_string = !in_string,
            _ if in_string => {}
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => return at,
            _ => {}
        }
    }
    text.len()
}

/// Deserializes any JSON and fails on an object that names a member twice
/// (or has too many members to check cheaply): serde_json keeps the last of
/// two equal names, so such a document does not read back as written.
struct Canonical;

impl<'de> Deserialize<'de> for Canonical {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CanonicalVisitor)
    }
}

struct CanonicalVisitor;

impl<'de> Visitor<'de> for CanonicalVisitor {
    type Value = Canonical;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Canonical, E> {
        Ok(Canonical)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Canonical, E> {
        Ok(Canonical)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Canonical, E> {
        Ok(Canonical)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Canonical, E> {
        Ok(Canonical)
    }

    fn visit_str<E>(self, _: &str) -> Result<Canonical, E> {
        Ok(Canonical)
    }

    fn visit_unit<E>(self) -> Result<Canonical, E> {
        Ok(Canonical)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Canonical, A::Error> {
        while items.next_element::<Canonical>()?.is_some() {}
        Ok(Canonical)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Canonical, A::Error> {
        // Names borrow from the text: it has no escapes (checked before).
        let mut names: Vec<&'de str> = Vec::new();
        while let Some(name) = members.next_key::<&'de str>()? {
            if names.contains(&name) || names.len() >= MAX_MEMBERS_CHECKED {
                return Err(A::Error::custom("not written back as stored"));
            }
            names.push(name);
            members.next_value::<Canonical>()?;
        }
        Ok(Canonical)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use payhub_core::{Currency, MerchantId, NewPayment, Origin};

    fn payment(document: &str, amount: Option<(i64, &str)>, decimals: Option<u8>) -> Payment {
        let total_amount = amount.and_then(|(minor, code)| {
            Currency::parse(code)
                .ok()
                .and_then(|c| Money::from_minor(minor, c).ok())
        });
        Payment::record(
            NewPayment {
                merchant_id: MerchantId::generate(),
                account_id: "a".into(),
                correlator_id: None,
                total_amount,
                amount_decimals: decimals,
                status: None,
                payment_date: None,
                document: Document::new(document.into()),
                origin: Origin::new("tmf676"),
            },
            Utc::now(),
        )
    }

    /// Both layouts of one payment, as text.
    fn both(document: &str, amount: Option<(i64, &str)>, decimals: Option<u8>) -> (String, String) {
        let payment = payment(document, amount, decimals);
        let rendering = Rendering::payment(&payment, "http://h");
        let tree = rendering.value().to_string();
        let mut text = Vec::new();
        rendering.write_json(&mut text);
        (tree, String::from_utf8_lossy(&text).into_owned())
    }

    /// Goal: the text written straight from the document is the text of the
    /// tree, for documents either way takes. Method: a table of documents
    /// (each kind the fast way declines, and ones it takes), each with and
    /// without an amount.
    #[test]
    fn written_text_is_the_trees_text() {
        let documents = [
            "{}",
            r#"{"account":{"id":"15463151"},"paymentMethod":{},"totalAmount":{"unit":null,"value":null}}"#,
            r#"{"totalAmount":{"@type":"Money","value":null,"unit":null},"a":[1,2.50,-0.0,true,null]}"#,
            r#"{"a":[1E5,2.5e-3,3e+2,"1E5"],"b":false}"#,
            r#"{"totalAmount":"x","name":"été","paymentDate":"2020-01-01T00:00:00Z","@type":"Mine"}"#,
            r#"{"totalAmount":[{"a":","},"}{"],"b":{"c":{"d":[[],{}]}},"e":"a,b:c"}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"a":{"x":1,"x":2}}"#,
            r#"{"a": 1}"#,
            "{\n\"a\":1}",
            r#"{"a":"quote\"d","b":"\u00e9","c":"\/"}"#,
            r#"{"id":"mine","href":"h","status":"s","statusDate":"d","z":1}"#,
            r#"{"status":"x"}"#,
            "[1,2]",
            "not json",
            "",
            r#"{"a":1"#,
            r#"{"a":1}x"#,
        ];
        for document in documents {
            for (amount, decimals) in [
                (None, None),
                (Some((1050, "USD")), Some(1)),
                (Some((7, "JPY")), None),
            ] {
                let (tree, text) = both(document, amount, decimals);
                assert_eq!(text, tree, "document {document}, amount {amount:?}");
            }
        }
    }

    /// Goal: the same over many generated documents, nested and flat, with
    /// names that repeat and the server's own names. Method: a fixed-seed
    /// generator, so a failure repeats.
    #[test]
    fn written_text_is_the_trees_text_for_generated_documents() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |bound: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % bound
        };
        for _ in 0..2_000 {
            let document = generated_object(&mut next, 0);
            let (tree, text) = both(&document, Some((1999, "EUR")), None);
            assert_eq!(text, tree, "document {document}");
        }
    }

    fn generated_object(next: &mut impl FnMut(u64) -> u64, depth: u32) -> String {
        const NAMES: [&str; 9] = [
            "a",
            "b",
            "totalAmount",
            "@type",
            "paymentDate",
            "status",
            "unit",
            "value",
            "x,y",
        ];
        let count = next(5);
        let members: Vec<String> = (0..count)
            .map(|_| {
                let name = NAMES[usize::try_from(next(9)).unwrap_or(0)];
                format!("\"{name}\":{}", generated_value(next, depth + 1))
            })
            .collect();
        format!("{{{}}}", members.join(","))
    }

    fn generated_value(next: &mut impl FnMut(u64) -> u64, depth: u32) -> String {
        match (next(7), depth > 3) {
            (0, false) => generated_object(next, depth),
            (1, false) => format!(
                "[{},{}]",
                generated_value(next, depth + 1),
                generated_value(next, depth + 1)
            ),
            (2, _) => "\"{[,]}:\"".into(),
            (3, _) => {
                ["12.500", "-0", "1E5", "2.5e-3"][usize::try_from(next(4)).unwrap_or(0)].into()
            }
            (4, _) => "null".into(),
            (5, _) => "\"text\"".into(),
            _ => "false".into(),
        }
    }

    #[test]
    fn members_are_split_where_the_json_says() {
        assert_eq!(
            top_level_members(r#"{"a":{"b":[1,","]},"c":"}","d":2}"#),
            Some(vec![("a", r#"{"b":[1,","]}"#), ("c", r#""}""#), ("d", "2")])
        );
        assert_eq!(top_level_members("{}"), Some(vec![]));
        assert_eq!(top_level_members(r#"{"a":1,"a":1}"#), None);
        assert_eq!(top_level_members(r#"{"a": 1}"#), None);
    }
}
