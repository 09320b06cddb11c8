//! The carrier's own account of a booking, asked for when the answer to
//! payhub's call was lost: on the carrier's notification about a payment,
//! and before a consent expires. What a report changes is core's rule
//! ([`after_report`], [`at_consent_expiry`]); this module claims the
//! transaction, asks the carrier and applies it.

use chrono::Utc;
use payhub_core::carrier_billing::{
    after_report, at_consent_expiry, AtExpiry, Booking, BookingReport, ReportContext,
};
use payhub_core::{Money, PaymentId, TelcoState};
use payhub_store::{StoreError, TelcoTransaction};

use super::carrier::{BillCredit, Booked, CarrierError};
use super::changes::{apply, claim_in, drop_claim, update};
use crate::{AppError, Services};

/// The carrier says something changed about `payment`'s booking (its
/// reference `reference`): asks the carrier how it stands and applies what
/// that changes. Returns the state it moved to; `None` when nothing moved.
/// [`AppError::Busy`]: a call about the transaction is under way (its
/// answer may be the one lost; the notification is to be sent again);
/// [`AppError::CarrierUnavailable`]: the carrier did not answer payhub's
/// question, ask again.
pub async fn on_carrier_notice(
    state: &Services,
    payment: PaymentId,
    reference: &str,
) -> Result<Option<TelcoState>, AppError> {
    let transaction = state
        .store
        .find_telco_transaction(payment)
        .await?
        .ok_or(AppError::UnknownPayment(Some(payment)))?;
    let booking = transaction.channel.booking();
    if booking == Booking::Card
        || !matches!(
            transaction.state,
            TelcoState::Reserved | TelcoState::ConsentRequested
        )
    {
        return Ok(None);
    }
    // A reservation is asked about by the reference payhub recorded; a
    // consent has none yet, so by the notified one (checked to be this
    // transaction's booking by its key).
    let asked = match (&transaction.carrier_ref, transaction.state) {
        (Some(recorded), TelcoState::Reserved) => recorded.clone(),
        _ => reference.to_owned(),
    };
    let Some((claimed, claim)) = claim_in(state, payment, transaction.state).await? else {
        return Err(AppError::Busy);
    };
    let (booked, total) = match ask(state, &claimed, Some(&asked)).await {
        Ok(Some(asked)) => asked,
        Ok(None) => {
            drop_claim(state, &claimed, claim).await;
            return Ok(None);
        }
        Err(error) => {
            drop_claim(state, &claimed, claim).await;
            return Err(error);
        }
    };
    let Some(to) = weigh(&claimed, &booked, total) else {
        drop_claim(state, &claimed, claim).await;
        return Ok(None);
    };
    tracing::info!(payment.id = %payment, from = claimed.state.as_str(), to = to.as_str(), "the carrier's report settles a lost answer");
    let mut change = update(claimed.state, to);
    change.claim = Some(claim);
    if claimed.state == TelcoState::ConsentRequested && to != TelcoState::Failed {
        change.carrier_ref = Some(booked.reference);
    }
    if to == TelcoState::Reserved {
        change.deadline = Some(reservation_deadline(state));
    }
    Ok(apply(state, &claimed, change).await?.map(|t| t.state))
}

/// The state the carrier's report of the transaction's booking moves it to
/// (by [`after_report`]); `None` when the report changes nothing or the
/// carrier holds nothing. The caller holds the transaction's claim.
/// [`AppError::CarrierUnavailable`]: the carrier did not say.
pub(crate) async fn reported_state(
    state: &Services,
    transaction: &TelcoTransaction,
) -> Result<Option<TelcoState>, AppError> {
    let Some((booked, total)) = ask(state, transaction, transaction.carrier_ref.as_deref()).await?
    else {
        return Ok(None);
    };
    Ok(weigh(transaction, &booked, total))
}

/// What the carrier's report of a booking moves the transaction to, given
/// the transaction's total now.
fn weigh(transaction: &TelcoTransaction, booked: &Booked, total: Money) -> Option<TelcoState> {
    let context = ReportContext {
        booking: transaction.channel.booking(),
        same_amount: booked.amount == total,
        needs_form: transaction.is_deliverable || transaction.is_billing_required,
    };
    after_report(transaction.state, booked.report, context)
}

/// A consent's deadline passed: expires it, after taking back any booking
/// on the bill whose answer was lost (the subscriber approved, payhub never
/// heard). Nothing decided (the carrier silent or undecided, the
/// transaction held by another call) leaves it for the next pass.
pub async fn expire_consent(
    state: &Services,
    transaction: &TelcoTransaction,
) -> Result<(), AppError> {
    let Some((claimed, claim)) =
        claim_in(state, transaction.payment_id, TelcoState::ConsentRequested).await?
    else {
        return Ok(());
    };
    let held = match claimed.channel.booking() {
        Booking::Card => Ok(None),
        Booking::Reserve | Booking::Charge => ask(state, &claimed, None)
            .await
            .map(|asked| asked.map(|(booked, _)| booked)),
    };
    let decided = match held {
        Ok(held) => match at_consent_expiry(held.as_ref().map(|b| b.report)) {
            AtExpiry::Expire => true,
            AtExpiry::Wait => false,
            AtExpiry::TakeBack => match held {
                Some(booked) => take_back(state, &claimed, &booked).await,
                None => true,
            },
        },
        Err(error) => {
            tracing::debug!(payment.id = %claimed.payment_id, %error, "consent expiry waits for the carrier");
            false
        }
    };
    if !decided {
        drop_claim(state, &claimed, claim).await;
        return Ok(());
    }
    let mut change = update(TelcoState::ConsentRequested, TelcoState::Expired);
    change.claim = Some(claim);
    apply(state, &claimed, change).await?;
    Ok(())
}

/// Releases a reservation, or credits a charge back, that no transaction
/// owns (its answer was lost and the consent ended); whether it is done.
async fn take_back(state: &Services, transaction: &TelcoTransaction, booked: &Booked) -> bool {
    tracing::warn!(payment.id = %transaction.payment_id, carrier.reference = booked.reference.as_str(), "a booking whose answer was lost outlived its consent; taking it back");
    let reserved = booked.report == BookingReport::Reserved;
    match undo_on_bill(
        state,
        transaction,
        &booked.reference,
        reserved,
        booked.amount,
    )
    .await
    {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(payment.id = %transaction.payment_id, %error, "cannot take back a lost booking yet");
            false
        }
    }
}

/// Takes a booking off the bill: releases the reservation (`reserved`), or
/// credits the charge back under the transaction's `void:` key (credited
/// once however often it is asked).
pub(crate) async fn undo_on_bill(
    state: &Services,
    transaction: &TelcoTransaction,
    reference: &str,
    reserved: bool,
    amount: Money,
) -> Result<(), CarrierError> {
    let carrier = &state.carrier_billing.carrier;
    if reserved {
        return carrier.release(reference, &transaction.msisdn).await;
    }
    let key = format!("void:{}", transaction.payment_id.get());
    let credit = BillCredit {
        key: &key,
        msisdn: &transaction.msisdn,
        amount,
        charge: Some(reference),
    };
    carrier.credit(&credit).await.map(|_| ())
}

/// Asks the carrier about the transaction's booking, in the payment's
/// currency: the booking, and the transaction's total now (read once, for
/// both the currency and the comparison).
async fn ask(
    state: &Services,
    transaction: &TelcoTransaction,
    reference: Option<&str>,
) -> Result<Option<(Booked, Money)>, AppError> {
    let total = total_of(state, transaction)
        .await?
        .ok_or_else(|| StoreError::Corrupt("telco payment without an amount".into()))?;
    let key = transaction.payment_id.get().to_string();
    state
        .carrier_billing
        .carrier
        .booking(&key, reference, total.currency())
        .await
        .map(|booked| booked.map(|booked| (booked, total)))
        .map_err(|error| match error {
            CarrierError::Unavailable => AppError::CarrierUnavailable,
            other => {
                tracing::warn!(payment.id = %transaction.payment_id, error = %other, "the carrier's report of a booking is unusable");
                AppError::CarrierUnavailable
            }
        })
}

/// The transaction's total now (after any items the subscriber removed).
async fn total_of(
    state: &Services,
    transaction: &TelcoTransaction,
) -> Result<Option<Money>, AppError> {
    Ok(state
        .store
        .find_payment(&transaction.merchant_id, transaction.payment_id)
        .await?
        .and_then(|p| p.total_amount))
}

/// When a reservation made now expires.
pub(crate) fn reservation_deadline(state: &Services) -> chrono::DateTime<Utc> {
    Utc::now()
        + chrono::Duration::from_std(state.config.carrier_billing.reservation_ttl)
            .unwrap_or_default()
}
