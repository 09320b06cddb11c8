//! A refund that is a ledger entry only: payhub moved no money for its
//! payment (or it names none), so recording it is all there is to do.

use chrono::Utc;
use payhub_core::{NewRefund, Refund};
use payhub_store::{InsertRefundError, StoreError};

use super::{KeptAnswer, RefundError, ID_ATTEMPTS};
use crate::Services;

/// Records the refund with its create event and the kept answer.
pub(super) async fn create(
    services: &Services,
    new: NewRefund,
    kept: &impl KeptAnswer,
) -> Result<Refund, RefundError> {
    for _ in 0..ID_ATTEMPTS {
        let (refund, event) = Refund::record_with_event(new.clone(), Utc::now());
        let answer = kept(&refund);
        match services
            .store
            .insert_refund(&refund, &event, answer.as_ref())
            .await
        {
            Ok(()) => {
                tracing::info!(resource = "refund", id = %refund.id, "recorded");
                services.notify_outbox();
                return Ok(refund);
            }
            Err(InsertRefundError::Store(StoreError::IdCollision)) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(StoreError::IdCollision.into())
}
