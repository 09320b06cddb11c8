//! `GET /console/payments/{id}`: one payment and its timeline.
//!
//! The timeline is built only from what the database holds: the payment, its
//! outbox events (its creation and every state change, and those of its
//! refunds), its gateway or telco row, its refunds with their gateway rows,
//! and every hub notification and webhook its events caused with each
//! delivery attempt and the start of the receiver's answer. payhub does not
//! record each call it makes to a gateway (only the gateway row's latest
//! state, reference, error and number of status checks), so the timeline
//! shows that summary, not the calls.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use payhub_core::{EventKind, LedgerEvent, Payment, PaymentId, Refund};
use payhub_store::{
    DeliveryAttempt, DeliveryRecord, GatewayPayment, GatewayRefund, Page, PaymentSearch,
    TelcoTransaction,
};
use serde::Deserialize;

use super::error::ConsoleError;
use super::session::{random_token, Signed};
use super::view;
use crate::state::AppState;

/// Everything the database holds about one payment.
pub struct Material {
    pub payment: Payment,
    pub gateway: Option<GatewayPayment>,
    pub telco: Option<TelcoTransaction>,
    pub refunds: Vec<(Refund, Option<GatewayRefund>)>,
    pub events: Vec<LedgerEvent>,
    pub deliveries: Vec<(DeliveryRecord, Vec<DeliveryAttempt>)>,
}

/// One line of the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub at: DateTime<Utc>,
    pub what: String,
    pub detail: Option<String>,
    /// The start of a receiver's answer, shown as it came.
    pub excerpt: Option<String>,
    /// A delivery the operator may resend from this line.
    pub resend: Option<i64>,
}

impl Entry {
    fn new(at: DateTime<Utc>, what: impl Into<String>) -> Self {
        Entry {
            at,
            what: what.into(),
            detail: None,
            excerpt: None,
            resend: None,
        }
    }

    fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// What a banner above the payment says.
pub enum Notice {
    Done(&'static str),
    Failed(String),
}

/// The payment `id` if this operator may see it.
pub async fn find_visible_payment(
    state: &AppState,
    signed: &Signed,
    id: PaymentId,
) -> Result<Payment, ConsoleError> {
    let search = PaymentSearch {
        merchant: signed.scope().cloned(),
        id: Some(id),
        ..PaymentSearch::default()
    };
    let page = Page {
        offset: 0,
        limit: 1,
    };
    let found = state.store.search_payments(&search, page).await?;
    found
        .items
        .into_iter()
        .next()
        .ok_or_else(|| ConsoleError::NotFound(format!("no payment {id}")))
}

/// Reads everything about `payment` the timeline shows.
pub async fn gather(state: &AppState, payment: Payment) -> Result<Material, ConsoleError> {
    let store = state.store.as_ref();
    let gateway = store.find_gateway_payment(payment.id).await?;
    let telco = store.find_telco_transaction(payment.id).await?;
    let mut refunds = Vec::new();
    for refund in store.list_refunds_of_payment(payment.id).await? {
        let row = store.find_gateway_refund(refund.id).await?;
        refunds.push((refund, row));
    }
    let mut resources = vec![payment.id.get()];
    resources.extend(refunds.iter().map(|(r, _)| r.id.get()));
    let events = store.list_events_of_resources(&resources).await?;
    let event_ids: Vec<_> = events.iter().map(|e| e.id).collect();
    let mut deliveries = Vec::new();
    for delivery in store.list_deliveries_of_events(&event_ids).await? {
        let attempts = store.list_delivery_attempts(delivery.id).await?;
        deliveries.push((delivery, attempts));
    }
    Ok(Material {
        payment,
        gateway,
        telco,
        refunds,
        events,
        deliveries,
    })
}

/// The timeline, oldest first (entries at the same time keep their order).
pub fn build_timeline(material: &Material) -> Vec<Entry> {
    let mut entries = Vec::new();
    if !material
        .events
        .iter()
        .any(|e| e.kind == EventKind::PaymentCreate)
    {
        entries.push(Entry::new(material.payment.created_at, "Payment recorded"));
    }
    entries.extend(material.events.iter().map(|e| event_entry(material, e)));
    if let Some(gateway) = &material.gateway {
        entries.push(gateway_entry(gateway));
    }
    if let Some(telco) = &material.telco {
        entries.push(telco_entry(telco));
    }
    for (delivery, attempts) in &material.deliveries {
        entries.push(delivery_entry(delivery));
        entries.extend(
            attempts
                .iter()
                .enumerate()
                .map(|(n, a)| attempt_entry(delivery, n + 1, a)),
        );
    }
    entries.sort_by_key(|entry| entry.at);
    entries
}

fn event_entry(material: &Material, event: &LedgerEvent) -> Entry {
    let status = event.status.as_str();
    let refund = || {
        material
            .refunds
            .iter()
            .find(|(r, _)| r.id.get() == event.resource_id)
    };
    match event.kind {
        EventKind::PaymentCreate => {
            Entry::new(event.occurred_at, "Payment created").detail(format!(
                "status {status}, {}",
                view::money(material.payment.total_amount)
            ))
        }
        EventKind::PaymentStateChange => Entry::new(
            event.occurred_at,
            format!("Payment state changed to {status}"),
        ),
        EventKind::RefundCreate => {
            let mut detail = format!("status {status}");
            if let Some((refund, row)) = refund() {
                detail = format!("{}, status {status}", view::money(refund.total_amount));
                if let Some(row) = row {
                    detail.push_str(&format!(
                        "; sent to gateway {}: {}, reference {}, {} check(s)",
                        row.gateway,
                        row.state.as_str(),
                        row.gw_ref.as_deref().unwrap_or("none yet"),
                        row.checks
                    ));
                }
            }
            Entry::new(
                event.occurred_at,
                format!("Refund {} created", event.resource_id),
            )
            .detail(detail)
        }
        EventKind::RefundStateChange => Entry::new(
            event.occurred_at,
            format!("Refund {} state changed to {status}", event.resource_id),
        ),
    }
}

fn gateway_entry(gateway: &GatewayPayment) -> Entry {
    let mut detail = format!(
        "gateway state {}, reference {}, {} status check(s)",
        gateway.state.as_str(),
        gateway.gw_ref.as_deref().unwrap_or("none yet"),
        gateway.checks
    );
    if let (Some(code), Some(message)) = (&gateway.gw_error_code, &gateway.gw_error_message) {
        detail.push_str(&format!("; gateway error {code}: {message}"));
    }
    if let Some(card) = &gateway.card {
        detail.push_str(&format!("; card {} …{}", card.brand, card.last4));
    }
    Entry::new(
        gateway.created_at,
        format!("Routed to gateway {}", gateway.gateway),
    )
    .detail(detail)
}

fn telco_entry(telco: &TelcoTransaction) -> Entry {
    let last4: String = telco
        .msisdn
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Entry::new(
        telco.created_at,
        format!(
            "Telco transaction {} on the phone bill",
            telco.transaction_id
        ),
    )
    .detail(format!(
        "subscriber …{last4}, state {}, carrier reference {}",
        telco.state.as_str(),
        telco.carrier_ref.as_deref().unwrap_or("none yet")
    ))
}

fn delivery_entry(delivery: &DeliveryRecord) -> Entry {
    let mut entry = Entry::new(
        delivery.created_at,
        format!(
            "Delivery {} ({}) queued",
            delivery.id,
            delivery.kind.as_str()
        ),
    )
    .detail(format!(
        "to {}; now {} after {} attempt(s)",
        delivery.url, delivery.state, delivery.attempts
    ));
    entry.resend = Some(delivery.id);
    entry
}

fn attempt_entry(delivery: &DeliveryRecord, number: usize, attempt: &DeliveryAttempt) -> Entry {
    let outcome = match (&attempt.status_code, &attempt.error) {
        (Some(code), _) => format!("HTTP {code}"),
        (None, Some(error)) => error.clone(),
        (None, None) => "no answer".to_owned(),
    };
    let mut entry = Entry::new(
        attempt.attempted_at,
        format!("Delivery {} attempt {number}: {outcome}", delivery.id),
    );
    if attempt.status_code.is_some() {
        entry.detail = attempt.error.clone();
    }
    entry.excerpt = attempt.response.clone().filter(|r| !r.is_empty());
    entry
}

#[derive(Deserialize, Default)]
pub struct NoticeQuery {
    #[serde(default)]
    done: String,
}

/// `GET /console/payments/{id}`.
pub async fn show_payment(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    query: Result<Query<NoticeQuery>, QueryRejection>,
) -> Result<Response, ConsoleError> {
    let id: PaymentId = id
        .parse()
        .map_err(|_| ConsoleError::NotFound(format!("no payment {id}")))?;
    let notice = match query.map(|Query(q)| q.done).unwrap_or_default().as_str() {
        "refund" => Some(Notice::Done("Refund recorded.")),
        "resend" => Some(Notice::Done("Delivery queued again.")),
        _ => None,
    };
    payment_page(&state, &signed, id, notice, StatusCode::OK).await
}

/// Renders the payment page with an optional banner.
pub async fn payment_page(
    state: &AppState,
    signed: &Signed,
    id: PaymentId,
    notice: Option<Notice>,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let payment = find_visible_payment(state, signed, id).await?;
    let material = gather(state, payment).await?;
    let entries = build_timeline(&material);
    let content = html! {
        h1 { "Payment " (material.payment.id) }
        @match &notice {
            Some(Notice::Done(text)) => p.notice.ok role="status" { (text) },
            Some(Notice::Failed(text)) => p.notice.error role="alert" { (text) },
            None => {},
        }
        (facts(&material))
        (refund_form(&material.payment, signed))
        h2 { "Timeline" }
        (timeline(&entries, &material.payment, signed))
    };
    let title = format!("Payment {id}");
    Ok((
        status,
        Html(view::page(&title, Some(signed), content).into_string()),
    )
        .into_response())
}

fn facts(material: &Material) -> Markup {
    let payment = &material.payment;
    html! {
        dl.facts {
            dt { "State" } dd #state { (payment.status.as_str()) }
            dt { "Amount" } dd #amount { (view::money(payment.total_amount)) }
            dt { "Merchant" } dd { (payment.merchant_id.as_str()) }
            dt { "Account" } dd { (payment.account_id) }
            dt { "Reference" } dd { (payment.correlator_id.as_deref().unwrap_or("—")) }
            dt { "Created" } dd { (view::time(payment.created_at)) }
            @if let Some(gateway) = &material.gateway {
                dt { "Gateway" } dd { (gateway.gateway) " (" (gateway.state.as_str()) ")" }
            }
            dt { "Refunds" } dd #refunds {
                @if material.refunds.is_empty() { "none" }
                @for (refund, _) in &material.refunds {
                    span.refund { (view::money(refund.total_amount)) " " (refund.status.as_str()) } " "
                }
            }
        }
    }
}

fn refund_form(payment: &Payment, signed: &Signed) -> Markup {
    let Some(amount) = payment.total_amount else {
        return html! {};
    };
    html! {
        h2 { "Refund" }
        form.refund method="post" action={ "/console/payments/" (payment.id) "/refund" } {
            (view::csrf_field(signed))
            // One key per rendered form: a double submit refunds once.
            input type="hidden" name="key" value=(random_token());
            label { "Amount (" (amount.currency().code()) ")"
                input type="text" name="amount" inputmode="decimal" required placeholder=(amount.to_decimal().to_string());
            }
            button type="submit" id="refund" { "Refund" }
        }
    }
}

fn timeline(entries: &[Entry], payment: &Payment, signed: &Signed) -> Markup {
    html! {
        ol.timeline {
            @for entry in entries {
                li {
                    span.at { (view::time(entry.at)) }
                    span.what { (entry.what) }
                    @if let Some(detail) = &entry.detail { div.detail { (detail) } }
                    @if let Some(excerpt) = &entry.excerpt { pre.excerpt { (excerpt) } }
                    @if let Some(delivery) = entry.resend {
                        form.inline.resend method="post" action={ "/console/deliveries/" (delivery) "/resend" } {
                            (view::csrf_field(signed))
                            input type="hidden" name="payment" value=(payment.id);
                            button type="submit" data-delivery=(delivery) { "Resend" }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use payhub_core::{Document, MerchantId, Status};
    use payhub_store::DeliveryKind;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }

    fn material() -> Material {
        let merchant = MerchantId::parse("mer_00000000000000aa").unwrap_or_else(|| unreachable!());
        let payment = Payment {
            id: PaymentId::from_i64(7).unwrap_or_else(|| unreachable!()),
            merchant_id: merchant.clone(),
            status: Status::Done,
            status_date: at(0),
            payment_date: at(0),
            account_id: "acct".into(),
            correlator_id: None,
            total_amount: None,
            amount_decimals: None,
            document: Document::new("{}".into()),
            origin: payhub_core::Origin::new("tmf676"),
            created_at: at(0),
        };
        let event = |seconds, kind, status| LedgerEvent {
            id: payhub_core::EventId::from_i64(100 + seconds).unwrap_or_else(|| unreachable!()),
            merchant_id: merchant.clone(),
            kind,
            resource_id: 7,
            status,
            occurred_at: at(seconds),
        };
        let delivery = DeliveryRecord {
            id: 55,
            event_id: payhub_core::EventId::from_i64(100).unwrap_or_else(|| unreachable!()),
            merchant_id: merchant.clone(),
            kind: DeliveryKind::TmfHub,
            url: "http://127.0.0.1:9/callback".into(),
            state: "delivered".into(),
            attempts: 2,
            next_attempt_at: at(9),
            last_status: Some(204),
            last_error: None,
            last_response: None,
            created_at: at(1),
            body: None,
        };
        let attempts = vec![
            DeliveryAttempt {
                attempted_at: at(2),
                status_code: Some(500),
                error: None,
                response: Some("{\"busy\":true}".into()),
            },
            DeliveryAttempt {
                attempted_at: at(4),
                status_code: None,
                error: Some("connection refused".into()),
                response: None,
            },
        ];
        Material {
            payment,
            gateway: None,
            telco: None,
            refunds: Vec::new(),
            events: vec![
                event(3, EventKind::PaymentStateChange, Status::Done),
                event(0, EventKind::PaymentCreate, Status::PendingAuthorization),
            ],
            deliveries: vec![(delivery, attempts)],
        }
    }

    #[test]
    fn the_timeline_is_in_time_order_with_every_attempt() {
        let whats: Vec<String> = build_timeline(&material())
            .into_iter()
            .map(|e| e.what)
            .collect();
        assert_eq!(
            whats,
            [
                "Payment created",
                "Delivery 55 (tmf_hub) queued",
                "Delivery 55 attempt 1: HTTP 500",
                "Payment state changed to done",
                "Delivery 55 attempt 2: connection refused",
            ]
        );
    }

    #[test]
    fn attempts_keep_the_receivers_answer_and_deliveries_can_be_resent() {
        let entries = build_timeline(&material());
        assert_eq!(entries[1].resend, Some(55));
        assert_eq!(entries[2].excerpt.as_deref(), Some("{\"busy\":true}"));
        assert_eq!(entries[4].excerpt, None);
    }
}
