//! The TMF676-shaped document a telco payment keeps in the ledger (see
//! docs/TELCO.md): written when the request is recorded, rewritten when the
//! subscriber removes items on the consent page.

use payhub_core::carrier_billing::basket::Basket;
use payhub_core::Document;
use serde_json::{json, Map, Value};

use super::channel;
use super::request::PaymentRequest;
use payhub_app::money_json::amount_slot;

/// The TMF676 view of a telco payment.
pub fn document(request: &PaymentRequest, basket: &Basket) -> Document {
    let items: Vec<Value> = basket
        .items
        .iter()
        .map(|i| {
            json!({"id": i.id, "name": i.name, "count": i.count, "unitPriceMinor": i.unit_price_minor,
                   "isRemovable": i.is_removable, "removed": i.removed})
        })
        .collect();
    let names = basket.kept_names();
    let mut document = Map::new();
    document.insert("@type".into(), json!("Payment"));
    document.insert("correlatorId".into(), json!(request.transaction_id));
    document.insert("description".into(), json!(names.join(", ")));
    document.insert("account".into(), json!({"id": request.msisdn}));
    document.insert(
        "channel".into(),
        json!({"id": channel::id(request.channel).to_string()}),
    );
    document.insert(
        "paymentMethod".into(),
        json!({"@type": channel::payment_method_type(request.channel)}),
    );
    document.insert("totalAmount".into(), amount_slot());
    document.insert(
        "telco".into(),
        json!({
            "transactionId": request.transaction_id,
            "msisdn": request.msisdn,
            "channelId": channel::id(request.channel),
            "paymentMethod": "reserve",
            "isDeliverable": request.is_deliverable,
            "isBillingRequired": request.is_billing_required,
            "language": request.language,
            "itemList": items,
            "additionalParameters": request.additional_parameters,
        }),
    );
    Document::new(Value::Object(document).to_string())
}

/// The document after the subscriber removed items: the description of
/// what stays, and each item marked kept or removed. (The new total is the
/// payment's amount, kept in its columns.)
pub fn after_removal(stored: &Document, basket: &Basket) -> Document {
    let mut document: Value = serde_json::from_str(stored.as_str()).unwrap_or(Value::Null);
    let names: Vec<&str> = basket
        .items
        .iter()
        .filter(|i| !i.removed)
        .map(|i| i.name.as_str())
        .collect();
    document["description"] = json!(names.join(", "));
    if let Some(items) = document
        .get_mut("telco")
        .and_then(|t| t.get_mut("itemList"))
        .and_then(Value::as_array_mut)
    {
        for item in items.iter_mut() {
            let removed = basket
                .items
                .iter()
                .any(|b| b.removed && item["id"] == json!(b.id));
            item["removed"] = json!(removed);
        }
    }
    Document::new(document.to_string())
}
