//! `Idempotency-Key` on every POST, with Stripe's contract.
//!
//! - A key is 1 to 255 visible ASCII characters, scoped to the merchant.
//! - The first request with a key runs; its response (status, `Location`, body)
//!   is kept. A successful create keeps it in the same transaction as the work,
//!   so a crash can never leave the work done but the key unanswered.
//! - A retry with the same key and the same request gets that response again,
//!   without the work being done again.
//! - The same key with a different request is refused (422); while the first
//!   request is still running, a retry is refused with 409.
//! - A running request holds its key on a lease (`idempotency_lease_s`,
//!   10 s by default) that it renews every third of the lease until it ends.
//!   A node that dies stops renewing, so a retry may take the key over once
//!   the lease ran out: promptly, and never while the first request runs.
//!   The work and its kept response commit together, so a dead request either
//!   answered (the retry gets its answer) or did nothing (the retry runs).
//! - A request that failed on payhub's side (5xx) releases its key, so the
//!   client's retry can run; a client error (4xx) is kept and replayed.
//! - Keys are kept at least 24 hours (`idempotency_retention_h`).

use std::sync::Arc;

use axum::http::{HeaderMap, Method};
use chrono::Utc;
use payhub_core::MerchantId;
use payhub_store::{IdempotencyBegin, IdempotentResponse, SavedResponse, Store, StoreError};
use sha2::{Digest, Sha256};

use crate::config::Settings;

/// The request header carrying the key.
pub const HEADER: &str = "idempotency-key";
const MAX_KEY_LEN: usize = 255;

/// A valid idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

/// Why a key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyRejection {
    #[error("Idempotency-Key must be 1 to 255 visible ASCII characters")]
    InvalidKey,
    #[error("this Idempotency-Key was already used with a different request")]
    KeyReused,
    #[error("a request with this Idempotency-Key is still being processed; retry later")]
    InProgress,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TryFrom<&str> for IdempotencyKey {
    type Error = IdempotencyRejection;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        let valid = !value.is_empty()
            && value.len() <= MAX_KEY_LEN
            && value.bytes().all(|b| b.is_ascii_graphic());
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(IdempotencyRejection::InvalidKey)
        }
    }
}

/// A request running under a key: where its response is to be kept.
/// While any clone of it lives, its lease on the key is renewed.
#[derive(Clone, Debug)]
pub struct IdempotencyScope {
    merchant_id: MerchantId,
    key: IdempotencyKey,
    /// This request's random token on the key (see [`new_claim`]).
    claim: String,
    _lease: Arc<LeaseRenewal>,
}

/// A fresh claim token: which running request holds a key. Only its holder
/// may renew the key's lease, keep its answer or release it, so a request
/// whose lease ran out (and whose key another request took over) can never
/// also commit its work.
fn new_claim() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// The task renewing a running request's lease; stopped when dropped, i.e.
/// when the request has ended.
#[derive(Debug)]
struct LeaseRenewal(tokio::task::JoinHandle<()>);

impl Drop for LeaseRenewal {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl LeaseRenewal {
    /// Renews the claim on `key` every third of `lease` until the key is no
    /// longer `processing` or the renewal is dropped.
    fn start(
        store: Arc<dyn Store>,
        merchant: MerchantId,
        key: String,
        claim: String,
        lease: std::time::Duration,
    ) -> LeaseRenewal {
        let every = (lease / 3).max(std::time::Duration::from_millis(100));
        LeaseRenewal(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match store
                    .renew_idempotent(&merchant, &key, &claim, Utc::now())
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(error) => {
                        tracing::warn!(error = ?error, "could not renew an idempotency lease")
                    }
                }
            }
        }))
    }
}

impl IdempotencyScope {
    /// The record to commit together with the work.
    pub fn keep(&self, response: SavedResponse) -> IdempotentResponse {
        IdempotentResponse {
            merchant_id: self.merchant_id.clone(),
            key: self.key.0.clone(),
            claim: self.claim.clone(),
            response,
        }
    }
}

/// What to do with an incoming POST.
pub enum Admission {
    /// Run the request; `Some` when it carries a key.
    Proceed(Option<IdempotencyScope>),
    /// Answer with the response kept for this key.
    Replay(SavedResponse),
}

/// The fingerprint that tells "the same request" from "a different one".
pub fn fingerprint(method: &Method, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(path.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    hex::encode(hasher.finalize())
}

/// Decides whether a POST runs, is replayed, or is refused.
pub async fn admit(
    store: &Arc<dyn Store>,
    settings: &Settings,
    merchant: &MerchantId,
    headers: &HeaderMap,
    request_fingerprint: &str,
) -> Result<Admission, IdempotencyRejection> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(Admission::Proceed(None));
    };
    let key = IdempotencyKey::try_from(
        value
            .to_str()
            .map_err(|_| IdempotencyRejection::InvalidKey)?,
    )?;
    let now = Utc::now();
    let lease = settings.idempotency_lease;
    let stale_before = now - chrono::Duration::from_std(lease).unwrap_or_default();
    let claim = new_claim();
    match store
        .begin_idempotent(
            merchant,
            &key.0,
            request_fingerprint,
            &claim,
            now,
            stale_before,
        )
        .await?
    {
        IdempotencyBegin::Proceed => {
            let renewal = LeaseRenewal::start(
                store.clone(),
                merchant.clone(),
                key.0.clone(),
                claim.clone(),
                lease,
            );
            Ok(Admission::Proceed(Some(IdempotencyScope {
                merchant_id: merchant.clone(),
                key,
                claim,
                _lease: Arc::new(renewal),
            })))
        }
        IdempotencyBegin::Replay(saved) => Ok(Admission::Replay(saved)),
        IdempotencyBegin::Mismatch => Err(IdempotencyRejection::KeyReused),
        IdempotencyBegin::InProgress => Err(IdempotencyRejection::InProgress),
    }
}

/// Settles a key whose request ended without committing its response:
/// a client error is kept for replay, a server error releases the key.
pub async fn settle_failure(
    store: &dyn Store,
    scope: Option<&IdempotencyScope>,
    response: SavedResponse,
) {
    let Some(scope) = scope else { return };
    let result = if (400..500).contains(&response.status) {
        store
            .complete_idempotent(&scope.keep(response), Utc::now())
            .await
    } else {
        store
            .abandon_idempotent(&scope.merchant_id, &scope.key.0, &scope.claim)
            .await
    };
    if let Err(error) = result {
        // The key stays 'processing' and is taken over once its lease ran out: nothing is lost.
        tracing::warn!(error = ?error, "could not settle an idempotency key");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        assert!(IdempotencyKey::try_from("order-42").is_ok());
        assert!(IdempotencyKey::try_from("x".repeat(255).as_str()).is_ok());
        for bad in ["", "has space", "ünï", &"x".repeat(256)] {
            assert!(IdempotencyKey::try_from(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fingerprints_differ_by_body_and_path() {
        let a = fingerprint(&Method::POST, "/p", b"{}");
        assert_eq!(a, fingerprint(&Method::POST, "/p", b"{}"));
        assert_ne!(a, fingerprint(&Method::POST, "/p", b"{ }"));
        assert_ne!(a, fingerprint(&Method::POST, "/r", b"{}"));
    }
}
