//! `APSPaymentCreationRequest` in: every field checked once, here.
//!
//! Amounts are read from the JSON number's exact text (serde_json keeps it),
//! so `10.10` is 1010 cents and a value with more decimals than the account's
//! currency allows is refused, never rounded.

use payhub_core::{Currency, Money};
use serde_json::{Map, Value};

use super::error::ApsError;
use payhub_app::card::{find_card_data, find_card_data_in_members};

/// At most this many documents per payment.
const MAX_DOCUMENTS: usize = 100;
/// At most this long: URLs, document ids and other texts.
const MAX_TEXT: usize = 2048;

/// The `paymentContext` members payhub reads; others are kept as sent.
pub const CONTEXT_URLS: [&str; 3] = ["callbackUrlOk", "callbackUrlFail", "notifyUrl"];

/// A checked `APSPaymentCreationRequest`.
#[derive(Clone, Debug)]
pub struct PayRequest {
    pub total: Money,
    pub payment_method_id: Option<i64>,
    pub use_available_credit: bool,
    pub callback_url_ok: Option<String>,
    pub callback_url_fail: Option<String>,
    pub notify_url: Option<String>,
    /// `paymentContext` as sent (every member a string).
    pub context: Map<String, Value>,
    /// `documents` as sent, each checked.
    pub documents: Vec<Value>,
}

fn invalid(field: impl Into<String>, why: impl Into<String>) -> ApsError {
    ApsError::InvalidField(field.into(), why.into())
}

/// Reads an exact amount of `currency` from a JSON number.
fn amount(field: &str, value: &Value, currency: Currency) -> Result<Money, ApsError> {
    let Value::Number(number) = value else {
        return Err(invalid(field, "must be a JSON number"));
    };
    Money::parse_decimal(&number.to_string(), currency).map_err(|e| invalid(field, e.to_string()))
}

impl PayRequest {
    /// Parses and checks a body for an account in `currency`.
    pub fn parse(body: &[u8], currency: Currency) -> Result<PayRequest, ApsError> {
        let object = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(ApsError::InvalidJson("expected an object".into())),
            Err(e) => return Err(ApsError::InvalidJson(e.to_string())),
        };
        let total = match object.get("total") {
            None | Some(Value::Null) => return Err(ApsError::MissingField("total")),
            Some(value) => amount("total", value, currency)?,
        };
        if total.amount_minor() == 0 {
            return Err(invalid("total", "must be greater than zero"));
        }
        let payment_method_id = match object.get("paymentMethodId") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(
                n.as_i64()
                    .filter(|id| *id > 0)
                    .ok_or_else(|| invalid("paymentMethodId", "must be a positive integer"))?,
            ),
            Some(_) => return Err(invalid("paymentMethodId", "must be an integer")),
        };
        let use_available_credit = match object.get("useAvailableCredit") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(invalid("useAvailableCredit", "must be true or false")),
        };
        let context = match object.get("paymentContext") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(_) => return Err(invalid("paymentContext", "must be an object")),
        };
        for (name, value) in &context {
            match value {
                Value::Null => {}
                Value::String(text) if text.len() <= MAX_TEXT => {}
                Value::String(_) => {
                    return Err(invalid(
                        format!("paymentContext.{name}"),
                        format!("at most {MAX_TEXT} characters"),
                    ))
                }
                _ => {
                    return Err(invalid(
                        format!("paymentContext.{name}"),
                        "must be a string",
                    ))
                }
            }
        }
        let url = |name: &str| {
            context
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let documents = match object.get("documents") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => check_documents(items, currency)?,
            Some(_) => return Err(invalid("documents", "must be an array")),
        };
        refuse_card_data(&documents, &context)?;
        Ok(PayRequest {
            total,
            payment_method_id,
            use_available_credit,
            callback_url_ok: url("callbackUrlOk"),
            callback_url_fail: url("callbackUrlFail"),
            notify_url: url("notifyUrl"),
            context,
            documents,
        })
    }
}

/// Refuses documents or a payment context that carry a full card number or a
/// security code: both are kept with the payment and shown in `payments`.
fn refuse_card_data(documents: &[Value], context: &Map<String, Value>) -> Result<(), ApsError> {
    let found = documents
        .iter()
        .enumerate()
        .find_map(|(i, document)| find_card_data(document, &format!("documents[{i}]"), &[]))
        .or_else(|| find_card_data_in_members(context, "paymentContext", &[]));
    match found {
        Some(found) => Err(invalid(found.path.clone(), found.reason())),
        None => Ok(()),
    }
}

/// Checks each `Document`: `docType` INVOICE or ORDER (required), `docId` a
/// string, `amount` an exact non-negative amount of the account's currency.
fn check_documents(items: &[Value], currency: Currency) -> Result<Vec<Value>, ApsError> {
    if items.len() > MAX_DOCUMENTS {
        return Err(invalid(
            "documents",
            format!("at most {MAX_DOCUMENTS} documents"),
        ));
    }
    for (index, item) in items.iter().enumerate() {
        let field = |name: &str| format!("documents[{index}].{name}");
        let Value::Object(document) = item else {
            return Err(invalid(format!("documents[{index}]"), "must be an object"));
        };
        match document.get("docType") {
            Some(Value::String(kind)) if kind == "INVOICE" || kind == "ORDER" => {}
            None | Some(Value::Null) => {
                return Err(invalid(field("docType"), "is required (INVOICE or ORDER)"))
            }
            Some(_) => return Err(invalid(field("docType"), "must be INVOICE or ORDER")),
        }
        match document.get("docId") {
            None | Some(Value::Null) => {}
            Some(Value::String(id)) if id.len() <= MAX_TEXT => {}
            Some(_) => return Err(invalid(field("docId"), "must be a string")),
        }
        if let Some(value) = document.get("amount").filter(|v| !v.is_null()) {
            amount(&field("amount"), value, currency)?;
        }
    }
    Ok(items.to_vec())
}

/// Reads `paymentIds`: 1 to [`MAX_PAYMENT_IDS`] comma-separated positive
/// integers (spaces around each allowed); repeated ids count once.
pub fn parse_payment_ids(text: &str) -> Result<Vec<i64>, ApsError> {
    let bad = |why: &str| ApsError::InvalidPaymentIds(why.to_owned());
    if text.trim().is_empty() {
        return Err(bad(
            "empty: give comma-separated payment ids, e.g. paymentIds=1,2,3",
        ));
    }
    let mut ids: Vec<i64> = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let id = (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<i64>().ok())
            .flatten()
            .filter(|id| *id > 0)
            .ok_or_else(|| bad(&format!("'{part}' is not a positive integer")))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
        if ids.len() > MAX_PAYMENT_IDS {
            return Err(bad(&format!("at most {MAX_PAYMENT_IDS} ids per request")));
        }
    }
    Ok(ids)
}

/// At most this many ids per `payments` request.
pub const MAX_PAYMENT_IDS: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn totals_are_exact_and_positive() {
        let parse = |body: &str| PayRequest::parse(body.as_bytes(), usd());
        let ok = parse(r#"{"total": 10.10}"#).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(ok.total.amount_minor(), 1010);
        assert!(!ok.use_available_credit);
        for bad in [
            r#"{"total": 0.001}"#,
            r#"{"total": 0}"#,
            r#"{"total": -1}"#,
            r#"{"total": "10"}"#,
            r#"{"total": 1, "paymentMethodId": 1.5}"#,
            r#"{"total": 1, "paymentMethodId": "7"}"#,
            r#"{"total": 1, "useAvailableCredit": "yes"}"#,
            r#"{"total": 1, "paymentContext": []}"#,
            r#"{"total": 1, "paymentContext": {"notifyUrl": 5}}"#,
            r#"{"total": 1, "documents": [{"docId": "x"}]}"#,
            r#"{"total": 1, "documents": [{"docType": "RECEIPT"}]}"#,
            r#"{"total": 1, "documents": [{"docType": "ORDER", "amount": 1.234}]}"#,
        ] {
            assert!(
                matches!(parse(bad), Err(ApsError::InvalidField(..))),
                "{bad}"
            );
        }
        assert!(matches!(parse("{}"), Err(ApsError::MissingField("total"))));
        assert!(matches!(parse("[1]"), Err(ApsError::InvalidJson(_))));
    }

    #[test]
    fn payment_ids_are_a_short_list_of_positive_integers() {
        assert_eq!(parse_payment_ids("1,2, 3,2").ok(), Some(vec![1, 2, 3]));
        let too_many = (1..=101)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        for bad in [
            "",
            " ",
            "1,,2",
            "a",
            "0",
            "-1",
            "1.5",
            "1;2",
            "99999999999999999999",
            too_many.as_str(),
        ] {
            assert!(parse_payment_ids(bad).is_err(), "{bad}");
        }
    }
}
