//! How a carrier-billing transaction changes, whoever moves it.
//!
//! Every change is one [`Store::apply_telco_update`](payhub_store::Store)
//! from the state the change was decided in; if someone else moved the
//! transaction first, the change is not made. Whoever calls the carrier
//! claims the transaction first
//! ([`Store::claim_telco_transaction`](payhub_store::Store)), on any node:
//! only the claim's holder calls, and other changes wait for its answer, so
//! the bill is never charged twice for one transaction.

use chrono::{DateTime, Utc};
use payhub_core::TelcoState;
use payhub_store::{StoreError, TelcoTransaction, TelcoUpdate, UpdateStatusError};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::Services;

/// The stored form of a one-time code: its SHA-256, hex.
pub(crate) fn otp_hash(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}

/// A store failure while applying an update, as the store's error.
pub(crate) fn stored(error: UpdateStatusError) -> StoreError {
    match error {
        UpdateStatusError::Store(error) => error,
        other => StoreError::Invariant(other.to_string()),
    }
}

/// Applies a change if the transaction is still where it was decided;
/// `None` when someone moved it first.
pub(crate) async fn apply(
    state: &Services,
    transaction: &TelcoTransaction,
    update: TelcoUpdate,
) -> Result<Option<TelcoTransaction>, StoreError> {
    let applied = state
        .store
        .apply_telco_update(transaction.payment_id, &update, Utc::now())
        .await
        .map_err(stored)?;
    if applied.is_some() {
        state.notify_outbox();
    }
    Ok(applied)
}

/// A change of state only (everything else left as it is).
pub(crate) fn update(from: TelcoState, to: TelcoState) -> TelcoUpdate {
    TelcoUpdate {
        from,
        to,
        basket: None,
        total: None,
        otp_attempts: None,
        delivery_address: None,
        billing_address: None,
        carrier_ref: None,
        deadline: None,
        claim: None,
    }
}

/// A fresh claim on a transaction and how long it holds: longer than a
/// carrier call may take, so it outlives the call it covers.
pub(crate) fn new_claim(state: &Services) -> (String, DateTime<Utc>) {
    let token = hex::encode(rand::thread_rng().gen::<[u8; 16]>());
    let hold = state.config.gateways.call_timeout.saturating_mul(3);
    (
        token,
        Utc::now() + chrono::Duration::from_std(hold).unwrap_or_default(),
    )
}

/// Claims the transaction if it is still in `from` and nobody else holds
/// it: the transaction as claimed and the claim's token; `None` when
/// someone moved or holds it first.
pub(crate) async fn claim_in(
    state: &Services,
    payment: payhub_core::PaymentId,
    from: TelcoState,
) -> Result<Option<(TelcoTransaction, String)>, StoreError> {
    let (claim, until) = new_claim(state);
    Ok(state
        .store
        .claim_telco_transaction(payment, from, &claim, until, Utc::now())
        .await?
        .map(|claimed| (claimed, claim)))
}

/// Gives a claim back without changing anything else (the carrier did
/// not answer, so nothing is decided): the transaction stays in `state`
/// with its deadline.
pub(crate) async fn drop_claim(state: &Services, transaction: &TelcoTransaction, claim: String) {
    let mut change = update(transaction.state, transaction.state);
    change.deadline = transaction.deadline;
    change.claim = Some(claim);
    if let Err(error) = apply(state, transaction, change).await {
        // It lapses by itself.
        tracing::warn!(payment.id = %transaction.payment_id, error.cause_chain = ?error, "cannot give a telco claim back");
    }
}
