//! What the telco dialect plugs into the shared flows: the calling
//! service's callback when a transaction changes, a card transaction
//! following its gateway payment, and the consent and reservation deadlines.

use async_trait::async_trait;
use payhub_app::carrier_billing::{card, deadlines};
use payhub_app::hooks::DialectHooks;
use payhub_app::Services;
use payhub_core::{LedgerEvent, PaymentId};
use payhub_store::{DeliveryKind, GatewayPayment, NewWebhook, StoreError};

/// The telco dialect's hooks.
pub struct TelcoHooks;

#[async_trait]
impl DialectHooks for TelcoHooks {
    fn name(&self) -> &'static str {
        super::DIALECT
    }

    async fn merchant_notification(
        &self,
        services: &Services,
        event: &LedgerEvent,
    ) -> Result<Option<NewWebhook>, StoreError> {
        telco_callback(services, event).await
    }

    async fn gateway_payment_ended(&self, services: &Services, row: &GatewayPayment) {
        card::follow_gateway(services, row).await;
    }

    async fn run_due_work(&self, services: &Services) -> usize {
        deadlines::run_deadlines(services).await
    }
}

/// The callback a telco transaction's change causes, when its service has a
/// callback URL: seed 004's answer shape for the transaction's state when the
/// event is fanned out (deduplicate on `webhook-id`).
async fn telco_callback(
    state: &Services,
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
    let (code, desc) = super::result::state_result(transaction.state);
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
