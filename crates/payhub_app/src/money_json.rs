//! Amounts in JSON answers and documents: TMF630's `Money` shape (`{"unit", "value"}`),
//! which TMF676 defines and the retail, telco and APS answers adopted, and
//! its value spelt exactly.

use payhub_core::Money;
use serde_json::Value;

/// An amount as a JSON number spelt with its exact decimal text (`10.50`),
/// never through a float.
pub fn amount_number(amount: Money) -> Value {
    written_number(amount, None)
}

/// An amount as a JSON number with `decimals` decimals (`10.1`), or the
/// currency's exponent when `None`; see [`Money::to_decimal_written`].
pub fn written_number(amount: Money, decimals: Option<u8>) -> Value {
    amount
        .to_decimal_written(decimals)
        .to_string()
        .parse::<serde_json::Number>()
        .map_or(Value::Null, Value::Number)
}

/// An amount as TMF630 `Money`: `{"unit": "HKD", "value": 10.50}`.
pub fn money_json(amount: Money) -> Value {
    serde_json::json!({"unit": amount.currency().code(), "value": amount_number(amount)})
}

/// The `totalAmount` a document keeps: the amount's place, not the amount
/// (`{"unit": null, "value": null}`).
///
/// A payment's or refund's amount lives only in its record's columns;
/// TMF676 writes it into this place when it renders the resource, so a
/// document never holds a second copy that could disagree with the ledger.
/// Keeping the place keeps the member where the dialect put it.
pub fn amount_slot() -> Value {
    serde_json::json!({"unit": null, "value": null})
}

/// Turns a client's `totalAmount` object into the amount's place: `unit`
/// and `value` are emptied where they stand, and anything else the client
/// sent with them (`@type`, extensions) stays, in its order.
pub fn empty_amount_slot(total_amount: &mut Value) {
    if let Value::Object(members) = total_amount {
        for name in ["unit", "value"] {
            if let Some(member) = members.get_mut(name) {
                *member = Value::Null;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_clients_amount_becomes_its_place_with_its_other_members_kept() {
        let mut sent = json!({"@type": "Money", "value": 10.1, "unit": "EUR"});
        empty_amount_slot(&mut sent);
        assert_eq!(
            sent.to_string(),
            r#"{"@type":"Money","value":null,"unit":null}"#
        );
        let mut empty = json!({});
        empty_amount_slot(&mut empty);
        assert_eq!(empty, json!({}));
        assert_eq!(amount_slot().to_string(), r#"{"unit":null,"value":null}"#);
    }
}
