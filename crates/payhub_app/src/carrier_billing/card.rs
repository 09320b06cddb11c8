//! Channel 40: the subscriber pays by card instead of on the bill. The
//! transaction waits (`AwaitingCard`) while a gateway payment runs, then
//! follows its end.

use payhub_core::carrier_billing::after_card;
use payhub_core::TelcoState;
use payhub_store::{GatewayPayment, StoreError, TelcoTransaction};

use super::changes::{apply, update};
use crate::gateways::flow::start_for_existing;
use crate::gateways::GatewayKind;
use crate::lang::Lang;
use crate::Services;

/// The card gateway of channel 40.
const CARD_GATEWAY: GatewayKind = GatewayKind::Vmpay;

/// Starts the card payment of an approved transaction.
pub(crate) async fn start_card_payment(
    state: &Services,
    transaction: &TelcoTransaction,
) -> Result<(), StoreError> {
    let payment = state
        .store
        .find_payment(&transaction.merchant_id, transaction.payment_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("telco payment missing".into()))?;
    // The card page speaks zh_hk, zh_cn and en; a telco subscriber gets English.
    if let Err(error) =
        start_for_existing(state, &payment, CARD_GATEWAY, Lang::En, None, None).await
    {
        tracing::error!(payment.id = %transaction.payment_id, %error, "cannot start the card payment");
        return Err(StoreError::Invariant(error.to_string()));
    }
    Ok(())
}

/// A card transaction follows its gateway payment's end.
pub async fn follow_gateway(state: &Services, row: &GatewayPayment) {
    let transaction = match state.store.find_telco_transaction(row.payment_id).await {
        Ok(Some(t)) if t.state == TelcoState::AwaitingCard => t,
        Ok(_) => return,
        Err(error) => {
            tracing::warn!(payment.id = %row.payment_id, error.cause_chain = ?error, "cannot read a telco transaction");
            return;
        }
    };
    let to = after_card(row.state);
    if let Err(error) = apply(state, &transaction, update(TelcoState::AwaitingCard, to)).await {
        tracing::warn!(payment.id = %row.payment_id, error.cause_chain = ?error, "cannot record a telco card outcome");
    }
}
