//! Where an operator's CAMARA Carrier Billing API sends its notifications
//! (the `sink` payhub gives with each payment):
//! `POST /carrier/camara/notifications/{payment}`.
//!
//! A notification is authenticated by the bearer token payhub put in that
//! payment's `sinkCredential` (it opens this one payment's sink only). Its
//! body is a CloudEvent naming the carrier's `paymentId`; payhub takes it
//! as the cue to ask the API how the payment stands, and applies the
//! answer, not the event. Errors use the CAMARA error model (`status`,
//! `code`, `message`), the `x-correlator` comes back as sent.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use payhub_app::carrier_billing::camara::SinkTokens;
use payhub_app::carrier_billing::reports::on_carrier_notice;
use payhub_app::AppError;
use payhub_core::PaymentId;
use serde_json::{json, Value};

use crate::state::AppState;

/// The route's path, for the router and its documentation.
pub const PATH: &str = "/carrier/camara/notifications/{payment}";

/// The CloudEvent types of the Carrier Billing API payhub listens to.
const EVENT_PREFIX: &str = "org.camaraproject.carrier-billing.";

pub fn router() -> Router<AppState> {
    Router::new().route(PATH, post(notification))
}

async fn notification(
    State(state): State<AppState>,
    Path(payment): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = match admit(&state, &payment, &headers, &body) {
        Ok((payment, reference)) => match on_carrier_notice(&state, payment, &reference).await {
            Ok(_) => StatusCode::NO_CONTENT.into_response(),
            Err(error) => refusal(error),
        },
        Err(NotAdmitted::Unauthenticated) => error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request not authenticated due to missing, invalid, or expired credentials.",
        ),
        Err(NotAdmitted::Invalid(message)) => {
            error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
        }
    };
    with_correlator(&headers, answer)
}

/// Why a notification is not taken.
enum NotAdmitted {
    /// No bearer token, or not this payment's sink's.
    Unauthenticated,
    /// Not a Carrier Billing CloudEvent: what is wrong.
    Invalid(&'static str),
}

/// The payment the path names and the carrier's `paymentId` in the event,
/// once the bearer token and the CloudEvent are checked.
fn admit(
    state: &AppState,
    payment: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(PaymentId, String), NotAdmitted> {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(NotAdmitted::Unauthenticated)?;
    let payment = payment
        .parse::<PaymentId>()
        .map_err(|_| NotAdmitted::Unauthenticated)?;
    if !SinkTokens::new(&state.master_key).admits(payment, presented.trim()) {
        tracing::warn!(payment.id = %payment, "a CAMARA notification with a token not this payment's");
        return Err(NotAdmitted::Unauthenticated);
    }
    let event: Value = serde_json::from_slice(body)
        .map_err(|_| NotAdmitted::Invalid("the body is not a JSON CloudEvent"))?;
    let reference = cloud_event_payment(&event).map_err(NotAdmitted::Invalid)?;
    tracing::info!(payment.id = %payment, carrier.reference = reference.as_str(), event.kind = event["type"].as_str().unwrap_or(""), "CAMARA notification");
    Ok((payment, reference))
}

/// The carrier's `paymentId` of a Carrier Billing CloudEvent, or what is
/// wrong with the event.
fn cloud_event_payment(event: &Value) -> Result<String, &'static str> {
    let text = |field: &str| event[field].as_str().filter(|v| !v.is_empty());
    if text("id").is_none() || text("source").is_none() || text("time").is_none() {
        return Err("id, source and time are required");
    }
    if text("specversion") != Some("1.0") {
        return Err("specversion must be 1.0");
    }
    if !text("type").is_some_and(|t| t.starts_with(EVENT_PREFIX)) {
        return Err("not a Carrier Billing event type");
    }
    event["data"]["paymentId"]
        .as_str()
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or("data.paymentId is required")
}

/// The answer to a notification not applied: the API sends it again after
/// a 5xx (the carrier silent, or payhub's own call about the payment under
/// way); a payment payhub does not know is 404.
fn refusal(outcome: AppError) -> Response {
    if let AppError::UnknownPayment(_) = outcome {
        return error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The specified resource is not found.",
        );
    }
    if !matches!(outcome, AppError::CarrierUnavailable | AppError::Busy) {
        tracing::error!(error = %outcome, "cannot apply a CAMARA notification now");
    }
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "UNAVAILABLE",
        "Service unavailable; send the notification again.",
    )
}

/// The CAMARA error model.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"status": status.as_u16(), "code": code, "message": message})),
    )
        .into_response()
}

/// Echoes the caller's `x-correlator` (when it is one the API allows).
fn with_correlator(headers: &HeaderMap, mut response: Response) -> Response {
    let allowed = |v: &&HeaderValue| {
        v.to_str().is_ok_and(|t| {
            t.len() <= 256
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_:;./<>{}".contains(&b))
        })
    };
    if let Some(correlator) = headers.get("x-correlator").filter(allowed) {
        response
            .headers_mut()
            .insert("x-correlator", correlator.clone());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Value {
        json!({
            "id": "ev-1", "source": "https://operator.example", "specversion": "1.0",
            "type": "org.camaraproject.carrier-billing.v0.payment-completed",
            "time": "2026-11-25T10:00:00Z",
            "data": {"paymentId": "pay-7", "status": "succeeded", "description": "done"},
        })
    }

    #[test]
    fn a_carrier_billing_cloud_event_names_the_carriers_payment() {
        assert_eq!(cloud_event_payment(&event()), Ok("pay-7".to_owned()));
        let broken: [(&str, Value); 6] = [
            ("id", json!("")),
            ("specversion", json!("0.3")),
            (
                "type",
                json!("org.camaraproject.device-location.v0.area-entered"),
            ),
            ("time", Value::Null),
            ("source", json!(1)),
            ("data", json!({"status": "succeeded"})),
        ];
        for (field, value) in broken {
            let mut event = event();
            event[field] = value;
            assert!(cloud_event_payment(&event).is_err(), "{field}");
        }
    }
}
