//! Stripe's JSON objects as payhub reads them, and what their states mean
//! to payhub (API version [`super::API_VERSION`], docs.stripe.com/api:
//! "The PaymentIntent object", "The Refund object", "Errors", "The Event object").

use std::collections::BTreeMap;

use payhub_core::{GatewayState, RefundState};
use serde::Deserialize;

use crate::gateways::connector::GatewayReport;

/// The metadata key naming payhub's payment on a PaymentIntent.
pub const PAYMENT_ID_KEY: &str = "payhub_payment_id";
/// The metadata key naming payhub's refund on a Refund.
pub const REFUND_ID_KEY: &str = "payhub_refund_id";
/// The metadata key saying how the PaymentIntent was paid (`card_form` or
/// `off_session`): a failed off-session charge has nobody to try another card.
pub const FLOW_KEY: &str = "payhub_flow";
pub const OFF_SESSION_FLOW: &str = "off_session";
/// The metadata key naming payhub's customer (an APS account) on a Customer.
pub const CUSTOMER_REF_KEY: &str = "payhub_customer";
/// The metadata key with the unix second after which payhub gives up on
/// the customer (Stripe's PaymentIntents never expire by themselves).
pub const EXPIRES_KEY: &str = "payhub_expires_at";

/// A PaymentIntent, with the fields payhub reads.
#[derive(Clone, Debug, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub last_payment_error: Option<ErrorObject>,
    #[serde(default)]
    pub next_action: Option<NextAction>,
    #[serde(default)]
    pub cancellation_reason: Option<String>,
    /// The Customer the PaymentIntent is for (`cus_…`), when it has one.
    #[serde(default)]
    pub customer: Option<String>,
    /// The PaymentMethod it was (last) confirmed with (`pm_…`).
    #[serde(default)]
    pub payment_method: Option<String>,
    /// `off_session` when the card is saved for charges without the
    /// customer (Stripe attaches it to `customer` once the payment succeeded).
    #[serde(default)]
    pub setup_future_usage: Option<String>,
}

/// A Customer: only its id is read.
#[derive(Clone, Debug, Deserialize)]
pub struct Customer {
    pub id: String,
}

/// What the customer must do next (`next_action`).
#[derive(Clone, Debug, Deserialize)]
pub struct NextAction {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub redirect_to_url: Option<RedirectToUrl>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RedirectToUrl {
    pub url: String,
}

/// Stripe's error object, in an error answer or as `last_payment_error`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ErrorObject {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub decline_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    /// On a card error from a confirm: the PaymentIntent after it.
    #[serde(default)]
    pub payment_intent: Option<Box<PaymentIntent>>,
}

impl ErrorObject {
    /// The most specific code: the issuer's `decline_code`, else `code`,
    /// else the error's type.
    pub fn best_code(&self) -> String {
        self.decline_code
            .clone()
            .or_else(|| self.code.clone())
            .unwrap_or_else(|| self.kind.clone())
    }

    pub fn text(&self) -> String {
        self.message.clone().unwrap_or_default()
    }
}

/// An error answer: `{"error": {...}}`.
#[derive(Clone, Debug, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorObject,
}

/// A Refund, with the fields payhub reads.
#[derive(Clone, Debug, Deserialize)]
pub struct Refund {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// A list answer (`{"object":"list"|"search_result","data":[...]}`).
#[derive(Clone, Debug, Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
}

/// An Event as POSTed to a webhook endpoint.
#[derive(Clone, Debug, Deserialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: String,
    pub data: EventData,
}

#[derive(Clone, Debug, Deserialize)]
pub struct EventData {
    pub object: serde_json::Value,
}

/// Why payhub is reading a PaymentIntent, which decides what a failed
/// payment attempt means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// The answer to payhub's own attempt (a card, a challenge, an
    /// off-session charge): a failed attempt is a decline of that attempt.
    Attempt,
    /// A query or a notification: a failed attempt leaves the PaymentIntent
    /// open for another card, unless nobody is there to give one.
    Observation,
}

/// The payment state a PaymentIntent status means to payhub.
///
/// | Stripe `status` | payhub |
/// |---|---|
/// | `requires_payment_method`, no `last_payment_error` | `AwaitingCustomer` |
/// | `requires_payment_method` with `last_payment_error`, an attempt or off-session | `Declined` |
/// | `requires_payment_method` with `last_payment_error`, observed | `AwaitingCustomer` |
/// | `requires_confirmation` | `AwaitingCustomer` |
/// | `requires_action` | `Challenge` (off-session: `Declined`, nobody can authenticate) |
/// | `processing`, `requires_capture`, anything new | `Unknown` (asked again) |
/// | `succeeded` | `Succeeded` |
/// | `canceled` | `Canceled` |
pub fn payment_state(
    status: &str,
    failed_attempt: bool,
    off_session: bool,
    reading: Reading,
) -> GatewayState {
    match status {
        "succeeded" => GatewayState::Succeeded,
        "canceled" => GatewayState::Canceled,
        "requires_payment_method"
            if failed_attempt && (off_session || reading == Reading::Attempt) =>
        {
            GatewayState::Declined
        }
        "requires_payment_method" | "requires_confirmation" => GatewayState::AwaitingCustomer,
        "requires_action" if off_session => GatewayState::Declined,
        "requires_action" => GatewayState::Challenge,
        _ => GatewayState::Unknown,
    }
}

/// The refund state a Refund status means to payhub.
///
/// | Stripe `status` | payhub |
/// |---|---|
/// | `succeeded` | `Succeeded` |
/// | `failed`, `canceled` | `Declined` |
/// | `pending`, `requires_action`, anything new | `Unknown` (asked again) |
pub fn refund_state(status: &str) -> RefundState {
    match status {
        "succeeded" => RefundState::Succeeded,
        "failed" | "canceled" => RefundState::Declined,
        _ => RefundState::Unknown,
    }
}

impl PaymentIntent {
    pub fn is_off_session(&self) -> bool {
        self.metadata.get(FLOW_KEY).map(String::as_str) == Some(OFF_SESSION_FLOW)
    }

    /// The unix second after which payhub gives up on the customer.
    pub fn expires_at(&self) -> Option<i64> {
        self.metadata.get(EXPIRES_KEY)?.parse().ok()
    }

    /// The saved card's reference, `cus_…/pm_…`, once a PaymentIntent set
    /// up for later off-session use (`setup_future_usage=off_session`, for a
    /// Customer) succeeded: Stripe then has the PaymentMethod attached to
    /// the Customer ("setup_future_usage": "…attach the payment method to
    /// the Customer after the PaymentIntent is confirmed and the customer
    /// completes any required actions"). What a later off-session charge
    /// sends as `customer` and `payment_method`.
    pub fn saved_method(&self) -> Option<String> {
        if self.status != "succeeded" || self.setup_future_usage.as_deref() != Some("off_session") {
            return None;
        }
        match (&self.customer, &self.payment_method) {
            (Some(customer), Some(method))
                if customer.starts_with("cus_") && method.starts_with("pm_") =>
            {
                Some(format!("{customer}/{method}"))
            }
            _ => None,
        }
    }

    /// What this PaymentIntent tells payhub.
    pub fn report(&self, reading: Reading) -> GatewayReport {
        let state = payment_state(
            &self.status,
            self.last_payment_error.is_some(),
            self.is_off_session(),
            reading,
        );
        let redirect = self
            .next_action
            .as_ref()
            .and_then(|action| action.redirect_to_url.as_ref())
            .map(|redirect| redirect.url.clone());
        let code = match (&self.last_payment_error, self.status.as_str()) {
            (_, "succeeded") => Some(("succeeded".to_owned(), "the payment succeeded".to_owned())),
            (_, "canceled") => Some((
                "canceled".to_owned(),
                self.cancellation_reason
                    .clone()
                    .unwrap_or_else(|| "canceled".to_owned()),
            )),
            (Some(error), _) => Some((error.best_code(), error.text())),
            (None, "requires_action") if state == GatewayState::Declined => Some((
                "authentication_required".to_owned(),
                "the issuer asks for authentication and the customer is not present".to_owned(),
            )),
            _ => None,
        };
        GatewayReport {
            saved_method: self.saved_method(),
            gw_ref: Some(self.id.clone()),
            state,
            qr_content: if state == GatewayState::Challenge {
                redirect
            } else {
                None
            },
            code,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use GatewayState::*;
    use Reading::*;

    #[test]
    fn payment_states_map_as_documented() {
        // (status, failed attempt, off-session, reading, payhub state)
        let table = [
            (
                "requires_payment_method",
                false,
                false,
                Attempt,
                AwaitingCustomer,
            ),
            (
                "requires_payment_method",
                false,
                false,
                Observation,
                AwaitingCustomer,
            ),
            ("requires_payment_method", true, false, Attempt, Declined),
            (
                "requires_payment_method",
                true,
                false,
                Observation,
                AwaitingCustomer,
            ),
            ("requires_payment_method", true, true, Observation, Declined),
            (
                "requires_confirmation",
                false,
                false,
                Observation,
                AwaitingCustomer,
            ),
            ("requires_action", false, false, Attempt, Challenge),
            ("requires_action", false, false, Observation, Challenge),
            ("requires_action", false, true, Attempt, Declined),
            ("processing", false, false, Observation, Unknown),
            ("requires_capture", false, false, Observation, Unknown),
            ("succeeded", false, false, Observation, Succeeded),
            ("succeeded", true, false, Attempt, Succeeded),
            ("canceled", false, false, Observation, Canceled),
            ("some_future_status", false, false, Observation, Unknown),
        ];
        for (status, failed, off_session, reading, state) in table {
            assert_eq!(
                payment_state(status, failed, off_session, reading),
                state,
                "{status} failed={failed} off_session={off_session} {reading:?}"
            );
        }
    }

    #[test]
    fn refund_states_map_as_documented() {
        let table = [
            ("succeeded", RefundState::Succeeded),
            ("failed", RefundState::Declined),
            ("canceled", RefundState::Declined),
            ("pending", RefundState::Unknown),
            ("requires_action", RefundState::Unknown),
        ];
        for (status, state) in table {
            assert_eq!(refund_state(status), state, "{status}");
        }
    }

    #[test]
    fn a_decline_keeps_the_issuers_code_and_a_challenge_its_url() {
        let declined: PaymentIntent = serde_json::from_value(serde_json::json!({
            "id": "pi_1", "object": "payment_intent", "status": "requires_payment_method",
            "metadata": {},
            "last_payment_error": {"type": "card_error", "code": "card_declined",
                "decline_code": "insufficient_funds", "message": "Your card has insufficient funds."}
        }))
        .unwrap();
        let report = declined.report(Attempt);
        assert_eq!(report.state, Declined);
        assert_eq!(
            report.code,
            Some((
                "insufficient_funds".into(),
                "Your card has insufficient funds.".into()
            ))
        );
        let challenged: PaymentIntent = serde_json::from_value(serde_json::json!({
            "id": "pi_2", "status": "requires_action",
            "next_action": {"type": "redirect_to_url",
                "redirect_to_url": {"url": "https://hooks.stripe.com/3d_secure/x", "return_url": "https://payhub/r"}}
        }))
        .unwrap();
        let report = challenged.report(Attempt);
        assert_eq!(report.state, Challenge);
        assert_eq!(
            report.qr_content.as_deref(),
            Some("https://hooks.stripe.com/3d_secure/x")
        );
        assert_eq!(report.gw_ref.as_deref(), Some("pi_2"));
    }

    #[test]
    fn only_a_succeeded_payment_set_up_for_later_names_its_saved_card() {
        let intent =
            |status: &str, usage: Option<&str>, customer: Option<&str>, method: Option<&str>| {
                serde_json::from_value::<PaymentIntent>(serde_json::json!({
                    "id": "pi_1", "status": status, "setup_future_usage": usage,
                    "customer": customer, "payment_method": method,
                }))
                .unwrap()
            };
        // (status, setup_future_usage, customer, payment_method, saved)
        let table = [
            (
                "succeeded",
                Some("off_session"),
                Some("cus_1"),
                Some("pm_2"),
                Some("cus_1/pm_2"),
            ),
            (
                "succeeded",
                Some("on_session"),
                Some("cus_1"),
                Some("pm_2"),
                None,
            ),
            ("succeeded", None, Some("cus_1"), Some("pm_2"), None),
            ("succeeded", Some("off_session"), None, Some("pm_2"), None),
            ("succeeded", Some("off_session"), Some("cus_1"), None, None),
            (
                "requires_action",
                Some("off_session"),
                Some("cus_1"),
                Some("pm_2"),
                None,
            ),
            (
                "requires_payment_method",
                Some("off_session"),
                Some("cus_1"),
                Some("pm_2"),
                None,
            ),
        ];
        for (status, usage, customer, method, want) in table {
            let read = intent(status, usage, customer, method);
            assert_eq!(
                read.saved_method().as_deref(),
                want,
                "{status} {usage:?} {customer:?} {method:?}"
            );
            assert_eq!(read.report(Attempt).saved_method.as_deref(), want);
        }
    }
}
