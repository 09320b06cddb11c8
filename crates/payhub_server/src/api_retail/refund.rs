//! `POST /online/refund`: a full or partial refund of a paid sale, under a
//! new `rrn` with `orgRrn` naming the sale. It goes back through the sale's
//! gateway; the ledger's rules keep refunds within what was paid.

use axum::extract::State;
use axum::Json;
use chrono::Utc;
use payhub_core::{Document, GatewayState, Money, NewRefund, Status};
use serde_json::{json, Map, Value};

use super::error::RetailError;
use super::lookup::{find_sale, refund_body};
use super::signature::SignedRequest;
use super::wire::RetailAttributes;
use super::DIALECT;
use crate::state::AppState;
use payhub_app::gateways::flow;

pub async fn refund(
    State(state): State<AppState>,
    SignedRequest { fields, merchant }: SignedRequest,
) -> Result<Json<Value>, RetailError> {
    let type_code = fields.required("type")?;
    let rrn = fields.reference("rrn", 64)?;
    let org_rrn = fields.required("orgRrn")?;
    let store_code = fields.required("storeCode")?;
    let amt = fields.number("amt")?;
    if amt <= 0 {
        return Err(RetailError::InvalidField(
            "amt",
            "must be at least 1 minor unit".into(),
        ));
    }
    let not_found = || RetailError::NotFound(org_rrn.clone());
    let reference = state
        .store
        .find_external_ref(&merchant.id, DIALECT, &org_rrn)
        .await?
        .filter(|r| r.resource_kind == "payment")
        .ok_or_else(not_found)?;
    let sale = find_sale(&state, &merchant, reference.resource_id)
        .await?
        .filter(|s| s.retail.gateway == type_code && s.retail.store_code == store_code)
        .ok_or_else(not_found)?;
    if sale.gateway.state != GatewayState::Succeeded {
        return Err(RetailError::RefundNotAllowed(format!(
            "sale {org_rrn} is not paid ({})",
            sale.gateway.state.as_str()
        )));
    }
    let currency = sale
        .payment
        .total_amount
        .map(|m| m.currency())
        .ok_or(RetailError::Internal)?;
    if let Some(ccy) = fields.optional("ccy")? {
        if ccy != currency.code() {
            return Err(RetailError::InvalidField(
                "ccy",
                format!("the sale is in {}", currency.code()),
            ));
        }
    }
    let amount = Money::from_minor(amt, currency)
        .map_err(|e| RetailError::InvalidField("amt", e.to_string()))?;
    if state
        .store
        .find_external_ref(&merchant.id, DIALECT, &rrn)
        .await?
        .is_some()
    {
        return Err(RetailError::DuplicateRrn(rrn));
    }
    let retail = RetailAttributes {
        rrn: rrn.clone(),
        till_id: fields
            .optional("tillId")?
            .unwrap_or_else(|| sale.retail.till_id.clone()),
        salesman: fields
            .optional("salesman")?
            .unwrap_or_else(|| sale.retail.salesman.clone()),
        tx_date_time: fields
            .optional("txDateTime")?
            .unwrap_or_else(|| Utc::now().format("%Y-%m-%dT%H:%M:%S%z").to_string()),
        org_rrn: org_rrn.clone(),
        extend_param: String::new(),
        remarks: fields.optional("remarks")?,
        cashier: fields.optional("cashier")?,
        ..sale.retail.clone()
    };
    let new = NewRefund {
        merchant_id: merchant.id.clone(),
        payment_id: Some(sale.payment.id),
        account_id: sale.payment.account_id.clone(),
        correlator_id: Some(rrn.clone()),
        total_amount: Some(amount),
        amount_decimals: None,
        status: None,
        refund_date: None,
        document: refund_document(&sale.payment.id.to_string(), &retail),
    };
    let refund = flow::refund(&state, &sale.gateway, new, Some((DIALECT, rrn.clone()))).await?;
    let mut answer = refund_body(&state, &merchant, &refund, &retail).await?;
    let (code, message) = match refund.status {
        Status::Done => ("0", "SUCCESS".to_owned()),
        Status::PendingAuthorization => ("3", RetailError::GatewayTimeout.to_string()),
        _ => (
            "601",
            "payment error: the gateway refused the refund".to_owned(),
        ),
    };
    if let Value::Object(map) = &mut answer {
        map.insert("errorCode".into(), json!(code));
        map.insert("errorMessage".into(), json!(message));
    }
    Ok(Json(answer))
}

/// The refund as a TMF676 refund document (see docs/RETAIL.md).
fn refund_document(payment_id: &str, retail: &RetailAttributes) -> Document {
    let mut document = Map::new();
    document.insert("@type".into(), json!("Refund"));
    document.insert("correlatorId".into(), json!(retail.rrn));
    document.insert("account".into(), json!({"id": retail.store_code}));
    document.insert("payment".into(), json!({"id": payment_id}));
    document.insert("paymentMethod".into(), json!({"@type": retail.gateway}));
    document.insert("totalAmount".into(), payhub_app::money_json::amount_slot());
    document.insert(
        "retail".into(),
        serde_json::to_value(retail).unwrap_or(Value::Null),
    );
    Document::new(Value::Object(document).to_string())
}
