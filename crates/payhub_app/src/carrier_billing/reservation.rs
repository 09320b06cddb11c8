//! The calling service ends a reservation (channel 10): commits it, so the
//! bill is charged, or releases it. The deadline worker releases the ones
//! nobody committed in time.

use chrono::Utc;
use payhub_core::carrier_billing::{after_settle, CarrierAnswer};
use payhub_core::TelcoState;
use payhub_store::{StoreError, TelcoTransaction};

use super::carrier::CarrierError;
use super::changes::{apply, drop_claim, new_claim, update};
use crate::Services;

/// Why a commit or release was not done.
#[derive(Debug, thiserror::Error)]
pub enum ReservationError {
    #[error("the transaction is {0:?}, not reserved")]
    NotReserved(TelcoState),
    /// Another commit or release of it is under way.
    #[error("another commit or release of this transaction is under way")]
    Busy,
    /// The carrier did not answer; nothing changed here, and asking again is safe.
    #[error("the carrier did not answer")]
    CarrierUnavailable,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Commits (`commit = true`) or releases a reservation. The transaction is
/// claimed first, so one commit or release calls the carrier.
pub async fn commit_or_release(
    state: &Services,
    transaction: &TelcoTransaction,
    commit: bool,
) -> Result<TelcoTransaction, ReservationError> {
    if transaction.state != TelcoState::Reserved {
        return Err(ReservationError::NotReserved(transaction.state));
    }
    let (claim, until) = new_claim(state);
    let Some(claimed) = state
        .store
        .claim_telco_transaction(
            transaction.payment_id,
            TelcoState::Reserved,
            &claim,
            until,
            Utc::now(),
        )
        .await?
    else {
        return Err(
            match state
                .store
                .find_telco_transaction(transaction.payment_id)
                .await?
            {
                Some(current) if current.state == TelcoState::Reserved => ReservationError::Busy,
                Some(current) => ReservationError::NotReserved(current.state),
                None => ReservationError::NotReserved(transaction.state),
            },
        );
    };
    let reference = claimed.carrier_ref.clone().unwrap_or_default();
    let carrier = &state.carrier_billing.carrier;
    let answer = if commit {
        carrier.commit(&reference).await
    } else {
        carrier.release(&reference).await
    };
    let answer = match answer {
        Ok(()) => CarrierAnswer::Done,
        Err(CarrierError::UnknownReservation) => CarrierAnswer::UnknownReservation,
        Err(CarrierError::LimitExceeded { .. }) => CarrierAnswer::LimitExceeded,
        Err(CarrierError::Unavailable) => CarrierAnswer::Unavailable,
    };
    let Some(to) = after_settle(commit, answer) else {
        drop_claim(state, &claimed, claim).await;
        return Err(ReservationError::CarrierUnavailable);
    };
    let mut change = update(TelcoState::Reserved, to);
    change.claim = Some(claim);
    apply(state, &claimed, change)
        .await?
        .ok_or(ReservationError::NotReserved(transaction.state))
}
