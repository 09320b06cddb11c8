//! The [`Connector`] operations on Stripe's PaymentIntents and Refunds.

use async_trait::async_trait;
use chrono::Utc;
use payhub_core::{GatewayState, PaymentId};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use secrecy::ExposeSecret;

use super::amount::to_stripe;
use super::client::{CallError, Form};
use super::wire::{
    Customer, List, PaymentIntent, Reading, Refund, CUSTOMER_REF_KEY, EXPIRES_KEY, FLOW_KEY,
    OFF_SESSION_FLOW, PAYMENT_ID_KEY, REFUND_ID_KEY,
};
use super::{customer_key, payment_key, refund_key, webhook, wire, CustomerStep, StripeConnector};
use crate::card::CardInput;
use crate::gateways::connector::{
    GatewayError, GatewayRef, GatewayReport, Notification, RefundRef, RefundReport, RefundRequest,
    StartRequest, Started, StoredMethod,
};
use crate::gateways::{Connector, GatewayKind};

const PAYMENT_INTENTS: &str = "/v1/payment_intents";
const CUSTOMERS: &str = "/v1/customers";

fn pair(key: &str, value: impl Into<String>) -> (String, String) {
    (key.to_owned(), value.into())
}

fn amount_refused(error: super::amount::AmountError) -> GatewayError {
    GatewayError::Rejected {
        code: "amount_not_supported".into(),
        message: error.to_string(),
    }
}

/// A stored method's token as Stripe's `customer` and `payment_method`:
/// `cus_…/pm_…` for a PaymentMethod attached to a Customer (what Stripe
/// requires to reuse one), or a bare `pm_…`.
fn stored_method(token: &str) -> (Option<&str>, &str) {
    match token.split_once('/') {
        Some((customer, method)) if customer.starts_with("cus_") => (Some(customer), method),
        _ => (None, token),
    }
}

impl StripeConnector {
    /// The PaymentIntent create for `request`; with `method`, an off-session
    /// charge of it, confirmed at once.
    fn create_form(
        &self,
        request: &StartRequest,
        method: Option<&StoredMethod>,
    ) -> Result<Form, GatewayError> {
        let (amount, currency) = to_stripe(request.amount).map_err(amount_refused)?;
        let mut form = vec![
            pair("amount", amount.to_string()),
            pair("currency", currency),
            pair("payment_method_types[]", "card"),
            pair(
                &format!("metadata[{PAYMENT_ID_KEY}]"),
                request.payment_id.to_string(),
            ),
            pair(
                &format!("metadata[{EXPIRES_KEY}]"),
                request.expires_at.timestamp().to_string(),
            ),
        ];
        if let Some(subject) = request.subject.as_deref().filter(|s| !s.is_empty()) {
            form.push(pair("description", subject));
        }
        if request.save_card.is_some() && method.is_none() {
            // The card the customer enters is kept at Stripe, attached to
            // the Customer (added by `create`) once the payment succeeds.
            form.push(pair("setup_future_usage", "off_session"));
        }
        if let Some(method) = method {
            let (customer, payment_method) = stored_method(&method.token);
            form.push(pair(&format!("metadata[{FLOW_KEY}]"), OFF_SESSION_FLOW));
            form.push(pair("payment_method", payment_method));
            if let Some(customer) = customer {
                form.push(pair("customer", customer));
            }
            form.push(pair("confirm", "true"));
            form.push(pair("off_session", "true"));
        } else {
            form.push(pair(&format!("metadata[{FLOW_KEY}]"), "card_form"));
        }
        Ok(form)
    }

    /// The Customer step of a start that saves its card: reuse the Customer
    /// of a card saved earlier at this account, else create one (one per
    /// payhub customer: its `Idempotency-Key` is payhub's customer reference,
    /// so a retry or a second card within Stripe's 24 hours is the same
    /// Customer).
    fn customer_step(request: &StartRequest) -> Option<CustomerStep> {
        let save = request.save_card.as_ref()?;
        if let Some((Some(customer), _)) = save.earlier.as_deref().map(stored_method) {
            return Some(CustomerStep::Existing(customer.to_owned()));
        }
        Some(CustomerStep::Create {
            form: vec![
                pair(
                    &format!("metadata[{CUSTOMER_REF_KEY}]"),
                    save.customer_ref.clone(),
                ),
                pair(
                    "description",
                    format!("payhub customer {}", save.customer_ref),
                ),
            ],
            key: customer_key(&save.customer_ref),
        })
    }

    /// Sends a create (after its Customer step, when it saves the card);
    /// kept for a replay while its answer is unknown.
    async fn create(
        &self,
        payment_id: PaymentId,
        form: &Form,
        customer: Option<&CustomerStep>,
    ) -> Result<PaymentIntent, CallError> {
        self.remember_create(payment_id, form, customer);
        let answer = self.send_create(payment_id, form, customer).await;
        if !matches!(answer, Err(CallError::NoAnswer)) {
            self.forget_create(payment_id);
        }
        answer
    }

    async fn send_create(
        &self,
        payment_id: PaymentId,
        form: &Form,
        customer: Option<&CustomerStep>,
    ) -> Result<PaymentIntent, CallError> {
        let mut form = form.clone();
        match customer {
            None => {}
            Some(CustomerStep::Existing(id)) => form.push(pair("customer", id.clone())),
            Some(CustomerStep::Create { form: fields, key }) => {
                let made: Customer = self.api.post(CUSTOMERS, fields, Some(key)).await?;
                form.push(pair("customer", made.id));
            }
        }
        self.api
            .post(PAYMENT_INTENTS, &form, Some(&payment_key(payment_id)))
            .await
    }

    /// The PaymentIntent of `payment`: by its id when payhub has it; else
    /// the lost create replayed under its key (Stripe answers its first
    /// result again); else Stripe's search by payhub's id in the metadata.
    async fn locate(&self, payment: &GatewayRef) -> Result<PaymentIntent, GatewayError> {
        if let Some(id) = &payment.gw_ref {
            return self
                .api
                .get(&format!("{PAYMENT_INTENTS}/{id}"), &Vec::new())
                .await
                .map_err(CallError::into_gateway_error);
        }
        if let Some((form, customer)) = self.replayable_create(payment.payment_id) {
            match self
                .create(payment.payment_id, &form, customer.as_ref())
                .await
            {
                Ok(intent) => return Ok(intent),
                // A replayed off-session charge answers its saved decline.
                Err(CallError::Api { error, .. }) if error.payment_intent.is_some() => {
                    if let Some(intent) = error.payment_intent {
                        return Ok(*intent);
                    }
                }
                Err(CallError::NoAnswer) => return Err(GatewayError::Timeout),
                Err(CallError::Api { .. }) => {}
            }
        }
        let query = vec![pair(
            "query",
            format!("metadata['{PAYMENT_ID_KEY}']:'{}'", payment.payment_id),
        )];
        let found: List<PaymentIntent> = self
            .api
            .get(&format!("{PAYMENT_INTENTS}/search"), &query)
            .await
            .map_err(CallError::into_gateway_error)?;
        // Search lags creates by up to a minute, so "none" proves nothing:
        // the outcome stays unknown and the checker asks again.
        found.data.into_iter().next().ok_or(GatewayError::Timeout)
    }

    /// The id of `payment`'s PaymentIntent.
    async fn intent_id(&self, payment: &GatewayRef) -> Result<String, GatewayError> {
        match &payment.gw_ref {
            Some(id) => Ok(id.clone()),
            None => self.locate(payment).await.map(|intent| intent.id),
        }
    }

    /// The answer to one of payhub's own attempts (a confirm, an
    /// off-session create): a card error is that attempt's decline, not a
    /// refusal of the call.
    fn attempt_answer(
        &self,
        gw_ref: Option<&str>,
        answer: Result<PaymentIntent, CallError>,
    ) -> Result<GatewayReport, GatewayError> {
        match answer {
            Ok(intent) => Ok(intent.report(Reading::Attempt)),
            Err(CallError::Api { status, error }) if status == StatusCode::PAYMENT_REQUIRED => {
                let code = Some((error.best_code(), error.text()));
                Ok(match error.payment_intent {
                    Some(intent) => GatewayReport {
                        state: GatewayState::Declined,
                        code,
                        ..intent.report(Reading::Attempt)
                    },
                    None => GatewayReport {
                        saved_method: None,
                        gw_ref: gw_ref.map(str::to_owned),
                        state: GatewayState::Declined,
                        qr_content: None,
                        code,
                    },
                })
            }
            // A PaymentIntent no longer open for this (already paid or
            // canceled): its state is the answer.
            Err(CallError::Api { error, .. }) if error.payment_intent.is_some() => {
                match error.payment_intent {
                    Some(intent) => Ok(intent.report(Reading::Observation)),
                    None => Err(GatewayError::Timeout),
                }
            }
            Err(error) => Err(error.into_gateway_error()),
        }
    }

    /// What a PaymentIntent says to a query. One still waiting for its
    /// customer past payhub's expiry is canceled (Stripe's never expire by
    /// themselves), so that it cannot be paid later, and reported expired.
    async fn observe(&self, intent: PaymentIntent) -> GatewayReport {
        let report = intent.report(Reading::Observation);
        let waiting = matches!(
            report.state,
            GatewayState::AwaitingCustomer | GatewayState::Challenge
        );
        let expired = intent
            .expires_at()
            .is_some_and(|at| Utc::now().timestamp() >= at);
        if !(waiting && expired) {
            return report;
        }
        let form = vec![pair("cancellation_reason", "abandoned")];
        let answer: Result<PaymentIntent, CallError> = self
            .api
            .post(
                &format!("{PAYMENT_INTENTS}/{}/cancel", intent.id),
                &form,
                None,
            )
            .await;
        match answer {
            Ok(canceled) if canceled.status == "canceled" => GatewayReport {
                saved_method: None,
                gw_ref: Some(canceled.id),
                state: GatewayState::Expired,
                qr_content: None,
                code: Some(("expired".into(), "the customer did not pay in time".into())),
            },
            Ok(other) => other.report(Reading::Observation),
            Err(CallError::Api { error, .. }) if error.payment_intent.is_some() => error
                .payment_intent
                .map_or(report.clone(), |intent| intent.report(Reading::Observation)),
            // The cancel gave no answer: still waiting, checked again.
            Err(_) => report,
        }
    }
}

#[async_trait]
impl Connector for StripeConnector {
    fn kind(&self) -> GatewayKind {
        self.kind
    }

    /// Creates the PaymentIntent; the card comes later on payhub's form.
    async fn start(&self, request: &StartRequest) -> Result<Started, GatewayError> {
        let form = self.create_form(request, None)?;
        let customer = Self::customer_step(request);
        let intent = self
            .create(request.payment_id, &form, customer.as_ref())
            .await
            .map_err(CallError::into_gateway_error)?;
        Ok(Started::CardForm { gw_ref: intent.id })
    }

    /// Confirms the PaymentIntent with the raw card, for this call only.
    /// `return_url` (payhub's page of this payment) is where Stripe sends
    /// the customer back from the issuer's 3-D Secure page; without one,
    /// the connector's own ([`StripeConnector::with_return_url`]).
    async fn pay_with_card(
        &self,
        payment: &GatewayRef,
        card: &CardInput,
        return_url: Option<&url::Url>,
    ) -> Result<GatewayReport, GatewayError> {
        let id = self.intent_id(payment).await?;
        let mut form = vec![
            pair("payment_method_data[type]", "card"),
            pair("payment_method_data[card][number]", card.number.digits()),
            pair(
                "payment_method_data[card][exp_month]",
                card.expiry.month().to_string(),
            ),
            pair(
                "payment_method_data[card][exp_year]",
                card.expiry.year().to_string(),
            ),
            pair("payment_method_data[card][cvc]", card.cvc.digits()),
            pair(
                "return_url",
                return_url.unwrap_or(&self.return_url).as_str(),
            ),
        ];
        if let Some(holder) = card.holder.as_deref() {
            form.push(pair("payment_method_data[billing_details][name]", holder));
        }
        let answer = self
            .api
            .post(&format!("{PAYMENT_INTENTS}/{id}/confirm"), &form, None)
            .await;
        // The form (with the card) is dropped here; nothing keeps it.
        drop(form);
        self.attempt_answer(Some(&id), answer)
    }

    /// Creates and confirms an off-session PaymentIntent for the stored
    /// PaymentMethod.
    async fn charge_token(
        &self,
        request: &StartRequest,
        method: &StoredMethod,
    ) -> Result<GatewayReport, GatewayError> {
        let form = self.create_form(request, Some(method))?;
        let answer = self.create(request.payment_id, &form, None).await;
        self.attempt_answer(None, answer)
    }

    /// The customer came back from the issuer's page: the PaymentIntent
    /// says how it went (Stripe takes no code from payhub).
    async fn answer_challenge(
        &self,
        payment: &GatewayRef,
        _code: &str,
    ) -> Result<GatewayReport, GatewayError> {
        let intent = self.locate(payment).await?;
        Ok(intent.report(Reading::Attempt))
    }

    async fn query(&self, payment: &GatewayRef) -> Result<GatewayReport, GatewayError> {
        let intent = self.locate(payment).await?;
        Ok(self.observe(intent).await)
    }

    async fn cancel(&self, payment: &GatewayRef) -> Result<GatewayReport, GatewayError> {
        let id = self.intent_id(payment).await?;
        let answer: Result<PaymentIntent, CallError> = self
            .api
            .post(&format!("{PAYMENT_INTENTS}/{id}/cancel"), &Vec::new(), None)
            .await;
        match answer {
            Ok(intent) => Ok(intent.report(Reading::Observation)),
            // Already paid or canceled: its state is the answer.
            Err(CallError::Api { error, .. }) if error.payment_intent.is_some() => error
                .payment_intent
                .map(|intent| intent.report(Reading::Observation))
                .ok_or(GatewayError::Timeout),
            Err(error) => Err(error.into_gateway_error()),
        }
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundReport, GatewayError> {
        let intent = self.intent_id(&request.payment).await?;
        let (amount, _currency) = to_stripe(request.amount).map_err(amount_refused)?;
        let form = vec![
            pair("payment_intent", intent),
            pair("amount", amount.to_string()),
            pair(
                &format!("metadata[{REFUND_ID_KEY}]"),
                request.refund_id.to_string(),
            ),
            pair(
                &format!("metadata[{PAYMENT_ID_KEY}]"),
                request.payment.payment_id.to_string(),
            ),
        ];
        let refund: Refund = self
            .api
            .post("/v1/refunds", &form, Some(&refund_key(request.refund_id)))
            .await
            .map_err(CallError::into_gateway_error)?;
        Ok(RefundReport {
            state: wire::refund_state(&refund.status),
            gw_ref: Some(refund.id),
        })
    }

    /// By the refund's id; when its create's answer was lost, among its
    /// PaymentIntent's refunds by payhub's refund id in the metadata.
    async fn query_refund(&self, refund: &RefundRef) -> Result<RefundReport, GatewayError> {
        let found: Refund = match &refund.gw_ref {
            Some(id) => self
                .api
                .get(&format!("/v1/refunds/{id}"), &Vec::new())
                .await
                .map_err(CallError::into_gateway_error)?,
            None => {
                let intent = self.intent_id(&refund.payment).await?;
                let query = vec![pair("payment_intent", intent), pair("limit", "100")];
                let listed: List<Refund> = self
                    .api
                    .get("/v1/refunds", &query)
                    .await
                    .map_err(CallError::into_gateway_error)?;
                let wanted = refund.refund_id.to_string();
                listed
                    .data
                    .into_iter()
                    .find(|r| r.metadata.get(REFUND_ID_KEY) == Some(&wanted))
                    .ok_or(GatewayError::NotFound)?
            }
        };
        Ok(RefundReport {
            state: wire::refund_state(&found.status),
            gw_ref: Some(found.id),
        })
    }

    /// Verifies `Stripe-Signature` and reads the event's PaymentIntent.
    ///
    /// Every event whose object is a PaymentIntent carrying payhub's id is
    /// read the same way, as an observation of that PaymentIntent:
    /// `payment_intent.succeeded` → succeeded, `payment_intent.canceled` →
    /// canceled, `payment_intent.payment_failed` → waiting for another card
    /// (declined for an off-session charge), and any other
    /// `payment_intent.*` type reports the state the payment already has in
    /// order (created → waiting, requires_action → challenge), so it
    /// changes nothing. An event about anything else cannot name a payhub
    /// payment and is refused (`BadNotification`); register the endpoint
    /// for `payment_intent.*` events only.
    fn parse_notification(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Notification, GatewayError> {
        let bad = |why: &str| GatewayError::BadNotification(why.to_owned());
        let header = headers
            .get(webhook::SIGNATURE_HEADER)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| bad("no Stripe-Signature header"))?;
        webhook::verify(
            header,
            body,
            self.webhook_secret.expose_secret().as_bytes(),
            Utc::now().timestamp(),
        )
        .map_err(|why| bad(&why))?;
        let event: wire::Event =
            serde_json::from_slice(body).map_err(|_| bad("the body is not a Stripe event"))?;
        if event.data.object.get("object").and_then(|o| o.as_str()) != Some("payment_intent") {
            return Err(GatewayError::Unrelated(format!(
                "event {} is not about a PaymentIntent",
                event.kind
            )));
        }
        let intent: PaymentIntent = serde_json::from_value(event.data.object)
            .map_err(|_| bad("the event's PaymentIntent does not read"))?;
        let payment_id = intent
            .metadata
            .get(PAYMENT_ID_KEY)
            .and_then(|id| id.parse::<PaymentId>().ok())
            .ok_or_else(|| {
                GatewayError::Unrelated("the PaymentIntent names no payhub payment".into())
            })?;
        Ok(Notification {
            payment_id,
            report: intent.report(Reading::Observation),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn stored_tokens_name_a_customer_when_they_carry_one() {
        assert_eq!(stored_method("cus_1/pm_2"), (Some("cus_1"), "pm_2"));
        assert_eq!(stored_method("pm_card_visa"), (None, "pm_card_visa"));
    }
}
