//! APS answers out: `APSPayment`, `APSPaymentCreationResult`, the TMF676
//! document of an APS payment, and the result appended to callback URLs.

use payhub_core::credit::CreditSplit;
use payhub_core::{Money, Outcome, Payment, PaymentId, Status};
use payhub_store::{
    ApsAccount, ApsPayment, ApsPaymentMethod, GatewayPayment, MethodKind, Store, StoreError,
};
use serde_json::{json, Map, Value};

use super::request::PayRequest;
use crate::http::time::format_time;

/// A money amount as a JSON number with its exact decimal text (`10.50`).
pub fn number(amount: Money) -> Value {
    payhub_app::money_json::amount_number(amount)
}

/// The APS status of a ledger status: `SUCCESS` once paid, `FAILED` when it
/// ended unpaid, `IN_PROGRESS` until then.
pub fn aps_status(status: Status) -> &'static str {
    match status.outcome() {
        Outcome::Succeeded => "SUCCESS",
        Outcome::Pending => "IN_PROGRESS",
        Outcome::Failed => "FAILED",
    }
}

/// `paymentType`: `CREDIT` when credit covered it all; the card's brand in
/// capitals (`VISA`, `MASTERCARD`, …) once a card is known, `CARD` before;
/// `WALLET` for a stored wallet.
fn payment_type(
    aps: &ApsPayment,
    gateway: Option<&GatewayPayment>,
    method: Option<&ApsPaymentMethod>,
) -> String {
    if aps.method_minor == 0 {
        return "CREDIT".into();
    }
    if method.is_some_and(|m| m.kind == MethodKind::Wallet) {
        return "WALLET".into();
    }
    match gateway.and_then(|g| g.card.as_ref()) {
        Some(card) if !card.brand.is_empty() => card.brand.to_uppercase().replace(' ', "_"),
        _ => "CARD".into(),
    }
}

/// Renders an `APSPayment`.
pub fn aps_payment(
    account: &ApsAccount,
    payment: &Payment,
    aps: &ApsPayment,
    gateway: Option<&GatewayPayment>,
    method: Option<&ApsPaymentMethod>,
) -> Value {
    let mut out = Map::new();
    out.insert("accountId".into(), json!(account.account_id));
    out.insert("paymentId".into(), json!(payment.id.get()));
    out.insert("currency".into(), json!(account.currency.code()));
    out.insert(
        "paymentType".into(),
        json!(payment_type(aps, gateway, method)),
    );
    if let Some(card) = gateway.and_then(|g| g.card.as_ref()) {
        out.insert(
            "tokenizedCardNumber".into(),
            json!(format!("{}******{}", card.first6, card.last4)),
        );
    }
    if let Some(gw_ref) = gateway.and_then(|g| g.gw_ref.as_ref()) {
        out.insert("transactionNumber".into(), json!(gw_ref));
    }
    if payment.status == Status::Captured {
        out.insert(
            "authorizationDate".into(),
            json!(format_time(payment.status_date)),
        );
    }
    if let Some(total) = payment.total_amount {
        out.insert("amount".into(), number(total));
    }
    out.insert("status".into(), json!(aps_status(payment.status)));
    Value::Object(out)
}

/// Loads and renders one APS payment of `account`; `None` when the id is not
/// an APS payment of this account and merchant.
pub async fn load_aps_payment(
    store: &dyn Store,
    account: &ApsAccount,
    aps: &ApsPayment,
) -> Result<Option<Value>, StoreError> {
    if aps.aps_id != account.aps_id || aps.merchant_id != account.merchant_id {
        return Ok(None);
    }
    let Some(payment) = store
        .find_payment(&account.merchant_id, aps.payment_id)
        .await?
    else {
        return Ok(None);
    };
    let gateway = store.find_gateway_payment(aps.payment_id).await?;
    let method = match aps.payment_method_id {
        Some(id) => store.find_aps_payment_method(id).await?,
        None => None,
    };
    Ok(Some(aps_payment(
        account,
        &payment,
        aps,
        gateway.as_ref(),
        method.as_ref(),
    )))
}

/// Renders an `APSPaymentCreationResult`; `redirect` is the hosted page when
/// the customer must act. `modalForm` is never sent (see docs/APS.md).
pub fn creation_result(payment_id: PaymentId, redirect: Option<String>) -> Value {
    let mut out = json!({"paymentId": payment_id.get()});
    if let Some(url) = redirect {
        out["redirectData"] = json!({
            "redirectURL": url,
            "method": "GET",
            "postArguments": [],
            "message": "Redirect the customer to this page to pay the rest by card.",
        });
    }
    out
}

/// The TMF676 document of an APS payment (see docs/APS.md for the mapping).
pub fn tmf_document(
    account: &ApsAccount,
    payment_id: PaymentId,
    request: &PayRequest,
    split: &CreditSplit,
    method: Option<&ApsPaymentMethod>,
    gateway_code: &str,
) -> String {
    let payment_method = if split.covered_by_credit() {
        json!({"@type": "CREDIT", "name": "Available credit"})
    } else {
        match method {
            Some(m) => {
                json!({"@type": gateway_code, "id": m.id.to_string(), "name": format!("stored {}", m.kind.as_str())})
            }
            None => json!({"@type": gateway_code, "name": "hosted card page"}),
        }
    };
    let aps = json!({
        "apsId": account.aps_id,
        "accountId": account.account_id,
        "useAvailableCredit": request.use_available_credit,
        "creditAmount": number(split.credit),
        "methodAmount": number(split.rest),
        "paymentMethodId": request.payment_method_id,
        "paymentContext": Value::Object(request.context.clone()),
        "documents": request.documents,
    });
    json!({
        "@type": "Payment",
        "correlatorId": payment_id.to_string(),
        "description": "APS payment",
        "account": {"id": account.account_id, "@referredType": "CustomerAccount"},
        "paymentMethod": payment_method,
        "totalAmount": payhub_app::money_json::amount_slot(),
        "aps": aps,
    })
    .to_string()
}

/// The result appended to `callbackUrlOk` / `callbackUrlFail` when the hosted
/// page is done with an APS payment: `paymentId` and `status`.
pub fn callback_parameters(payment: &Payment) -> Vec<(&'static str, String)> {
    vec![
        ("paymentId", payment.id.to_string()),
        ("status", aps_status(payment.status).to_owned()),
    ]
}
