//! The deadline worker's pass: expires consents nobody gave (taking back a
//! booking whose answer was lost) and releases reservations nobody
//! committed.

use chrono::{DateTime, Utc};
use payhub_core::carrier_billing::Deadline;

use super::changes::{apply, update};
use super::reports::expire_consent;
use super::reservation::commit_or_release;
use crate::AppError;
use crate::Services;

/// Handles the overdue transactions (a batch of them). Returns how many it handled.
pub async fn run_deadlines(state: &Services) -> usize {
    let now: DateTime<Utc> = Utc::now();
    let overdue = match state.store.list_overdue_telco_transactions(now, 32).await {
        Ok(rows) => rows,
        Err(error) => {
            tracing::warn!(error.cause_chain = ?error, "cannot read overdue telco transactions");
            return 0;
        }
    };
    let count = overdue.len();
    for transaction in overdue {
        let result = match transaction.state.on_deadline() {
            Deadline::Expire => expire_consent(state, &transaction)
                .await
                .or_else(|e| match e {
                    AppError::Store(e) => Err(e),
                    other => {
                        tracing::debug!(payment.id = %transaction.payment_id, %other, "consent not expired now");
                        Ok(())
                    }
                }),
            Deadline::Release => {
                tracing::info!(payment.id = %transaction.payment_id, "reservation not committed in time; releasing");
                commit_or_release(state, &transaction, false)
                    .await
                    .map(|_| ())
                    .or_else(|e| match e {
                        AppError::Store(e) => Err(e),
                        // Settled meanwhile (not reserved), being settled
                        // (busy), or the carrier was silent (asked again on
                        // the next pass): nothing to do now.
                        other => {
                            tracing::debug!(payment.id = %transaction.payment_id, %other, "release not done now");
                            Ok(())
                        }
                    })
            }
            // A deadline left on a state that has none: clear it.
            Deadline::Clear => apply(
                state,
                &transaction,
                update(transaction.state, transaction.state),
            )
            .await
            .map(|_| ()),
        };
        if let Err(error) = result {
            tracing::warn!(payment.id = %transaction.payment_id, error.cause_chain = ?error, "cannot handle a telco deadline");
        }
    }
    count
}
