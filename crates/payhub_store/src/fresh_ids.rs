//! Writing a new row under a fresh random id, again when the id was taken.
//!
//! Payment, refund and event ids are random (see `payhub_core::ids`), so two
//! nodes may, very rarely, pick the same one; the insert then fails on the
//! primary key ([`StoreError::IdCollision`]) and the writer records afresh.
//! Every writer of a new record does this the same way, through
//! [`with_fresh_ids`].

use std::future::Future;

use crate::error::{InsertRefundError, StoreError};

/// How many times a write is tried with fresh ids before the collision is
/// reported (four collisions in a row mean something other than chance).
pub const ID_ATTEMPTS: usize = 4;

/// Whether an error says only that the new row's id was taken.
pub trait IdTaken {
    fn id_taken(&self) -> bool;
}

impl IdTaken for StoreError {
    fn id_taken(&self) -> bool {
        matches!(self, StoreError::IdCollision)
    }
}

impl IdTaken for InsertRefundError {
    fn id_taken(&self) -> bool {
        matches!(self, InsertRefundError::Store(StoreError::IdCollision))
    }
}

/// Runs `write` (which builds its record with a fresh id each time it is
/// called) until it succeeds, fails for another reason, or its id was taken
/// [`ID_ATTEMPTS`] times.
pub async fn with_fresh_ids<T, E, F, Fut>(mut write: F) -> Result<T, E>
where
    E: IdTaken,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempts = 1;
    loop {
        match write().await {
            Err(error) if error.id_taken() && attempts < ID_ATTEMPTS => attempts += 1,
            done => return done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run(outcomes: Vec<Result<u8, StoreError>>) -> (Result<u8, StoreError>, usize) {
        let mut outcomes = outcomes.into_iter();
        let mut calls = 0;
        let result = with_fresh_ids(|| {
            calls += 1;
            let next = outcomes.next().unwrap_or(Err(StoreError::IdCollision));
            async move { next }
        })
        .await;
        (result, calls)
    }

    #[tokio::test]
    async fn a_taken_id_is_tried_again_other_errors_are_not() {
        let (result, calls) = run(vec![Err(StoreError::IdCollision), Ok(7)]).await;
        assert!(matches!(result, Ok(7)));
        assert_eq!(calls, 2);
        let (result, calls) = run(vec![Err(StoreError::DuplicateReference), Ok(7)]).await;
        assert!(matches!(result, Err(StoreError::DuplicateReference)));
        assert_eq!(calls, 1);
        let (result, calls) = run(vec![]).await;
        assert!(matches!(result, Err(StoreError::IdCollision)));
        assert_eq!(calls, ID_ATTEMPTS);
    }

    #[test]
    fn only_an_id_collision_is_a_taken_id() {
        assert!(StoreError::IdCollision.id_taken());
        assert!(!StoreError::DuplicateReference.id_taken());
        assert!(InsertRefundError::Store(StoreError::IdCollision).id_taken());
        assert!(!InsertRefundError::Store(StoreError::WriterStopped).id_taken());
    }
}
