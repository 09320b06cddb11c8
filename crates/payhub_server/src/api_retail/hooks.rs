//! What the retail dialect plugs into the shared flows: the merchant's
//! `webhookUrl` told when a sale or a refund of it ends.

use async_trait::async_trait;
use payhub_app::hooks::DialectHooks;
use payhub_app::Services;
use payhub_core::{LedgerEvent, Payment, PaymentId, Refund, RefundId, Status};
use payhub_store::{DeliveryKind, GatewayPayment, NewWebhook, StoreError};

use super::wire::{self as retail, RetailAttributes};

/// The retail dialect's hooks.
pub struct RetailHooks;

#[async_trait]
impl DialectHooks for RetailHooks {
    fn name(&self) -> &'static str {
        super::DIALECT
    }

    async fn merchant_notification(
        &self,
        services: &Services,
        event: &LedgerEvent,
    ) -> Result<Option<NewWebhook>, StoreError> {
        retail_webhook(services, event).await
    }

    /// Seed 003's return parameters of a sale (a sale stored without its
    /// retail attributes is described by its gateway type and correlator).
    fn return_parameters(
        &self,
        payment: &Payment,
        row: &GatewayPayment,
    ) -> Option<Vec<(&'static str, String)>> {
        let retail =
            RetailAttributes::from_document(payment.document.as_str()).unwrap_or_else(|| {
                RetailAttributes {
                    gateway: row.gateway.clone(),
                    rrn: payment.correlator_id.clone().unwrap_or_default(),
                    ..Default::default()
                }
            });
        Some(retail::return_parameters(
            &retail,
            payment.total_amount,
            row,
            retail::sale_status(row.state, false),
        ))
    }

    /// A refund of a retail sale made through another dialect (TMF676, the
    /// console) is named in the retail dialect too, by the rrn its webhook
    /// announces, so that `query` finds it.
    fn refund_reference(
        &self,
        payment: &Payment,
        refund: &Refund,
    ) -> Option<(&'static str, String)> {
        RetailAttributes::from_document(payment.document.as_str())
            .map(|_| (super::DIALECT, retail::refund_rrn(refund)))
    }
}

/// The merchant webhook an event causes: when a sale with a `webhookUrl`
/// ends (paid, declined, expired, canceled) or a refund of it ends. The body
/// is fixed here, so every attempt sends the same bytes.
async fn retail_webhook(
    state: &Services,
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
    if !event.status.outcome().is_decided() {
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
