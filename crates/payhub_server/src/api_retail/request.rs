//! Reading retail request bodies: one JSON object whose fields are checked
//! here, once, with the dialect's error for each problem.

use serde_json::{Map, Value};

use super::error::RetailError;

/// A retail request body.
pub struct Fields(Map<String, Value>);

impl Fields {
    /// Parses the raw body as a JSON object.
    pub fn parse(body: &[u8]) -> Result<Fields, RetailError> {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Fields(map)),
            Ok(_) => Err(RetailError::NotJson("expected an object".into())),
            Err(e) => Err(RetailError::NotJson(e.to_string())),
        }
    }

    /// A string field that may be absent; empty counts as absent.
    pub fn optional(&self, name: &'static str) -> Result<Option<String>, RetailError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(RetailError::InvalidField(name, "must be a string".into())),
        }
    }

    /// A mandatory, non-empty string field.
    pub fn required(&self, name: &'static str) -> Result<String, RetailError> {
        self.optional(name)?.ok_or(RetailError::MissingField(name))
    }

    /// A mandatory text field of at most `max` characters of `[A-Za-z0-9_.-]`
    /// (references, store codes, till ids).
    pub fn reference(&self, name: &'static str, max: usize) -> Result<String, RetailError> {
        let value = self.required(name)?;
        let valid = value.len() <= max
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !valid {
            return Err(RetailError::InvalidField(
                name,
                format!("up to {max} letters, digits, '_', '-' or '.'"),
            ));
        }
        Ok(value)
    }

    /// A mandatory integer, sent as a JSON number or as a decimal string
    /// (seed 003's own examples send `timestamp` both ways).
    pub fn integer(&self, name: &'static str) -> Result<i64, RetailError> {
        let invalid = || RetailError::InvalidField(name, "must be an integer".into());
        match self.0.get(name) {
            None | Some(Value::Null) => Err(RetailError::MissingField(name)),
            Some(Value::String(s)) if s.is_empty() => Err(RetailError::MissingField(name)),
            Some(Value::String(s)) => digits(s).ok_or_else(invalid),
            Some(Value::Number(n)) => digits(&n.to_string()).ok_or_else(invalid),
            Some(_) => Err(invalid()),
        }
    }

    /// A mandatory integer that must be a JSON number (amounts).
    pub fn number(&self, name: &'static str) -> Result<i64, RetailError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Err(RetailError::MissingField(name)),
            Some(Value::Number(n)) => digits(&n.to_string()).ok_or_else(|| {
                RetailError::InvalidField(name, "must be a whole number of minor units".into())
            }),
            Some(_) => Err(RetailError::InvalidField(
                name,
                "must be a JSON number of minor units".into(),
            )),
        }
    }
}

/// An optionally signed run of decimal digits as an i64.
fn digits(text: &str) -> Option<i64> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: &str) -> Fields {
        Fields::parse(json.as_bytes()).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn integers_come_as_numbers_or_digit_strings() {
        let f =
            fields(r#"{"a": 1623724168633, "b": "1623724168633", "c": 1.5, "d": "12x", "e": ""}"#);
        assert_eq!(f.integer("a").ok(), Some(1623724168633));
        assert_eq!(f.integer("b").ok(), Some(1623724168633));
        assert!(matches!(f.integer("c"), Err(RetailError::InvalidField(..))));
        assert!(matches!(f.integer("d"), Err(RetailError::InvalidField(..))));
        assert!(matches!(f.integer("e"), Err(RetailError::MissingField(_))));
        assert!(matches!(f.number("b"), Err(RetailError::InvalidField(..))));
    }

    #[test]
    fn references_are_checked() {
        let f = fields(r#"{"rrn": "0021-06_11.04", "bad": "a b", "long": "aaaaaaaaaaaa"}"#);
        assert!(f.reference("rrn", 64).is_ok());
        assert!(f.reference("bad", 64).is_err());
        assert!(f.reference("long", 5).is_err());
        assert!(matches!(
            f.reference("none", 5),
            Err(RetailError::MissingField(_))
        ));
        assert!(Fields::parse(b"nope").is_err());
    }
}
