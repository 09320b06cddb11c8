//! `POST /online/sales`: a new sale, routed to its gateway, paid on the hosted page.

use axum::extract::State;
use axum::Json;
use chrono::DateTime;
use payhub_core::{Currency, Document, Money, NewPayment};
use serde_json::{json, Map, Value};

use super::error::RetailError;
use super::request::Fields;
use super::signature::SignedRequest;
use super::wire::RetailAttributes;
use super::DIALECT;
use crate::state::AppState;
use payhub_app::callback_policy::CallbackRefused;
use payhub_app::card::{find_card_data, find_card_data_in_members};
use payhub_app::gateways::flow::{self, NewGatewayPayment, StartOutcome};
use payhub_app::gateways::GatewayKind;
use payhub_app::lang::Lang;

/// The format of `txDateTime`: `yyyy-MM-dd'T'HH:mm:ssZ`, e.g. `2021-06-09T13:10:33+0800`.
const TX_DATE_TIME: &str = "%Y-%m-%dT%H:%M:%S%z";

/// A checked sale request.
struct Sale {
    gateway: GatewayKind,
    amount: Money,
    lang: Lang,
    subject: Option<String>,
    seller: Option<String>,
    return_url: Option<String>,
    webhook_url: Option<String>,
    retail: RetailAttributes,
}

pub async fn sales(
    State(state): State<AppState>,
    SignedRequest { fields, merchant }: SignedRequest,
) -> Result<Json<Value>, RetailError> {
    let sale = read_sale(&state, &fields, &merchant.gateways).await?;
    if state
        .store
        .find_external_ref(&merchant.id, DIALECT, &sale.retail.rrn)
        .await?
        .is_some()
    {
        return Err(RetailError::DuplicateRrn(sale.retail.rrn));
    }
    let new = NewGatewayPayment {
        payment: NewPayment {
            merchant_id: merchant.id.clone(),
            account_id: sale.retail.store_code.clone(),
            correlator_id: Some(sale.retail.rrn.clone()),
            total_amount: Some(sale.amount),
            amount_decimals: None,
            status: None,
            payment_date: None,
            document: tmf_document(&sale),
            origin: payhub_core::Origin::new(super::DIALECT),
        },
        gateway: sale.gateway,
        lang: sale.lang,
        subject: sale.subject.clone(),
        return_url: sale.return_url.clone(),
        webhook_url: sale.webhook_url.clone(),
        fail_url: None,
        reference: Some((DIALECT, sale.retail.rrn.clone())),
    };
    let (payment, outcome) = flow::start_payment(&state, new).await?;
    let gateway = state
        .store
        .find_gateway_payment(payment.id)
        .await?
        .ok_or(RetailError::Internal)?;
    let (error_code, error_message) = match outcome {
        StartOutcome::Ready => ("0", "success".to_owned()),
        StartOutcome::TimedOut => ("3", RetailError::GatewayTimeout.to_string()),
        StartOutcome::Declined => (
            "601",
            "payment error: the gateway refused the payment".to_owned(),
        ),
    };
    let payment_url = crate::page::payment_url(&state, payment.id);
    let timeout = (gateway.expires_at - chrono::Utc::now())
        .num_seconds()
        .max(0);
    Ok(Json(json!({
        "type": sale.retail.gateway,
        "rrn": sale.retail.rrn,
        "storeCode": sale.retail.store_code,
        "tillId": sale.retail.till_id,
        "tradeMode": "WEBSITE",
        "txDateTime": sale.retail.tx_date_time,
        "amt": sale.amount.amount_minor(),
        "additionalAmt": 0,
        "ccy": sale.amount.currency().code(),
        "lang": sale.retail.lang,
        "paymentUrl": payment_url,
        "gwRefCode": gateway.gw_ref.unwrap_or_default(),
        "gwErrorCode": gateway.gw_error_code.unwrap_or_default(),
        "gwErrorMessage": gateway.gw_error_message.unwrap_or_default(),
        "extendParam": sale.retail.extend_param,
        "timeout": timeout,
        "errorCode": error_code,
        "errorMessage": error_message,
    })))
}

/// Reads and checks every field of a sale, in the order of seed 003's table.
async fn read_sale(
    state: &AppState,
    fields: &Fields,
    enabled: &[String],
) -> Result<Sale, RetailError> {
    let type_code = fields.required("type")?;
    let gateway = GatewayKind::parse(&type_code)
        .filter(|kind| enabled.iter().any(|e| e == kind.code()))
        .ok_or_else(|| RetailError::UnsupportedType(type_code.clone()))?;
    let rrn = fields.reference("rrn", 64)?;
    let store_code = fields.reference("storeCode", 32)?;
    let till_id = fields.reference("tillId", 32)?;
    let salesman = fields.required("salesman")?;
    let tx_date_time = fields.required("txDateTime")?;
    DateTime::parse_from_str(&tx_date_time, TX_DATE_TIME).map_err(|_| {
        RetailError::InvalidField(
            "txDateTime",
            "expected yyyy-MM-dd'T'HH:mm:ssZ, e.g. 2021-06-09T13:10:33+0800".into(),
        )
    })?;
    let amt = fields.number("amt")?;
    let ccy = fields.required("ccy")?;
    let currency =
        Currency::parse(&ccy).map_err(|e| RetailError::InvalidField("ccy", e.to_string()))?;
    if gateway != GatewayKind::Test && currency.code() != "HKD" {
        return Err(RetailError::UnsupportedCurrency(ccy));
    }
    if amt <= 0 {
        return Err(RetailError::InvalidField(
            "amt",
            "must be at least 1 minor unit".into(),
        ));
    }
    let amount = Money::from_minor(amt, currency)
        .map_err(|e| RetailError::InvalidField("amt", e.to_string()))?;
    let lang = match fields.optional("lang")? {
        Some(code) => Lang::parse(&code).ok_or_else(|| {
            RetailError::InvalidField("lang", "expected zh_hk, zh_cn or en".into())
        })?,
        None => Lang::ZhHk,
    };
    let extend_param = fields.optional("extendParam")?.unwrap_or_default();
    let (subject, seller) = read_extend_param(&extend_param)?;
    let return_url = checked_url(state, "returnUrl", fields.optional("returnUrl")?).await?;
    let webhook_url = checked_url(state, "webhookUrl", fields.optional("webhookUrl")?).await?;
    Ok(Sale {
        gateway,
        amount,
        lang,
        subject,
        seller,
        return_url,
        webhook_url,
        retail: RetailAttributes {
            gateway: gateway.code().to_owned(),
            rrn,
            store_code,
            till_id,
            salesman,
            cashier: free_text(fields, "cashier")?,
            tx_date_time,
            lang: lang.code().to_owned(),
            extend_param,
            remarks: free_text(fields, "remarks")?,
            org_rrn: String::new(),
        },
    })
}

/// An optional free-text field, refused when it holds a full card number.
fn free_text(fields: &Fields, name: &'static str) -> Result<Option<String>, RetailError> {
    let text = fields.optional(name)?;
    match text
        .as_deref()
        .map(|t| find_card_data(&Value::String(t.to_owned()), name, &[]))
    {
        Some(Some(found)) => Err(RetailError::InvalidField(name, found.to_string())),
        _ => Ok(text),
    }
}

/// `extendParam` is a JSON object text with optional `subject` and `seller`.
fn read_extend_param(text: &str) -> Result<(Option<String>, Option<String>), RetailError> {
    if text.trim().is_empty() {
        return Ok((None, None));
    }
    let invalid = || {
        RetailError::InvalidField(
            "extendParam",
            r#"expected a JSON object text such as {"subject":"Water","seller":"Watsons HK"}"#
                .into(),
        )
    };
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        return Err(invalid());
    };
    // Kept as sent and echoed in answers and webhooks: never card data.
    if let Some(found) = find_card_data_in_members(&map, "extendParam", &[]) {
        return Err(RetailError::InvalidField("extendParam", found.to_string()));
    }
    let text_of = |name: &str| match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid()),
    };
    Ok((text_of("subject")?, text_of("seller")?))
}

/// Checks a merchant URL against the callback policy.
pub(super) async fn checked_url(
    state: &AppState,
    name: &'static str,
    url: Option<String>,
) -> Result<Option<String>, RetailError> {
    let Some(url) = url else {
        return Ok(None);
    };
    // payhub never fetches a returnUrl (the customer's browser does); a
    // webhookUrl it will call must resolve to a permitted address.
    let policy = &state.settings.callback_policy;
    let checked = if name == "returnUrl" {
        policy.check_redirect_url(&url).await
    } else {
        policy.check_url(&url).await
    };
    match checked {
        Ok(()) => Ok(Some(url)),
        Err(refused @ CallbackRefused::NotHttp(_)) => {
            Err(RetailError::InvalidField(name, refused.to_string()))
        }
        Err(refused) => Err(RetailError::UrlRefused(name, refused.to_string())),
    }
}

/// The sale as a TMF676 payment document: see docs/RETAIL.md for the mapping.
fn tmf_document(sale: &Sale) -> Document {
    let mut document = Map::new();
    document.insert("@type".into(), json!("Payment"));
    document.insert("correlatorId".into(), json!(sale.retail.rrn));
    if let Some(subject) = &sale.subject {
        document.insert("description".into(), json!(subject));
    }
    if let Some(seller) = &sale.seller {
        document.insert("name".into(), json!(seller));
    }
    document.insert("account".into(), json!({"id": sale.retail.store_code}));
    document.insert(
        "channel".into(),
        json!({"id": sale.retail.store_code, "name": format!("till {}", sale.retail.till_id)}),
    );
    document.insert(
        "paymentMethod".into(),
        json!({"@type": sale.gateway.code(), "name": sale.gateway.description()}),
    );
    document.insert("totalAmount".into(), payhub_app::money_json::amount_slot());
    document.insert(
        "retail".into(),
        serde_json::to_value(&sale.retail).unwrap_or(Value::Null),
    );
    Document::new(Value::Object(document).to_string())
}
