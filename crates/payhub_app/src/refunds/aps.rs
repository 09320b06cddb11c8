//! A refund of an APS payment (docs/APS.md, "Refunds"). The request is split
//! **card first** between the payment's card part and its credit part
//! ([`payhub_core::credit::split_refund`]), while the payment is locked: the
//! credit part goes back to the account's credit in the transaction that
//! records the refund, the card part through the card's gateway exactly as a
//! gateway refund does. The refund is `done` at once when it has no card
//! part; otherwise it is `pendingAuthorization` until the card's gateway
//! answers, and then follows that answer (`done` or `denied`; a denied card
//! part leaves its credit part given back).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use payhub_core::credit::RefundSplit;
use payhub_core::{Document, Money, NewRefund, Refund, Status};
use payhub_store::{with_fresh_ids, ApsPayment, ApsRefund, ApsRefundWrite, GatewayPayment};
use serde_json::{json, Map, Value};

use super::KeptAnswer;
use crate::gateways::flow;
use crate::money_json::amount_number;
use crate::AppError;
use crate::Services;

/// Records the refund split between the payment's parts, then sends its
/// card part, if any, to the card's gateway.
pub(super) async fn create(
    services: &Arc<Services>,
    new: NewRefund,
    payment: &ApsPayment,
    card: Option<&GatewayPayment>,
    kept: &impl KeptAnswer,
) -> Result<Refund, AppError> {
    let requested = new.total_amount.ok_or(AppError::AmountRequired)?;
    let planner = Planner {
        services,
        new,
        payment,
        card,
        kept,
        now: Utc::now(),
    };
    let write = record(services, &planner, requested).await?;
    services.notify_outbox();
    tracing::info!(refund.id = %write.refund.id, card_minor = write.aps.card_minor, credit_minor = write.aps.credit_minor, "APS refund recorded");
    if let (Some(card), Some(_)) = (card, &write.gateway) {
        let amount = Money::from_minor(write.aps.card_minor, requested.currency()).ok();
        let (services, card, refund) = (services.clone(), card.clone(), write.refund.clone());
        tokio::spawn(async move {
            // A failure here leaves the refund pending; its scheduled check settles it.
            if let Err(error) = flow::send_refund_part(&services, &card, refund, amount).await {
                tracing::warn!(error.cause_chain = ?error, "cannot read back an APS refund's card part sent to its gateway");
            }
        });
    }
    Ok(write.refund)
}

/// Records the refund, with fresh ids while an id is taken.
async fn record<K: KeptAnswer>(
    services: &Services,
    planner: &Planner<'_, K>,
    requested: Money,
) -> Result<ApsRefundWrite, AppError> {
    let plan = |split: RefundSplit| planner.plan(split);
    let plan = &plan;
    Ok(with_fresh_ids(|| async move {
        services
            .store
            .insert_aps_refund(
                &planner.payment.merchant_id,
                planner.payment.payment_id,
                requested,
                plan,
            )
            .await
    })
    .await?)
}

/// Builds an APS refund's rows once its split is known.
struct Planner<'a, K> {
    services: &'a Services,
    new: NewRefund,
    payment: &'a ApsPayment,
    card: Option<&'a GatewayPayment>,
    kept: &'a K,
    now: DateTime<Utc>,
}

impl<K: KeptAnswer> Planner<'_, K> {
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
            .card
            .filter(|_| has_card_part)
            .map(|card| flow::refund_row(self.services, card, &refund, self.now));
        let aps = ApsRefund {
            refund_id: refund.id,
            payment_id: self.payment.payment_id,
            aps_id: self.payment.aps_id.clone(),
            card_minor: split.card.amount_minor(),
            credit_minor: split.credit.amount_minor(),
            created_at: self.now,
        };
        let kept = (self.kept)(&refund);
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
            "methodAmount": amount_number(split.card),
            "creditAmount": amount_number(split.credit),
        }),
    );
    Document::new(Value::Object(object).to_string())
}
