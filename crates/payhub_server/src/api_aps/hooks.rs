//! What the APS dialect plugs into the shared flows: the payment's result
//! sent to its `notifyUrl` when it ends.

use async_trait::async_trait;
use payhub_app::hooks::DialectHooks;
use payhub_app::Services;
use payhub_core::{LedgerEvent, Payment, PaymentId};
use payhub_store::{DeliveryKind, GatewayPayment, NewWebhook, StoreError};

/// The APS dialect's hooks.
pub struct ApsHooks;

#[async_trait]
impl DialectHooks for ApsHooks {
    fn name(&self) -> &'static str {
        super::DIALECT
    }

    async fn merchant_notification(
        &self,
        services: &Services,
        event: &LedgerEvent,
    ) -> Result<Option<NewWebhook>, StoreError> {
        aps_notification(services, event).await
    }

    /// An APS payment returns with its id and APS status.
    fn return_parameters(
        &self,
        payment: &Payment,
        _row: &GatewayPayment,
    ) -> Option<Vec<(&'static str, String)>> {
        Some(super::wire::callback_parameters(payment))
    }
}

/// An APS payment's result to its `notifyUrl` when it ends (paid or failed):
/// the `APSPayment`, fixed now so every attempt sends the same bytes.
async fn aps_notification(
    state: &Services,
    event: &LedgerEvent,
) -> Result<Option<NewWebhook>, StoreError> {
    if event.kind.is_refund() || !event.status.outcome().is_decided() {
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
    let Some(body) = super::wire::load_aps_payment(store, &account, &aps).await? else {
        return Ok(None);
    };
    Ok(Some(NewWebhook {
        kind: DeliveryKind::ApsNotify,
        merchant_id: event.merchant_id.clone(),
        url,
        body: body.to_string(),
    }))
}
