//! Fans outbox events out into deliveries, one per matching listener.

use std::collections::HashMap;

use chrono::Utc;
use payhub_core::{LedgerEvent, MerchantId, PaymentId, RefundId, Status};
use payhub_store::{DeliveryKind, FanOut, NewWebhook, StoreError, Subscription};

use crate::api_retail::view::{self as retail, RetailAttributes};
use crate::api_tmf676::hub::{event_envelope, subscription_matches};
use crate::state::AppState;

/// Events claimed per round.
pub const BATCH: i64 = 500;
/// How long a claimed event stays hidden from other dispatchers.
const LEASE: chrono::Duration = chrono::Duration::seconds(60);

/// Dispatches one batch; returns how many events it handled.
pub async fn dispatch_batch(state: &AppState) -> usize {
    match try_dispatch_batch(state).await {
        Ok(count) => count,
        Err(error) => {
            tracing::warn!(error.cause_chain = ?error, "hub dispatch failed; will retry");
            0
        }
    }
}

async fn try_dispatch_batch(state: &AppState) -> Result<usize, StoreError> {
    let now = Utc::now();
    let events = state
        .store
        .claim_undispatched_events(now, now + LEASE, BATCH)
        .await?;
    let mut listeners: HashMap<MerchantId, Vec<Subscription>> = HashMap::new();
    let mut fan_out = Vec::with_capacity(events.len());
    for event in &events {
        if !listeners.contains_key(&event.merchant_id) {
            let subscriptions = state.store.list_subscriptions(&event.merchant_id).await?;
            listeners.insert(event.merchant_id.clone(), subscriptions);
        }
        let subscriptions = listeners
            .get(&event.merchant_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        fan_out.push(FanOut {
            event: event.id,
            subscriptions: matching_listeners(state, event, subscriptions).await?,
            webhooks: merchant_webhook(state, event).await?.into_iter().collect(),
        });
    }
    if !fan_out.is_empty() {
        state.store.complete_dispatch(&fan_out, Utc::now()).await?;
    }
    Ok(events.len())
}

async fn matching_listeners(
    state: &AppState,
    event: &LedgerEvent,
    subscriptions: &[Subscription],
) -> Result<Vec<Subscription>, StoreError> {
    if subscriptions.is_empty() {
        return Ok(Vec::new());
    }
    let Some(envelope) =
        event_envelope(state.store.as_ref(), &state.settings.public_base_url, event).await?
    else {
        return Ok(Vec::new());
    };
    Ok(subscriptions
        .iter()
        .filter(|s| subscription_matches(s, &envelope))
        .cloned()
        .collect())
}

/// The one merchant webhook an event may cause: an APS payment's `notifyUrl`,
/// or a retail sale's `webhookUrl`.
async fn merchant_webhook(
    state: &AppState,
    event: &LedgerEvent,
) -> Result<Option<NewWebhook>, StoreError> {
    if let Some(webhook) = aps_notification(state, event).await? {
        return Ok(Some(webhook));
    }
    if let Some(webhook) = telco_callback(state, event).await? {
        return Ok(Some(webhook));
    }
    retail_webhook(state, event).await
}

/// An APS payment's result to its `notifyUrl` when it ends (paid or failed):
/// the `APSPayment`, fixed now so every attempt sends the same bytes.
async fn aps_notification(
    state: &AppState,
    event: &LedgerEvent,
) -> Result<Option<NewWebhook>, StoreError> {
    if event.kind.is_refund() || (!event.status.is_terminal() && event.status != Status::Captured) {
        return Ok(None);
    }
    let Some(id) = PaymentId::from_i64(event.resource_id) else {
        return Ok(None);
    };
    let store = state.store.as_ref();
    let Some(aps) = store.find_aps_payment(id).await? else {
        return Ok(None);
    };
    let Some(url) = aps.notify_url.clone() else {
        return Ok(None);
    };
    let Some(account) = store.find_aps_account(&aps.aps_id).await? else {
        return Ok(None);
    };
    let Some(body) = crate::api_aps::view::load_aps_payment(store, &account, &aps).await? else {
        return Ok(None);
    };
    Ok(Some(NewWebhook {
        kind: DeliveryKind::ApsNotify,
        merchant_id: event.merchant_id.clone(),
        url,
        body: body.to_string(),
    }))
}

/// The merchant webhook an event causes: when a sale with a `webhookUrl`
/// ends (paid, declined, expired, canceled) or a refund of it ends. The body
/// is fixed here, so every attempt sends the same bytes.
async fn retail_webhook(
    state: &AppState,
    event: &LedgerEvent,
) -> Result<Option<NewWebhook>, StoreError> {
    let store = state.store.as_ref();
    if event.kind.is_refund() {
        if !matches!(event.status, Status::Done | Status::Denied | Status::Failed) {
            return Ok(None);
        }
        let Some(id) = RefundId::from_i64(event.resource_id) else {
            return Ok(None);
        };
        let Some(refund) = store.find_refund(&event.merchant_id, id).await? else {
            return Ok(None);
        };
        let Some(payment_id) = refund.payment_id else {
            return Ok(None);
        };
        let Some(sale) = store.find_gateway_payment(payment_id).await? else {
            return Ok(None);
        };
        let Some(url) = sale.webhook_url else {
            return Ok(None);
        };
        let Some(payment) = store.find_payment(&event.merchant_id, payment_id).await? else {
            return Ok(None);
        };
        // A refund made through another dialect (TMF676) of a retail sale is
        // described by the sale, under the refund's own reference.
        let Some(attributes) = retail::refund_attributes(&refund, &payment) else {
            return Ok(None);
        };
        let gw_ref = store
            .find_gateway_refund(id)
            .await?
            .and_then(|r| r.gw_ref)
            .unwrap_or_default();
        let body = retail::webhook_body(
            &attributes,
            refund.total_amount,
            &gw_ref,
            retail::refund_status(event.status),
        );
        return Ok(Some(NewWebhook {
            kind: DeliveryKind::RetailWebhook,
            merchant_id: event.merchant_id.clone(),
            url,
            body: body.to_string(),
        }));
    }
    if !event.status.is_terminal() && event.status != Status::Captured {
        return Ok(None);
    }
    let Some(id) = PaymentId::from_i64(event.resource_id) else {
        return Ok(None);
    };
    let Some(sale) = store.find_gateway_payment(id).await? else {
        return Ok(None);
    };
    let Some(url) = sale.webhook_url.clone() else {
        return Ok(None);
    };
    let Some(payment) = store.find_payment(&event.merchant_id, id).await? else {
        return Ok(None);
    };
    let Some(attributes) = RetailAttributes::from_document(payment.document.as_str()) else {
        return Ok(None);
    };
    let body = retail::webhook_body(
        &attributes,
        payment.total_amount,
        sale.gw_ref.as_deref().unwrap_or_default(),
        retail::sale_status(sale.state, false),
    );
    Ok(Some(NewWebhook {
        kind: DeliveryKind::RetailWebhook,
        merchant_id: event.merchant_id.clone(),
        url,
        body: body.to_string(),
    }))
}

/// The callback a telco transaction's change causes, when its service has a
/// callback URL: seed 004's answer shape for the transaction's state when the
/// event is fanned out (deduplicate on `webhook-id`).
async fn telco_callback(
    state: &AppState,
    event: &LedgerEvent,
) -> Result<Option<NewWebhook>, StoreError> {
    if event.kind.is_refund() {
        return Ok(None);
    }
    let Some(id) = PaymentId::from_i64(event.resource_id) else {
        return Ok(None);
    };
    // Most merchants have no callback URL: ask that first, and only then
    // whether the payment is a telco transaction.
    let Some(url) = state.store.telco_callback_url(&event.merchant_id).await? else {
        return Ok(None);
    };
    let Some(transaction) = state.store.find_telco_transaction(id).await? else {
        return Ok(None);
    };
    let (code, desc) = crate::api_telco::result::state_result(transaction.state);
    let body = serde_json::json!({
        "resultCode": code,
        "resultDesc": desc,
        "transactionId": transaction.transaction_id,
    });
    Ok(Some(NewWebhook {
        kind: DeliveryKind::TelcoCallback,
        merchant_id: event.merchant_id.clone(),
        url,
        body: body.to_string(),
    }))
}
