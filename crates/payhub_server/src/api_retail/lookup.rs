//! `gateway`, `query` and `cancel`: reading and closing sales.

use axum::extract::State;
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use payhub_core::{PaymentId, Refund, RefundId};
use payhub_store::{GatewayPayment, ListFilter, Merchant};
use serde_json::{json, Value};

use super::error::RetailError;
use super::request::Fields;
use super::signature::SignedRequest;
use super::wire::{self, RetailAttributes};
use super::DIALECT;
use crate::state::AppState;
use payhub_app::gateways::flow;
use payhub_app::gateways::GatewayKind;
use payhub_app::lang::Lang;

/// `POST /online/gateway`: the payment types the merchant may use.
pub async fn gateway(
    SignedRequest { fields, merchant }: SignedRequest,
) -> Result<Json<Value>, RetailError> {
    let lang = fields
        .optional("lang")?
        .and_then(|code| Lang::parse(&code))
        .unwrap_or_default();
    let gateways: Vec<Value> = GatewayKind::ALL
        .into_iter()
        .filter(|kind| merchant.gateways.iter().any(|g| g == kind.code()))
        .map(|kind| {
            json!({
                "type": kind.code(),
                "desc": kind.description(),
                "langDesc": kind.lang_description(lang),
                "base64Logo": logo(kind),
            })
        })
        .collect();
    Ok(Json(json!({
        "extendParam": "",
        "gateways": gateways,
        "errorCode": "0",
        "errorMessage": "no error",
    })))
}

/// A plain badge with the gateway's code, as an SVG data URL (no third-party artwork).
fn logo(kind: GatewayKind) -> String {
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="96" height="32"><rect width="96" height="32" rx="6" fill="#1f3a5f"/><text x="48" y="21" font-family="sans-serif" font-size="13" fill="#fff" text-anchor="middle">{}</text></svg>"##,
        kind.code()
    );
    format!("data:image/svg+xml;base64,{}", STANDARD.encode(svg))
}

/// A sale found by its rrn, checked against the request's `type` and `storeCode`.
pub(super) struct FoundSale {
    pub payment: payhub_core::Payment,
    pub gateway: GatewayPayment,
    pub retail: RetailAttributes,
}

/// What an rrn names: a sale, or a refund of one.
#[expect(
    clippy::large_enum_variant,
    reason = "one short-lived value per request; boxing buys nothing"
)]
enum Found {
    Sale(FoundSale),
    Refund(Refund, RetailAttributes),
}

async fn find(
    state: &AppState,
    merchant: &Merchant,
    fields: &Fields,
) -> Result<Found, RetailError> {
    let type_code = fields.required("type")?;
    let rrn = fields.required("rrn")?;
    let store_code = fields.required("storeCode")?;
    let not_found = || RetailError::NotFound(rrn.clone());
    let reference = state
        .store
        .find_external_ref(&merchant.id, DIALECT, &rrn)
        .await?
        .ok_or_else(not_found)?;
    let found = if reference.resource_kind == "refund" {
        let id = RefundId::from_i64(reference.resource_id).ok_or_else(not_found)?;
        let refund = state
            .store
            .find_refund(&merchant.id, id)
            .await?
            .ok_or_else(not_found)?;
        let sale_id = refund.payment_id.ok_or_else(not_found)?;
        let sale = state
            .store
            .find_payment(&merchant.id, sale_id)
            .await?
            .ok_or_else(not_found)?;
        // A refund made through TMF676 is described by its sale.
        let retail = wire::refund_attributes(&refund, &sale).ok_or_else(not_found)?;
        Found::Refund(refund, retail)
    } else {
        Found::Sale(
            find_sale(state, merchant, reference.resource_id)
                .await?
                .ok_or_else(not_found)?,
        )
    };
    let retail = match &found {
        Found::Sale(sale) => &sale.retail,
        Found::Refund(_, retail) => retail,
    };
    if retail.gateway != type_code || retail.store_code != store_code {
        return Err(not_found());
    }
    Ok(found)
}

pub(super) async fn find_sale(
    state: &AppState,
    merchant: &Merchant,
    payment_id: i64,
) -> Result<Option<FoundSale>, RetailError> {
    let Some(id) = PaymentId::from_i64(payment_id) else {
        return Ok(None);
    };
    let Some(payment) = state.store.find_payment(&merchant.id, id).await? else {
        return Ok(None);
    };
    let Some(gateway) = state.store.find_gateway_payment(id).await? else {
        return Ok(None);
    };
    let Some(retail) = RetailAttributes::from_document(payment.document.as_str()) else {
        return Ok(None);
    };
    Ok(Some(FoundSale {
        payment,
        gateway,
        retail,
    }))
}

/// The sale's `GwRefStatus`, counting its refunds.
pub(super) async fn sale_status(
    state: &AppState,
    sale: &FoundSale,
) -> Result<&'static str, RetailError> {
    let refunds = state
        .store
        .list_refunds(
            &sale.payment.merchant_id,
            &ListFilter {
                payment_ids: Some(vec![sale.payment.id.get()]),
                ..Default::default()
            },
            None,
        )
        .await?;
    Ok(wire::sale_status(
        sale.gateway.state,
        payhub_core::ledger::fully_refunded(&sale.payment, &refunds.items),
    ))
}

/// `POST /online/query`: a sale's (or refund's) current result.
pub async fn query(
    State(state): State<AppState>,
    SignedRequest { fields, merchant }: SignedRequest,
) -> Result<Json<Value>, RetailError> {
    match find(&state, &merchant, &fields).await? {
        Found::Sale(sale) => {
            let status = sale_status(&state, &sale).await?;
            Ok(Json(wire::sale_query_body(
                &sale.payment,
                &sale.gateway,
                &sale.retail,
                status,
            )))
        }
        Found::Refund(refund, retail) => refund_body(&state, &merchant, &refund, &retail)
            .await
            .map(Json),
    }
}

/// The answer describing a refund of a sale.
pub(super) async fn refund_body(
    state: &AppState,
    merchant: &Merchant,
    refund: &Refund,
    retail: &RetailAttributes,
) -> Result<Value, RetailError> {
    let sale_id = refund.payment_id.map(PaymentId::get).unwrap_or_default();
    let sale = find_sale(state, merchant, sale_id)
        .await?
        .ok_or(RetailError::Internal)?;
    let gw_refund = state.store.find_gateway_refund(refund.id).await?;
    Ok(wire::refund_query_body(
        refund,
        retail,
        &sale.gateway,
        gw_refund.as_ref().and_then(|r| r.gw_ref.as_deref()),
    ))
}

/// `POST /online/cancel`: closes a sale the customer has not paid.
pub async fn cancel(
    State(state): State<AppState>,
    SignedRequest { fields, merchant }: SignedRequest,
) -> Result<Json<Value>, RetailError> {
    let Found::Sale(sale) = find(&state, &merchant, &fields).await? else {
        return Err(RetailError::NotCancelable(
            "a refund cannot be canceled".into(),
        ));
    };
    flow::cancel(&state, &sale.gateway).await?;
    let sale = find_sale(&state, &merchant, sale.payment.id.get())
        .await?
        .ok_or(RetailError::Internal)?;
    let status = sale_status(&state, &sale).await?;
    Ok(Json(wire::sale_query_body(
        &sale.payment,
        &sale.gateway,
        &sale.retail,
        status,
    )))
}
