//! The carrier billing system payhub charges subscribers' bills through.
//!
//! This machine reaches no real one, so [`SimulatedCarrier`] stands in: it
//! keeps each subscriber's reserved and charged amounts in the database
//! (`carrier_subscribers`, `carrier_entries`), so every node of a cluster
//! sees the same bill, and refuses anything beyond the subscriber's spending
//! limit (one limit for every subscriber,
//! `PAYHUB_TELCO_SPENDING_LIMIT_MINOR`).
//!
//! Like a real carrier API, every booking carries a key: a reservation or a
//! charge the transaction (its payment id), a credit its refund. Asking
//! again under the same key books nothing new and answers the first
//! booking's reference, so a retry after an unknown outcome is safe.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use payhub_store::{CarrierAnswer, CarrierOp, Store};
use rand::RngCore;

/// Why the carrier refused, or gave no answer.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CarrierError {
    #[error("the subscriber's spending limit leaves {available} minor units; {requested} asked")]
    LimitExceeded { available: i64, requested: i64 },
    #[error("the carrier does not know this reservation")]
    UnknownReservation,
    /// No answer in time (or its books could not be written): the outcome is
    /// unknown. Asking again under the same key is safe.
    #[error("the carrier did not answer")]
    Unavailable,
}

/// The simulated carrier billing system, on the shared database.
pub struct SimulatedCarrier {
    store: Arc<dyn Store>,
    limit_minor: i64,
    /// How long it takes to answer (tests use it to leave a call unanswered).
    latency: Duration,
    /// How long payhub waits for an answer.
    timeout: Duration,
}

impl SimulatedCarrier {
    pub fn new(
        store: Arc<dyn Store>,
        limit_minor: i64,
        latency: Duration,
        timeout: Duration,
    ) -> SimulatedCarrier {
        SimulatedCarrier {
            store,
            limit_minor,
            latency,
            timeout,
        }
    }

    fn reference(prefix: &str) -> String {
        format!("{prefix}{:016x}", rand::thread_rng().next_u64())
    }

    /// Books `op` under payhub's time limit; a booking not answered in time
    /// is dropped before it is written, or written whole (one transaction).
    async fn book(&self, op: CarrierOp, prefix: &str) -> Result<String, CarrierError> {
        let reference = Self::reference(prefix);
        let call = async {
            tokio::time::sleep(self.latency).await;
            self.store.book_carrier(&op, &reference, Utc::now()).await
        };
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(CarrierAnswer::Booked(reference))) => Ok(reference),
            Ok(Ok(CarrierAnswer::LimitExceeded {
                available,
                requested,
            })) => Err(CarrierError::LimitExceeded {
                available,
                requested,
            }),
            Ok(Ok(CarrierAnswer::UnknownReservation)) => Err(CarrierError::UnknownReservation),
            Ok(Err(error)) => {
                tracing::warn!(error.cause_chain = ?error, "the simulated carrier cannot write its books");
                Err(CarrierError::Unavailable)
            }
            Err(_) => Err(CarrierError::Unavailable),
        }
    }

    /// Reserves `amount` on the subscriber's bill for the transaction `key`;
    /// returns the reservation.
    pub async fn reserve(
        &self,
        key: &str,
        msisdn: &str,
        amount: i64,
    ) -> Result<String, CarrierError> {
        let op = CarrierOp::Reserve {
            key: key.to_owned(),
            msisdn: msisdn.to_owned(),
            amount_minor: amount,
            limit_minor: self.limit_minor,
        };
        self.book(op, "rsv_").await
    }

    /// Turns a reservation into a charge on the bill (once).
    pub async fn commit(&self, reference: &str) -> Result<(), CarrierError> {
        let op = CarrierOp::Commit {
            reference: reference.to_owned(),
        };
        self.book(op, "rsv_").await.map(|_| ())
    }

    /// Gives a reservation's amount back to the subscriber's limit.
    pub async fn release(&self, reference: &str) -> Result<(), CarrierError> {
        let op = CarrierOp::Release {
            reference: reference.to_owned(),
        };
        self.book(op, "rsv_").await.map(|_| ())
    }

    /// Charges the bill at once for the transaction `key`; returns the charge.
    pub async fn charge(
        &self,
        key: &str,
        msisdn: &str,
        amount: i64,
    ) -> Result<String, CarrierError> {
        let op = CarrierOp::Charge {
            key: key.to_owned(),
            msisdn: msisdn.to_owned(),
            amount_minor: amount,
            limit_minor: self.limit_minor,
        };
        self.book(op, "chg_").await
    }

    /// Credits `amount` back on the subscriber's bill for `key` (a refund,
    /// or a charge taken back); returns the credit.
    pub async fn credit(
        &self,
        key: &str,
        msisdn: &str,
        amount: i64,
    ) -> Result<String, CarrierError> {
        let op = CarrierOp::Credit {
            key: key.to_owned(),
            msisdn: msisdn.to_owned(),
            amount_minor: amount,
        };
        self.book(op, "crd_").await
    }
}
