//! Amounts in JSON answers and documents: TMF630's `Money` shape (`{"unit", "value"}`),
//! which TMF676 defines and the retail, telco and APS answers adopted, and
//! its value spelt exactly.

use payhub_core::Money;
use serde_json::Value;

/// An amount as a JSON number spelt with its exact decimal text (`10.50`),
/// never through a float.
pub fn amount_number(amount: Money) -> Value {
    amount
        .to_decimal()
        .to_string()
        .parse::<serde_json::Number>()
        .map_or(Value::Null, Value::Number)
}

/// An amount as TMF630 `Money`: `{"unit": "HKD", "value": 10.50}`.
pub fn money_json(amount: Money) -> Value {
    serde_json::json!({"unit": amount.currency().code(), "value": amount_number(amount)})
}
