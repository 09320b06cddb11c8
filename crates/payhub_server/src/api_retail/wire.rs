//! A sale as the retail dialect sees it, rebuilt from the ledger: the payment
//! (its `retail` attributes) and its gateway row. Used by `query`, the
//! webhook body and the `returnUrl` redirect, so all three always agree.

use payhub_core::{GatewayState, Money, Outcome, Payment, Refund, Status};
use payhub_store::GatewayPayment;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The retail attributes kept in a payment's or refund's document under `retail`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RetailAttributes {
    #[serde(rename = "type")]
    pub gateway: String,
    pub rrn: String,
    pub store_code: String,
    pub till_id: String,
    pub salesman: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cashier: Option<String>,
    pub tx_date_time: String,
    pub lang: String,
    #[serde(default)]
    pub extend_param: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remarks: Option<String>,
    /// The sale a refund gives money back for; empty for a sale.
    #[serde(default)]
    pub org_rrn: String,
}

impl RetailAttributes {
    /// Reads the attributes back from a stored document; `None` when the
    /// resource was not made through the retail dialect.
    pub fn from_document(document: &str) -> Option<RetailAttributes> {
        let value: Value = serde_json::from_str(document).ok()?;
        serde_json::from_value(value.get("retail")?.clone()).ok()
    }
}

/// The `rrn` a refund of a sale goes by in the retail dialect: its
/// `correlatorId` (a retail refund's own `rrn`), or for a refund made through
/// another dialect without one, its id.
pub fn refund_rrn(refund: &Refund) -> String {
    refund
        .correlator_id
        .clone()
        .unwrap_or_else(|| refund.id.to_string())
}

/// The retail attributes of a refund of a sale: its own when it was made
/// through the retail dialect; otherwise (a TMF676 refund) the sale's, under
/// the refund's own [`refund_rrn`] with `orgRrn` naming the sale. `None` when
/// the payment is not a retail sale. The webhook and `query` both describe a
/// refund through this, so they always name it alike.
pub fn refund_attributes(refund: &Refund, sale: &Payment) -> Option<RetailAttributes> {
    if let Some(own) = RetailAttributes::from_document(refund.document.as_str()) {
        return Some(own);
    }
    let sale_attributes = RetailAttributes::from_document(sale.document.as_str())?;
    Some(RetailAttributes {
        rrn: refund_rrn(refund),
        org_rrn: sale_attributes.rrn.clone(),
        extend_param: String::new(),
        remarks: None,
        ..sale_attributes
    })
}

/// seed 003's `GwRefStatus` of a sale.
///
/// 01 paid, 02 failed (declined), 03 timed out (the customer did not pay in
/// time), 04 refunded in full or canceled, 05 pending (including an outcome
/// the gateway has not told yet).
pub fn sale_status(state: GatewayState, fully_refunded: bool) -> &'static str {
    match state {
        GatewayState::Succeeded if fully_refunded => "04",
        GatewayState::Succeeded => "01",
        GatewayState::Declined => "02",
        GatewayState::Expired => "03",
        GatewayState::Canceled => "04",
        GatewayState::AwaitingCustomer | GatewayState::Challenge | GatewayState::Unknown => "05",
    }
}

/// `GwRefStatus` of a refund: 01 done, 02 refused, 05 pending.
pub fn refund_status(status: Status) -> &'static str {
    match status.outcome() {
        Outcome::Succeeded => "01",
        Outcome::Pending => "05",
        Outcome::Failed => "02",
    }
}

fn amount_fields(amount: Option<Money>) -> (i64, String) {
    amount.map_or((0, String::new()), |m| {
        (m.amount_minor(), m.currency().code().to_owned())
    })
}

/// The `query` answer for a sale.
pub fn sale_query_body(
    payment: &Payment,
    gateway: &GatewayPayment,
    retail: &RetailAttributes,
    gw_ref_status: &str,
) -> Value {
    let (amt, ccy) = amount_fields(payment.total_amount);
    json!({
        "type": retail.gateway,
        "rrn": retail.rrn,
        "storeCode": retail.store_code,
        "tillId": retail.till_id,
        "txDateTime": retail.tx_date_time,
        "amt": amt,
        "additionalAmt": 0,
        "ccy": ccy,
        "lang": retail.lang,
        "gwRefStatus": gw_ref_status,
        "gwRefCode": gateway.gw_ref.clone().unwrap_or_default(),
        "gwErrorCode": gateway.gw_error_code.clone().unwrap_or_default(),
        "gwErrorMessage": gateway.gw_error_message.clone().unwrap_or_default(),
        "extendParam": retail.extend_param,
        "orgRrn": "",
        "orgGwRefCode": "",
        "errorCode": "0",
        "errorMessage": "SUCCESS",
    })
}

/// The `query` (and `refund`) answer for a refund of a sale.
pub fn refund_query_body(
    refund: &Refund,
    retail: &RetailAttributes,
    sale_gateway: &GatewayPayment,
    refund_gw_ref: Option<&str>,
) -> Value {
    let (amt, ccy) = amount_fields(refund.total_amount);
    json!({
        "type": retail.gateway,
        "rrn": retail.rrn,
        "storeCode": retail.store_code,
        "tillId": retail.till_id,
        "txDateTime": retail.tx_date_time,
        "amt": amt,
        "additionalAmt": 0,
        "ccy": ccy,
        "lang": retail.lang,
        "gwRefStatus": refund_status(refund.status),
        "gwRefCode": refund_gw_ref.unwrap_or_default(),
        "gwErrorCode": "",
        "gwErrorMessage": "",
        "extendParam": "",
        "orgRrn": retail.org_rrn,
        "orgGwRefCode": sale_gateway.gw_ref.clone().unwrap_or_default(),
        "errorCode": "0",
        "errorMessage": "SUCCESS",
    })
}

/// The webhook body of seed 003 ("About the webhookUrl"), plus the outcome
/// (`gwRefStatus`, `ccy`) that the seed's example leaves implicit.
pub fn webhook_body(
    retail: &RetailAttributes,
    amount: Option<Money>,
    gw_ref_code: &str,
    gw_ref_status: &str,
) -> Value {
    let (amt, ccy) = amount_fields(amount);
    json!({
        "storeCode": retail.store_code,
        "tillId": retail.till_id,
        "type": retail.gateway,
        "rrn": retail.rrn,
        "amount": amt,
        "ccy": ccy,
        "gwRefCode": gw_ref_code,
        "gwRefStatus": gw_ref_status,
        "txDatetime": retail.tx_date_time,
        "salesman": retail.salesman,
        "orgRrn": retail.org_rrn,
    })
}

/// The query parameters added to `returnUrl` when the customer is sent back.
pub fn return_parameters(
    retail: &RetailAttributes,
    amount: Option<Money>,
    gateway: &GatewayPayment,
    gw_ref_status: &str,
) -> Vec<(&'static str, String)> {
    let (amt, ccy) = amount_fields(amount);
    vec![
        ("rrn", retail.rrn.clone()),
        ("type", retail.gateway.clone()),
        ("txDatetime", retail.tx_date_time.clone()),
        ("amt", amt.to_string()),
        ("ccy", ccy),
        ("gwRefStatus", gw_ref_status.to_owned()),
        ("gwRefCode", gateway.gw_ref.clone().unwrap_or_default()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gateway_state_has_the_seed_status() {
        assert_eq!(sale_status(GatewayState::Succeeded, false), "01");
        assert_eq!(sale_status(GatewayState::Succeeded, true), "04");
        assert_eq!(sale_status(GatewayState::Declined, false), "02");
        assert_eq!(sale_status(GatewayState::Expired, false), "03");
        assert_eq!(sale_status(GatewayState::Canceled, false), "04");
        for open in [
            GatewayState::AwaitingCustomer,
            GatewayState::Challenge,
            GatewayState::Unknown,
        ] {
            assert_eq!(sale_status(open, false), "05");
        }
    }
}
