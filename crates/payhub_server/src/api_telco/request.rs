//! Reading a payment request (seed 004's body), checked once, here.

use payhub_core::Channel;
use serde_json::{Map, Value};

use super::result::TelcoError;
use crate::config::TelcoSettings;
use payhub_app::card::find_card_data;

/// Most items one request may carry.
const MAX_ITEMS: usize = 100;

/// One requested item, before the catalogue prices it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestedItem {
    pub id: String,
    pub count: i64,
    pub is_removable: bool,
}

/// A checked payment request, with the channel's defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct PaymentRequest {
    pub transaction_id: String,
    pub msisdn: String,
    pub channel: Channel,
    pub is_deliverable: bool,
    pub is_billing_required: bool,
    pub items: Vec<RequestedItem>,
    pub language: Option<String>,
    pub additional_parameters: Value,
}

/// The request's `transactionId` as sent, for answers to requests that fail
/// before it is checked ("" when there is none).
pub fn transaction_id_of(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| match v.get("transactionId") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
        .unwrap_or_default()
}

impl PaymentRequest {
    pub fn parse(body: &[u8], settings: &TelcoSettings) -> Result<PaymentRequest, TelcoError> {
        let object = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                return Err(TelcoError::InvalidRequest(
                    "the body must be a JSON object".into(),
                ))
            }
            Err(e) => {
                return Err(TelcoError::InvalidRequest(format!(
                    "the body is not JSON: {e}"
                )))
            }
        };
        let transaction_id = transaction_id(&object)?;
        let msisdn = msisdn(&object)?;
        let channel = channel(&object)?;
        match text(&object, "paymentMethod")? {
            Some(method) if method == "reserve" => {}
            Some(other) => {
                return Err(TelcoError::InvalidField(
                    "paymentMethod",
                    format!("is '{other}'; seed 004 fixes it to 'reserve'"),
                ))
            }
            None => return Err(TelcoError::MissingField("paymentMethod")),
        }
        let defaults = settings.defaults_of(channel);
        let is_deliverable = flag(&object, "isDeliverable")?.unwrap_or(defaults.is_deliverable);
        let is_billing_required =
            flag(&object, "isBillingRequired")?.unwrap_or(defaults.is_billing_required);
        let items = items(&object, defaults.is_removable)?;
        if channel
            .required_item_count()
            .is_some_and(|count| items.len() != count)
        {
            return Err(TelcoError::InvalidItemList(format!(
                "an in-app purchase (channel 50) has exactly one item, not {}",
                items.len()
            )));
        }
        let language = text(&object, "language")?;
        let additional_parameters = match object.get("additionalParameters") {
            None | Some(Value::Null) => Value::Array(Vec::new()),
            Some(value @ (Value::Array(_) | Value::Object(_))) => {
                // Kept with the transaction and echoed: never card data.
                if let Some(found) = find_card_data(value, "additionalParameters", &[]) {
                    return Err(TelcoError::InvalidField(
                        "additionalParameters",
                        found.to_string(),
                    ));
                }
                value.clone()
            }
            Some(_) => {
                return Err(TelcoError::InvalidField(
                    "additionalParameters",
                    "must be a list (or an object)".into(),
                ))
            }
        };
        Ok(PaymentRequest {
            transaction_id,
            msisdn,
            channel,
            is_deliverable,
            is_billing_required,
            items,
            language,
            additional_parameters,
        })
    }
}

/// An optional string field; a wrong type is an error.
fn text(object: &Map<String, Value>, name: &'static str) -> Result<Option<String>, TelcoError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(TelcoError::InvalidField(name, "must be a string".into())),
    }
}

fn flag(object: &Map<String, Value>, name: &'static str) -> Result<Option<bool>, TelcoError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(TelcoError::InvalidField(
            name,
            "must be true or false".into(),
        )),
    }
}

fn transaction_id(object: &Map<String, Value>) -> Result<String, TelcoError> {
    let id = match object.get("transactionId") {
        None | Some(Value::Null) => return Err(TelcoError::MissingField("transactionId")),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => {
            return Err(TelcoError::InvalidField(
                "transactionId",
                "must be a string".into(),
            ))
        }
    };
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if id.is_empty() {
        return Err(TelcoError::MissingField("transactionId"));
    }
    if !valid {
        return Err(TelcoError::InvalidField(
            "transactionId",
            "must be up to 64 letters, digits, '_', '-' or '.'".into(),
        ));
    }
    Ok(id)
}

/// A subscriber number: E.164 digits without '+', 10 to 15 of them, no leading 0.
fn msisdn(object: &Map<String, Value>) -> Result<String, TelcoError> {
    let value = match object.get("msisdn") {
        None | Some(Value::Null) => return Err(TelcoError::MissingField("msisdn")),
        Some(Value::String(s)) if s.is_empty() => return Err(TelcoError::MissingField("msisdn")),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(TelcoError::InvalidMsisdn(other.to_string())),
    };
    let valid = (10..=15).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_digit())
        && !value.starts_with('0');
    if valid {
        Ok(value)
    } else {
        Err(TelcoError::InvalidMsisdn(value))
    }
}

/// `channelId`: seed 004 types it String and sends a number; both are read.
fn channel(object: &Map<String, Value>) -> Result<Channel, TelcoError> {
    let text = match object.get("channelId") {
        None | Some(Value::Null) => return Err(TelcoError::MissingField("channelId")),
        Some(Value::String(s)) if s.is_empty() => {
            return Err(TelcoError::MissingField("channelId"))
        }
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => other.to_string(),
    };
    text.parse::<i64>()
        .ok()
        .and_then(super::channel::from_id)
        .ok_or(TelcoError::InvalidChannel(text))
}

fn items(
    object: &Map<String, Value>,
    default_removable: bool,
) -> Result<Vec<RequestedItem>, TelcoError> {
    let list = match object.get("itemList") {
        None | Some(Value::Null) => return Err(TelcoError::MissingField("itemList")),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(TelcoError::InvalidItemList(
                "itemList must be a list".into(),
            ))
        }
    };
    if list.is_empty() {
        return Err(TelcoError::InvalidItemList("itemList is empty".into()));
    }
    if list.len() > MAX_ITEMS {
        return Err(TelcoError::InvalidItemList(format!(
            "at most {MAX_ITEMS} items per request"
        )));
    }
    let mut items: Vec<RequestedItem> = Vec::with_capacity(list.len());
    for entry in list {
        let Value::Object(item) = entry else {
            return Err(TelcoError::InvalidItemList(
                "each item is an object with id and count".into(),
            ));
        };
        let id = match item.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(TelcoError::InvalidItemList(
                    "each item needs an 'id' (a number or a string)".into(),
                ))
            }
        };
        let count = match item.get("count") {
            Some(Value::Number(n)) => match n.as_i64() {
                Some(count) if count >= 1 && n.is_i64() => count,
                _ => return Err(TelcoError::InvalidCount(id, n.to_string())),
            },
            None | Some(Value::Null) => return Err(TelcoError::InvalidCount(id, "missing".into())),
            Some(other) => return Err(TelcoError::InvalidCount(id, other.to_string())),
        };
        let is_removable = match item.get("isRemovable") {
            None | Some(Value::Null) => default_removable,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(TelcoError::InvalidField(
                    "isRemovable",
                    "must be true or false".into(),
                ))
            }
        };
        if items.iter().any(|i| i.id == id) {
            return Err(TelcoError::InvalidItemList(format!(
                "item id '{id}' appears twice; send one line with its count"
            )));
        }
        items.push(RequestedItem {
            id,
            count,
            is_removable,
        });
    }
    Ok(items)
}
