//! A refund that is a ledger entry only: payhub moved no money for its
//! payment (or it names none), so recording it is all there is to do.

use chrono::Utc;
use payhub_core::{NewRefund, Refund};
use payhub_store::with_fresh_ids;

use super::KeptAnswer;
use crate::AppError;
use crate::Services;

/// Records the refund with its create event and the kept answer.
pub(super) async fn create(
    services: &Services,
    new: NewRefund,
    kept: &impl KeptAnswer,
) -> Result<Refund, AppError> {
    let new = &new;
    let refund = with_fresh_ids(|| async move {
        let (refund, event) = Refund::record_with_event(new.clone(), Utc::now());
        let answer = kept(&refund);
        services
            .store
            .insert_refund(&refund, &event, answer.as_ref())
            .await
            .map(|()| refund)
    })
    .await?;
    tracing::info!(resource = "refund", id = %refund.id, "recorded");
    services.notify_outbox();
    Ok(refund)
}
