//! The subscriber's answer on the consent page: approve (the code and the
//! form checked, then the bill booked or the card payment started, as the
//! channel says) or decline.

use chrono::Utc;
use payhub_core::carrier_billing::basket::Basket;
use payhub_core::carrier_billing::{attempts_left, Booking};
use payhub_core::{Document, Money, TelcoState};
use payhub_store::{StoreError, TelcoTransaction};

use super::basket::BasketJson;
use super::card::start_card_payment;
use super::carrier::{BillRequest, CarrierError};
use super::changes::{apply, claim_in, drop_claim, otp_hash, stored, update};
use super::reports::{reservation_deadline, undo_on_bill};
use crate::{AppError, Services};

/// What the subscriber sent from the consent page.
#[derive(Clone, Debug, Default)]
pub struct ConsentForm {
    pub otp: String,
    pub removed: Vec<String>,
    pub delivery_address: Option<String>,
    pub billing_address: Option<String>,
}

/// The payment's document after the subscriber removed items, in the
/// dialect's shape: from the stored document and the basket now. (The new
/// total goes to the payment's amount columns, not into the document.)
pub type Redocument = fn(&Document, &Basket) -> Document;

/// The carrier's key of a transaction's reservation or charge.
fn booking_key(transaction: &TelcoTransaction) -> String {
    transaction.payment_id.get().to_string()
}

/// Counts a wrong code where the count is kept, so that codes arriving
/// together are each counted; the last allowed one rejects the consent.
async fn count_wrong_code(
    state: &Services,
    transaction: &TelcoTransaction,
) -> Result<TelcoTransaction, AppError> {
    let counted = state
        .store
        .record_wrong_telco_code(transaction.payment_id, Utc::now())
        .await
        .map_err(stored)?
        .ok_or(AppError::NotWaiting)?;
    if counted.state != TelcoState::ConsentRequested {
        state.notify_outbox();
    }
    Err(AppError::WrongCode(attempts_left(counted.otp_attempts)))
}

/// The subscriber approves: checks the code and the form, then charges,
/// reserves, or starts the card payment, by channel. Returns the
/// transaction as it now stands (`AwaitingCard`: the card page is next).
pub async fn approve(
    state: &Services,
    transaction: &TelcoTransaction,
    form: ConsentForm,
    redocument: Redocument,
) -> Result<TelcoTransaction, AppError> {
    if transaction.state != TelcoState::ConsentRequested
        || transaction.deadline.is_some_and(|d| d <= Utc::now())
    {
        return Err(AppError::NotWaiting);
    }
    let code_matches = {
        use subtle::ConstantTimeEq;
        bool::from(
            otp_hash(form.otp.trim())
                .as_bytes()
                .ct_eq(transaction.otp_hash.as_bytes()),
        )
    };
    if !code_matches {
        return count_wrong_code(state, transaction).await;
    }
    let mut basket = Basket::from_json(&transaction.basket)
        .ok_or_else(|| StoreError::Corrupt("telco basket".into()))?;
    basket
        .remove(&form.removed)
        .map_err(|e| AppError::ConsentInvalid(e.to_string()))?;
    let delivery_address = form.delivery_address.filter(|a| !a.trim().is_empty());
    let billing_address = form.billing_address.filter(|a| !a.trim().is_empty());
    if transaction.is_deliverable && delivery_address.is_none() {
        return Err(AppError::ConsentInvalid("enter a delivery address".into()));
    }
    if transaction.is_billing_required && billing_address.is_none() {
        return Err(AppError::ConsentInvalid(
            "enter a billing or e-bill address".into(),
        ));
    }
    let total = basket
        .total()
        .map_err(|e| AppError::ConsentInvalid(e.to_string()))?;
    let payment = state
        .store
        .find_payment(&transaction.merchant_id, transaction.payment_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("telco payment missing".into()))?;
    let new_total = (payment.total_amount != Some(total))
        .then(|| (total, redocument(&payment.document, &basket)));
    let mut change = update(TelcoState::ConsentRequested, TelcoState::ConsentRequested);
    change.basket = Some(basket.to_json());
    change.total = new_total;
    change.delivery_address = delivery_address;
    change.billing_address = billing_address;
    let Some((claimed, claim)) =
        claim_in(state, transaction.payment_id, TelcoState::ConsentRequested).await?
    else {
        // Another approval, a decline or the deadline got there first.
        return Err(AppError::NotWaiting);
    };
    let (to, carrier_ref) = match book_on_bill(state, &claimed, total, &basket).await {
        Ok(booked) => booked,
        Err(CarrierError::Unavailable) => {
            drop_claim(state, &claimed, claim).await;
            return Err(AppError::CarrierUnavailable);
        }
        Err(error) => {
            tracing::info!(payment.id = %transaction.payment_id, %error, "carrier refused the charge");
            (TelcoState::Failed, None)
        }
    };
    change.to = to;
    change.carrier_ref = carrier_ref.clone();
    change.claim = Some(claim);
    change.deadline = (to == TelcoState::Reserved).then(|| reservation_deadline(state));
    let Some(updated) = apply(state, transaction, change).await? else {
        // The claim lapsed and someone moved it meanwhile: unless that was
        // this same booking recorded, take it back.
        let now = state
            .store
            .find_telco_transaction(transaction.payment_id)
            .await?;
        if now.and_then(|t| t.carrier_ref) != carrier_ref {
            undo_booking(state, &claimed, to, carrier_ref.as_deref(), total).await;
        }
        return Err(AppError::NotWaiting);
    };
    if to == TelcoState::AwaitingCard {
        start_card_payment(state, transaction).await?;
    }
    Ok(updated)
}

/// Reserves or charges the approved amount, as the channel says (a card
/// payment books nothing here): the state it leads to and the booking.
async fn book_on_bill(
    state: &Services,
    transaction: &TelcoTransaction,
    amount: Money,
    basket: &Basket,
) -> Result<(TelcoState, Option<String>), CarrierError> {
    let carrier = &state.carrier_billing.carrier;
    let key = booking_key(transaction);
    let request = BillRequest {
        key: &key,
        msisdn: &transaction.msisdn,
        amount,
        basket,
        merchant: transaction.merchant_id.as_str(),
    };
    let booking = transaction.channel.booking();
    let booked = match booking {
        Booking::Reserve => carrier.reserve(&request).await?,
        Booking::Charge => carrier.charge(&request).await?,
        Booking::Card => return Ok((booking.booked_state(), None)),
    };
    Ok((booking.booked_state(), Some(booked)))
}

/// Takes back a booking whose state change lost: releases the reservation,
/// or credits the charge back.
async fn undo_booking(
    state: &Services,
    transaction: &TelcoTransaction,
    to: TelcoState,
    reference: Option<&str>,
    amount: Money,
) {
    let (Some(reference), TelcoState::Reserved | TelcoState::Charged) = (reference, to) else {
        return;
    };
    let reserved = to == TelcoState::Reserved;
    if let Err(error) = undo_on_bill(state, transaction, reference, reserved, amount).await {
        tracing::error!(payment.id = %transaction.payment_id, %error, "cannot take back a booking whose state change lost");
    }
}

/// The subscriber declines.
pub async fn decline(
    state: &Services,
    transaction: &TelcoTransaction,
) -> Result<TelcoTransaction, AppError> {
    apply(
        state,
        transaction,
        update(TelcoState::ConsentRequested, TelcoState::Rejected),
    )
    .await?
    .ok_or(AppError::NotWaiting)
}
