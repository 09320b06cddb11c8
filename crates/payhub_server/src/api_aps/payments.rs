//! `GET /aps/2/resources/{aps-id}/payments?paymentIds=1,2,3` (operation `payments`).
//!
//! Returns the `APSPayment` of each id that is a payment of this account, in
//! the order asked; any other id (unknown, another account's or another
//! merchant's) is left out, indistinguishably.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::Value;

use super::error::ApsError;
use super::request::parse_payment_ids;
use super::wire::load_aps_payment;
use super::{find_account, merchant_of};
use crate::state::AppState;

pub async fn payments(
    State(state): State<AppState>,
    Path(aps_id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApsError> {
    let merchant = merchant_of(&state, &headers).await?;
    let account = find_account(&state, &merchant, &aps_id).await?;
    let ids = parse_payment_ids(&payment_ids_parameter(query.as_deref())?)?;
    let rows = state.store.list_aps_payments(&account.aps_id, &ids).await?;
    let mut found = Vec::with_capacity(rows.len());
    for id in ids {
        let Some(row) = rows.iter().find(|r| r.payment_id.get() == id) else {
            continue;
        };
        if let Some(rendered) = load_aps_payment(state.store.as_ref(), &account, row).await? {
            found.push(rendered);
        }
    }
    Ok(Json(Value::Array(found)))
}

/// The one `paymentIds` query parameter.
fn payment_ids_parameter(query: Option<&str>) -> Result<String, ApsError> {
    let mut values = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(name, _)| name == "paymentIds")
        .map(|(_, value)| value.into_owned());
    let first = values.next().ok_or(ApsError::MissingField("paymentIds"))?;
    if values.next().is_some() {
        return Err(ApsError::InvalidPaymentIds(
            "give one paymentIds parameter with comma-separated ids".into(),
        ));
    }
    Ok(first)
}
