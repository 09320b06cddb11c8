//! TMF676 request bodies in, TMF676 resources out.
//!
//! A request body is kept as the client sent it (so unknown and `@type`
//! extension attributes round-trip unchanged), after the attributes the server
//! owns (`id`, `href`, `status`, `statusDate`) are taken out. The core fields
//! are parsed from it once, here, into the core's types. The amount goes to
//! the record's columns only: the document keeps `totalAmount`'s place, and
//! rendering writes the ledger's amount back into it, as the client spelt it.

use chrono::{DateTime, Utc};
use payhub_core::{
    Currency, Document, MerchantId, Money, NewPayment, NewRefund, Origin, PaymentId, Status,
};
use serde_json::{Map, Value};

use payhub_app::card::find_card_data_in_members;

use super::error::TmfError;

/// The attributes only the server sets; a client's values for them are ignored.
const SERVER_OWNED: [&str; 4] = ["id", "href", "status", "statusDate"];
/// Attributes that must be strings when present.
const STRING_ATTRIBUTES: [&str; 7] = [
    "authorizationCode",
    "correlatorId",
    "description",
    "name",
    "@type",
    "@baseType",
    "@schemaLocation",
];
/// Attributes that must be objects when present.
const OBJECT_ATTRIBUTES: [&str; 5] = ["channel", "payer", "requestor", "amount", "taxAmount"];

/// The path of the API under the public base URL.
pub const BASE_PATH: &str = "/tmf-api/paymentManagement/v4";

pub use crate::http::time::{format_time, parse_time};
use payhub_app::money_json::empty_amount_slot;

/// A body parsed as a JSON object, or a clear 400.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, TmfError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(TmfError::InvalidJson(
            "request body must be a JSON object".into(),
        )),
        Err(e) => Err(TmfError::InvalidJson(format!(
            "request body is not valid JSON: {e}"
        ))),
    }
}

fn invalid(message: impl Into<String>) -> TmfError {
    TmfError::InvalidAttribute(message.into())
}

fn required_object<'a>(
    body: &'a Map<String, Value>,
    name: &str,
) -> Result<&'a Map<String, Value>, TmfError> {
    match body.get(name) {
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(invalid(format!("'{name}' must be an object"))),
        None => Err(invalid(format!("'{name}' is required"))),
    }
}

fn optional_string(body: &Map<String, Value>, name: &str) -> Result<Option<String>, TmfError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("'{name}' must be a string"))),
    }
}

/// Reads a TMF `Money` (`{unit, value}`); an empty object means "no amount".
///
/// The value is read from the number's exact text, so `10.10` is 1010 cents and
/// `0.001` USD is refused, never rounded.
pub fn parse_money(name: &str, value: &Value) -> Result<Option<Money>, TmfError> {
    Ok(parse_written_money(name, value)?.map(|(money, _)| money))
}

/// [`parse_money`], with how many decimals the client wrote the value with,
/// so that the amount renders back as it was sent.
fn parse_written_money(name: &str, value: &Value) -> Result<Option<(Money, u8)>, TmfError> {
    let Value::Object(map) = value else {
        return Err(invalid(format!("'{name}' must be an object")));
    };
    let unit = map.get("unit");
    let amount = map.get("value");
    match (unit, amount) {
        (None, None) => Ok(None),
        (Some(Value::String(code)), Some(Value::Number(number))) => {
            let currency =
                Currency::parse(code).map_err(|e| invalid(format!("'{name}.unit': {e}")))?;
            Money::parse_written(&number.to_string(), currency)
                .map(Some)
                .map_err(|e| invalid(format!("'{name}.value': {e}")))
        }
        (Some(Value::String(_)), Some(_)) => {
            Err(invalid(format!("'{name}.value' must be a number")))
        }
        (Some(_), Some(_)) => Err(invalid(format!(
            "'{name}.unit' must be an ISO 4217 currency code"
        ))),
        _ => Err(invalid(format!(
            "'{name}' needs both 'unit' and 'value', or neither"
        ))),
    }
}

/// The fields shared by payments and refunds, checked and extracted.
struct CommonFields {
    account_id: String,
    correlator_id: Option<String>,
    total_amount: Option<Money>,
    amount_decimals: Option<u8>,
    status: Option<Status>,
    document: Document,
}

fn common_fields(
    mut body: Map<String, Value>,
    date_attribute: &str,
) -> Result<CommonFields, TmfError> {
    let account = required_object(&body, "account")?;
    let account_id = match account.get("id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(_) => return Err(invalid("'account.id' must be a non-empty string")),
        None => return Err(invalid("'account.id' is required")),
    };
    required_object(&body, "paymentMethod")?;
    let written = match body.get("totalAmount") {
        Some(value) => parse_written_money("totalAmount", value)?,
        None => return Err(invalid("'totalAmount' is required")),
    };
    for name in OBJECT_ATTRIBUTES {
        if let Some(value) = body.get(name) {
            if !value.is_object() {
                return Err(invalid(format!("'{name}' must be an object")));
            }
        }
    }
    for name in ["amount", "taxAmount"] {
        if let Some(value) = body.get(name) {
            parse_money(name, value)?;
        }
    }
    for name in STRING_ATTRIBUTES {
        optional_string(&body, name)?;
    }
    if let Some(value) = body.get(date_attribute) {
        let valid = value.as_str().and_then(parse_time).is_some();
        if !valid {
            return Err(invalid(format!(
                "'{date_attribute}' must be an RFC 3339 date-time"
            )));
        }
    }
    let status = optional_string(&body, "status")?
        .map(|s| Status::parse(&s).map_err(|e| invalid(format!("'status': {e}"))))
        .transpose()?;
    let correlator_id = optional_string(&body, "correlatorId")?;
    refuse_card_data(&body)?;
    for name in SERVER_OWNED {
        body.remove(name);
    }
    // The amount is kept in the record's columns; the document keeps its place.
    if written.is_some() {
        if let Some(place) = body.get_mut("totalAmount") {
            empty_amount_slot(place);
        }
    }
    Ok(CommonFields {
        account_id,
        correlator_id,
        total_amount: written.map(|(money, _)| money),
        amount_decimals: written.map(|(_, decimals)| decimals),
        status,
        document: Document::new(Value::Object(body).to_string()),
    })
}

/// Refuses a body that carries a full card number or a security code
/// anywhere (`paymentMethod`, extension attributes): the body is kept as the
/// resource's document, and payhub never stores card data. The refund's
/// `payment` reference and the ignored `id`/`href` hold payhub's own (long,
/// numeric) ids.
fn refuse_card_data(body: &Map<String, Value>) -> Result<(), TmfError> {
    match find_card_data_in_members(body, "", &["id", "href", "payment.id", "payment.href"]) {
        Some(found) => Err(invalid(found.to_string())),
        None => Ok(()),
    }
}

fn date_of(body: &Map<String, Value>, name: &str) -> Option<DateTime<Utc>> {
    body.get(name).and_then(Value::as_str).and_then(parse_time)
}

/// A `Payment_Create` body as the core's [`NewPayment`].
pub fn new_payment(
    merchant: &MerchantId,
    body: Map<String, Value>,
) -> Result<NewPayment, TmfError> {
    let payment_date = date_of(&body, "paymentDate");
    let fields = common_fields(body, "paymentDate")?;
    Ok(NewPayment {
        merchant_id: merchant.clone(),
        account_id: fields.account_id,
        correlator_id: fields.correlator_id,
        total_amount: fields.total_amount,
        amount_decimals: fields.amount_decimals,
        status: fields.status,
        payment_date,
        document: fields.document,
        origin: Origin::new(super::DIALECT),
    })
}

/// A `Refund_Create` body as the core's [`NewRefund`].
pub fn new_refund(merchant: &MerchantId, body: Map<String, Value>) -> Result<NewRefund, TmfError> {
    let refund_date = date_of(&body, "refundDate");
    let payment_id = match body.get("payment") {
        None | Some(Value::Null) => None,
        Some(Value::Object(payment)) => match payment.get("id") {
            Some(Value::String(id)) => Some(id.parse::<PaymentId>().map_err(|_| {
                invalid(format!("'payment.id': '{id}' is not a payhub payment id"))
            })?),
            Some(_) => return Err(invalid("'payment.id' must be a string")),
            None => return Err(invalid("'payment.id' is required when 'payment' is given")),
        },
        Some(_) => return Err(invalid("'payment' must be an object")),
    };
    let fields = common_fields(body, "refundDate")?;
    Ok(NewRefund {
        merchant_id: merchant.clone(),
        payment_id,
        account_id: fields.account_id,
        correlator_id: fields.correlator_id,
        total_amount: fields.total_amount,
        amount_decimals: fields.amount_decimals,
        status: fields.status,
        refund_date,
        document: fields.document,
    })
}

/// The absolute URL of a resource.
pub fn href(base_url: &str, collection: &str, id: impl std::fmt::Display) -> String {
    format!("{base_url}{BASE_PATH}/{collection}/{id}")
}

pub use super::render::{render_payment, render_refund};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn money_is_read_exactly_or_refused() {
        let ok = |v: Value| {
            parse_money("m", &v)
                .ok()
                .flatten()
                .map(|m| m.amount_minor())
        };
        assert_eq!(ok(json!({"unit": "USD", "value": 50})), Some(5000));
        assert_eq!(
            ok(serde_json::from_str(r#"{"unit":"USD","value":10.10}"#).unwrap_or_default()),
            Some(1010)
        );
        assert!(matches!(parse_money("m", &json!({})), Ok(None)));
        for bad in [
            json!({"unit": "USD", "value": 0.001}),
            json!({"unit": "USD"}),
            json!({"value": 1}),
            json!({"unit": "usd", "value": 1}),
            json!({"unit": "USD", "value": "1"}),
            json!({"unit": "USD", "value": -1}),
            json!("1 USD"),
        ] {
            assert!(parse_money("m", &bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_conformance_kit_body_is_a_valid_payment() {
        let merchant = MerchantId::generate();
        let body =
            object(json!({"account": {"id": "15463151"}, "paymentMethod": {}, "totalAmount": {}}));
        let new = new_payment(&merchant, body);
        assert!(matches!(&new, Ok(p) if p.account_id == "15463151" && p.total_amount.is_none()));
    }

    #[test]
    fn server_owned_attributes_are_not_kept() {
        let merchant = MerchantId::generate();
        let body = object(
            json!({"id": "x", "href": "y", "statusDate": "z", "account": {"id": "a"},
            "paymentMethod": {}, "totalAmount": {}, "extra": {"k": [1, 2]}}),
        );
        let document = new_payment(&merchant, body)
            .map(|p| p.document)
            .unwrap_or_default();
        let kept = super::super::render::stored_document(&document);
        assert!(
            !kept.contains_key("id")
                && !kept.contains_key("href")
                && !kept.contains_key("statusDate")
        );
        assert_eq!(kept.get("extra"), Some(&json!({"k": [1, 2]})));
    }
}
