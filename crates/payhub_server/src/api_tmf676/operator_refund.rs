//! The console's refunds, made through TMF676's `POST /refund` as the
//! payment's merchant: the composition root hands [`ConsoleRefunds`] to the
//! console, so an operator's refund follows exactly the rules, routing,
//! events and idempotency of an API client's.

use std::str::FromStr;

use axum::body::{to_bytes, Bytes};
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::IntoResponse;
use payhub_core::Payment;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::console::actions::OperatorRefunds;
use crate::console::error::ConsoleError;
use crate::state::AppState;

/// The largest TMF error body read back for its message.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Console refunds through TMF676.
pub struct ConsoleRefunds;

#[async_trait::async_trait]
impl OperatorRefunds for ConsoleRefunds {
    async fn refund(
        &self,
        state: &AppState,
        payment: &Payment,
        amount: &str,
        key: &str,
        operator: &str,
    ) -> Result<Option<Result<(), (StatusCode, String)>>, ConsoleError> {
        let Some(body) = refund_body(payment, amount, operator) else {
            return Ok(None);
        };
        refund_through_tmf(state, payment, key, body)
            .await
            .map(Some)
    }
}

/// The `Refund_Create` body of a refund of `amount` of `payment`; `None`
/// when `amount` is not a decimal number.
fn refund_body(payment: &Payment, amount: &str, operator: &str) -> Option<Value> {
    let currency = payment.total_amount?.currency();
    let decimal = Decimal::from_str(amount.trim()).ok()?;
    let value = decimal.to_string().parse::<serde_json::Number>().ok()?;
    let document: Value = serde_json::from_str(payment.document.as_str()).unwrap_or(Value::Null);
    let method = document
        .get("paymentMethod")
        .filter(|m| m.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}));
    Some(json!({
        "payment": {"id": payment.id.to_string()},
        "account": {"id": payment.account_id},
        "paymentMethod": method,
        "totalAmount": {"unit": currency.code(), "value": value},
        "description": format!("refund by console operator {operator}"),
    }))
}

/// Posts `body` to TMF676's refund handler as the payment's merchant.
/// `Err((status, message))` when TMF676 refused it.
async fn refund_through_tmf(
    state: &AppState,
    payment: &Payment,
    key: &str,
    body: Value,
) -> Result<Result<(), (StatusCode, String)>, ConsoleError> {
    let merchant = state
        .store
        .find_merchant(&payment.merchant_id)
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("no merchant {}", payment.merchant_id)))?;
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(key) {
        if !key.is_empty() {
            headers.insert(crate::idempotency::HEADER, value);
        }
    }
    let uri: Uri = format!("{}/refund", super::BASE_PATH)
        .parse()
        .map_err(|e| ConsoleError::Internal(anyhow::anyhow!("refund path: {e}")))?;
    let response = super::create_refund(
        State(state.clone()),
        super::extract::TmfMerchant(merchant),
        headers,
        OriginalUri(uri),
        Ok(Bytes::from(body.to_string())),
    )
    .await
    .into_response();
    if response.status().is_success() {
        return Ok(Ok(()));
    }
    let status = response.status();
    let bytes = to_bytes(response.into_body(), ERROR_BODY_LIMIT)
        .await
        .unwrap_or_default();
    let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let message = answer["message"]
        .as_str()
        .unwrap_or("the refund was not accepted")
        .to_owned();
    Ok(Err((status, message)))
}
