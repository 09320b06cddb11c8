//! The calling service ends a reservation (channel 10): commits it, so the
//! bill is charged, or releases it. The deadline worker releases the ones
//! nobody committed in time.

use payhub_core::carrier_billing::{after_settle, CarrierAnswer};
use payhub_core::TelcoState;
use payhub_store::TelcoTransaction;

use super::carrier::CarrierError;
use super::changes::{apply, claim_in, drop_claim, update};
use super::reports::reported_state;
use crate::{AppError, Services};

/// Commits (`commit = true`) or releases a reservation. The transaction is
/// claimed first, so one commit or release calls the carrier. Answers
/// [`AppError::NotReserved`], [`AppError::Busy`] (another holds the claim)
/// or [`AppError::CarrierUnavailable`] (nothing changed; ask again).
pub async fn commit_or_release(
    state: &Services,
    transaction: &TelcoTransaction,
    commit: bool,
) -> Result<TelcoTransaction, AppError> {
    if transaction.state != TelcoState::Reserved {
        return Err(AppError::NotReserved {
            state: transaction.state,
            commit,
        });
    }
    let Some((claimed, claim)) =
        claim_in(state, transaction.payment_id, TelcoState::Reserved).await?
    else {
        return Err(
            match state
                .store
                .find_telco_transaction(transaction.payment_id)
                .await?
            {
                Some(current) if current.state == TelcoState::Reserved => AppError::Busy,
                Some(current) => AppError::NotReserved {
                    state: current.state,
                    commit,
                },
                None => AppError::NotReserved {
                    state: transaction.state,
                    commit,
                },
            },
        );
    };
    let reference = claimed.carrier_ref.clone().unwrap_or_default();
    let carrier = &state.carrier_billing.carrier;
    let answer = if commit {
        carrier.commit(&reference, &claimed.msisdn).await
    } else {
        carrier.release(&reference, &claimed.msisdn).await
    };
    let answer = match answer {
        Ok(()) => CarrierAnswer::Done,
        Err(CarrierError::UnknownReservation) => CarrierAnswer::UnknownReservation,
        Err(CarrierError::LimitExceeded { .. } | CarrierError::AmountRefused) => {
            CarrierAnswer::LimitExceeded
        }
        Err(
            error @ (CarrierError::UnknownSubscriber
            | CarrierError::Denied
            | CarrierError::Rejected(_)),
        ) => {
            tracing::info!(payment.id = %transaction.payment_id, %error, commit, "carrier refused to settle the reservation");
            CarrierAnswer::Refused
        }
        Err(CarrierError::Unavailable) => CarrierAnswer::Unavailable,
    };
    let settled = match (commit, answer) {
        // A release the carrier did not take may meet a reservation that
        // was committed by a call whose answer was lost: the carrier's
        // report says which, and a charged one stays charged.
        (false, CarrierAnswer::UnknownReservation | CarrierAnswer::Refused) => {
            reported_state(state, &claimed)
                .await
                .map(|reported| reported.or(after_settle(commit, answer)))
        }
        _ => Ok(after_settle(commit, answer)),
    };
    let Ok(Some(to)) = settled else {
        drop_claim(state, &claimed, claim).await;
        return Err(AppError::CarrierUnavailable);
    };
    let mut change = update(TelcoState::Reserved, to);
    change.claim = Some(claim);
    apply(state, &claimed, change)
        .await?
        .ok_or(AppError::NotReserved {
            state: transaction.state,
            commit,
        })
}
