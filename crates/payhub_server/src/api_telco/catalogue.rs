//! A calling service's product catalogue: `GET /pgw/catalogue` lists it,
//! `PUT /pgw/catalogue/{productId}` with `{"name", "unitPrice": {"unit", "value"}}`
//! adds or replaces a product. Operators have the same through `payhub catalogue`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use payhub_core::{Currency, Money};
use payhub_store::TelcoProduct;
use serde_json::{json, Value};

use super::result::TelcoError;
use super::service::authenticate;
use crate::state::AppState;
use payhub_app::money_json::money_json;

/// A product as JSON.
pub fn render(product: &TelcoProduct) -> Value {
    json!({
        "id": product.product_id,
        "name": product.name,
        "unitPrice": money_json(product.unit_price),
    })
}

pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let result = async {
        let merchant = authenticate(&state, &headers).await?;
        Ok::<_, TelcoError>(state.store.list_telco_products(&merchant.id).await?)
    }
    .await;
    match result {
        Ok(products) => Json(Value::Array(products.iter().map(render).collect())).into_response(),
        Err(error) => error.answer(""),
    }
}

/// Reads a product's name and exact price (`value` a JSON number or a decimal string).
pub fn parse_product(body: &[u8]) -> Result<(String, Money), TelcoError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| TelcoError::InvalidRequest(format!("the body is not JSON: {e}")))?;
    let name = match value.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => s.clone(),
        Some(_) => {
            return Err(TelcoError::InvalidField(
                "name",
                "must be 1 to 200 characters".into(),
            ))
        }
        None => return Err(TelcoError::MissingField("name")),
    };
    let price = value
        .get("unitPrice")
        .ok_or(TelcoError::MissingField("unitPrice"))?;
    let unit = match price.get("unit") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(TelcoError::MissingField("unitPrice.unit")),
    };
    let currency = Currency::parse(&unit)
        .map_err(|e| TelcoError::InvalidField("unitPrice.unit", e.to_string()))?;
    let text = match price.get("value") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => return Err(TelcoError::MissingField("unitPrice.value")),
    };
    let money = Money::parse_decimal(&text, currency)
        .map_err(|e| TelcoError::InvalidField("unitPrice.value", e.to_string()))?;
    Ok((name, money))
}

pub async fn put(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(product_id): Path<String>,
    body: Bytes,
) -> Response {
    let result = async {
        let merchant = authenticate(&state, &headers).await?;
        let valid_id = !product_id.is_empty()
            && product_id.len() <= 64
            && product_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !valid_id {
            return Err(TelcoError::InvalidField(
                "productId",
                "must be up to 64 letters, digits, '_', '-' or '.'".into(),
            ));
        }
        let (name, unit_price) = parse_product(&body)?;
        let product = TelcoProduct {
            merchant_id: merchant.id.clone(),
            product_id,
            name,
            unit_price,
        };
        state
            .store
            .upsert_telco_product(&product, Utc::now())
            .await?;
        Ok(product)
    }
    .await;
    match result {
        Ok(product) => (StatusCode::OK, Json(render(&product))).into_response(),
        Err(error) => error.answer(""),
    }
}
