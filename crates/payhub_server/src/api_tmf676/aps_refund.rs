//! A TMF676 refund of an APS payment (docs/APS.md, "Refunds"). The request
//! is split **card first** between the payment's card part and its credit
//! part ([`payhub_core::credit::split_refund`]), while the payment is locked:
//! the credit part goes back to the account's credit in the transaction that
//! records the refund, the card part through the card's gateway exactly as a
//! gateway refund does. The refund is `done` at once when it has no card
//! part; otherwise it is `pendingAuthorization` until the card's gateway
//! answers, and then follows that answer (`done` or `denied`; a denied card
//! part leaves its credit part given back).

use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use payhub_core::credit::RefundSplit;
use payhub_core::{Currency, Document, Money, NewRefund, Refund, Status};
use payhub_store::{
    ApsPayment, ApsRefund, ApsRefundWrite, GatewayPayment, InsertRefundError, Merchant, StoreError,
};
use serde_json::{json, Map, Value};

use super::create::{idempotent_create, Created};
use super::error::TmfError;
use super::wire;
use crate::idempotency::IdempotencyScope;
use crate::state::AppState;
use payhub_app::gateways::flow;

/// How many fresh refund ids to try when one is taken.
const ID_ATTEMPTS: usize = 3;

/// `POST /refund` naming an APS payment of the merchant.
pub(super) async fn create_aps_refund(
    state: &AppState,
    merchant: &Merchant,
    headers: &HeaderMap,
    path: &str,
    body: &[u8],
    aps: ApsPayment,
) -> Result<Response, TmfError> {
    let gateway = state.store.find_gateway_payment(aps.payment_id).await?;
    if aps.method_minor > 0 && gateway.is_none() {
        tracing::error!(payment.id = %aps.payment_id, "an APS payment with a card part has no gateway row");
        return Err(TmfError::Internal);
    }
    let (aps, gateway) = (&aps, gateway.as_ref());
    idempotent_create(state, merchant, headers, path, body, |scope| async move {
        let new = wire::new_refund(&merchant.id, wire::parse_object(body)?)?;
        let requested = new.total_amount.ok_or_else(|| {
            TmfError::InvalidAttribute("'totalAmount' is required to refund an APS payment".into())
        })?;
        let planner = Planner {
            state,
            new,
            aps,
            gateway,
            scope: scope.as_ref(),
            now: Utc::now(),
        };
        let write = record(state, &planner, requested).await?;
        state.notify_outbox();
        tracing::info!(refund.id = %write.refund.id, card_minor = write.aps.card_minor, credit_minor = write.aps.credit_minor, "APS refund recorded");
        let created = answer(state, &write.refund);
        if let (Some(gateway), Some(_)) = (gateway, &write.gateway) {
            send_card_part(state, gateway, &write, requested.currency());
        }
        Ok(created)
    })
    .await
}

/// Records the refund, with fresh ids while an id is taken.
async fn record(
    state: &AppState,
    planner: &Planner<'_>,
    requested: Money,
) -> Result<ApsRefundWrite, TmfError> {
    let plan = |split: RefundSplit| planner.plan(split);
    let mut attempt = 0;
    loop {
        let inserted = state
            .store
            .insert_aps_refund(
                &planner.aps.merchant_id,
                planner.aps.payment_id,
                requested,
                &plan,
            )
            .await;
        match inserted {
            Ok(write) => return Ok(write),
            Err(InsertRefundError::Store(StoreError::IdCollision)) if attempt < ID_ATTEMPTS => {
                attempt += 1
            }
            Err(InsertRefundError::Rejected(rejection)) => {
                return Err(TmfError::RefundRejected(rejection))
            }
            Err(InsertRefundError::Store(error)) => return Err(error.into()),
        }
    }
}

/// Sends the card part to the card's gateway after the answer is decided; a
/// failure leaves the refund pending, and its scheduled check settles it.
fn send_card_part(
    state: &AppState,
    gateway: &GatewayPayment,
    write: &ApsRefundWrite,
    currency: Currency,
) {
    let card = Money::from_minor(write.aps.card_minor, currency).ok();
    let (state, gateway, refund) = (state.clone(), gateway.clone(), write.refund.clone());
    tokio::spawn(async move {
        if let Err(error) = flow::send_refund_part(&state, &gateway, refund, card).await {
            tracing::warn!(error.cause_chain = ?error, "cannot read back an APS refund's card part sent to its gateway");
        }
    });
}

/// The `201` answer: the refund as TMF676 shows it.
fn answer(state: &AppState, refund: &Refund) -> Created {
    let base = &state.settings.public_base_url;
    Created::new(
        wire::href(base, "refund", refund.id),
        &wire::render_refund(refund, base),
    )
}

/// Builds an APS refund's rows once its split is known.
struct Planner<'a> {
    state: &'a AppState,
    new: NewRefund,
    aps: &'a ApsPayment,
    gateway: Option<&'a GatewayPayment>,
    scope: Option<&'a IdempotencyScope>,
    now: DateTime<Utc>,
}

impl Planner<'_> {
    fn plan(&self, split: RefundSplit) -> ApsRefundWrite {
        let has_card_part = split.card.amount_minor() > 0;
        let mut new = self.new.clone();
        new.status = Some(if has_card_part {
            Status::PendingAuthorization
        } else {
            Status::Done
        });
        new.document = with_split(&new.document, &split);
        let (refund, event) = Refund::record_with_event(new, self.now);
        let gateway = self
            .gateway
            .filter(|_| has_card_part)
            .map(|gateway| flow::refund_row(self.state, gateway, &refund, self.now));
        let aps = ApsRefund {
            refund_id: refund.id,
            payment_id: self.aps.payment_id,
            aps_id: self.aps.aps_id.clone(),
            card_minor: split.card.amount_minor(),
            credit_minor: split.credit.amount_minor(),
            created_at: self.now,
        };
        let kept = self
            .scope
            .map(|scope| scope.keep(answer(self.state, &refund).saved()));
        ApsRefundWrite {
            refund,
            event,
            gateway,
            aps,
            kept,
        }
    }
}

/// The refund's document with the split in its `aps` extension
/// (`methodAmount` to the card, `creditAmount` to the account's credit), as
/// an APS payment shows how it was covered.
fn with_split(document: &Document, split: &RefundSplit) -> Document {
    let mut object: Map<String, Value> =
        serde_json::from_str(document.as_str()).unwrap_or_default();
    object.insert(
        "aps".into(),
        json!({
            "methodAmount": wire::amount_number(split.card),
            "creditAmount": wire::amount_number(split.credit),
        }),
    );
    Document::new(Value::Object(object).to_string())
}
