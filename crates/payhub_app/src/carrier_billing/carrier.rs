//! The carrier billing system payhub charges subscribers' bills through,
//! behind one interface ([`Carrier`]) with two implementations:
//!
//! - [`SimulatedCarrier`], the sandbox default: it keeps each subscriber's
//!   reserved and charged amounts in the database (`carrier_subscribers`,
//!   `carrier_entries`), so every node of a cluster sees the same bill, and
//!   refuses anything beyond the subscriber's spending limit (one limit for
//!   every subscriber, `PAYHUB_TELCO_SPENDING_LIMIT_MINOR`).
//! - [`super::camara::CamaraCarrier`], a client of an operator's GSMA CAMARA
//!   Carrier Billing API.
//!
//! Like a real carrier API, every booking carries a key: a reservation or a
//! charge the transaction (its payment id), a credit its refund. Asking
//! again under the same key books nothing new and answers the first
//! booking's reference, so a retry after an unknown outcome is safe.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use payhub_core::carrier_billing::basket::Basket;
use payhub_core::carrier_billing::BookingReport;
use payhub_core::Money;
use payhub_store::{CarrierAnswer, CarrierEntry, CarrierOp, Store};
use rand::RngCore;

/// Why the carrier refused, or gave no answer. The telco dialect shows
/// every refusal as `PAYMENT_FAILED` (docs/TELCO.md lists which carrier
/// answer becomes which variant).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CarrierError {
    #[error("the subscriber's spending limit leaves {available} minor units; {requested} asked")]
    LimitExceeded { available: i64, requested: i64 },
    /// The carrier refused the amount: over the subscriber's accumulated
    /// threshold, balance or an amount the regulation allows (it does not
    /// say how much is left).
    #[error("the carrier refused the amount (a spending limit, threshold or balance)")]
    AmountRefused,
    /// The carrier does not know the phone number, or does not offer
    /// carrier billing on it.
    #[error("the carrier does not bill this phone number")]
    UnknownSubscriber,
    /// The carrier denied the payment by its own rules (a blocked line, a
    /// payment or refund it will not make).
    #[error("the carrier denied the payment")]
    Denied,
    #[error("the carrier does not know this reservation")]
    UnknownReservation,
    /// The carrier refused the request itself (malformed, unauthorised,
    /// not supported): nothing was booked. A configuration or protocol
    /// fault, logged where it is seen.
    #[error("the carrier rejected the request: {0}")]
    Rejected(String),
    /// No answer in time (or its books could not be written): the outcome is
    /// unknown. Asking again under the same key is safe.
    #[error("the carrier did not answer")]
    Unavailable,
}

/// A reservation or charge to book: the amount and what it pays for.
#[derive(Clone, Copy, Debug)]
pub struct BillRequest<'a> {
    /// The booking's key (the transaction's payment id): booked once.
    pub key: &'a str,
    pub msisdn: &'a str,
    pub amount: Money,
    /// The basket as approved; items the subscriber removed are not charged.
    pub basket: &'a Basket,
    /// The calling service (the merchant) the payment is for.
    pub merchant: &'a str,
}

/// A credit back on the bill (a refund, or a charge taken back).
#[derive(Clone, Copy, Debug)]
pub struct BillCredit<'a> {
    /// The credit's key (the refund): credited once.
    pub key: &'a str,
    pub msisdn: &'a str,
    pub amount: Money,
    /// The carrier's reference of the charge or committed reservation
    /// being credited.
    pub charge: Option<&'a str>,
}

/// A reservation or charge as the carrier reports it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Booked {
    /// The carrier's reference of it.
    pub reference: String,
    pub report: BookingReport,
    /// The amount it holds or charged, as the carrier reports it.
    pub amount: Money,
}

/// The carrier billing system: reserve, commit, release, charge and credit
/// on a subscriber's bill. Every call answers in bounded time; a call
/// whose outcome is unknown answers [`CarrierError::Unavailable`], and
/// asking again (same key or reference) is safe.
#[async_trait::async_trait]
pub trait Carrier: Send + Sync {
    /// Reserves the amount on the subscriber's bill; returns the reservation.
    async fn reserve(&self, request: &BillRequest<'_>) -> Result<String, CarrierError>;
    /// Turns a reservation into a charge on the bill (once).
    async fn commit(&self, reference: &str, msisdn: &str) -> Result<(), CarrierError>;
    /// Gives a reservation's amount back to the subscriber.
    async fn release(&self, reference: &str, msisdn: &str) -> Result<(), CarrierError>;
    /// Charges the bill at once; returns the charge.
    async fn charge(&self, request: &BillRequest<'_>) -> Result<String, CarrierError>;
    /// Credits an amount back on the bill; returns the credit.
    async fn credit(&self, credit: &BillCredit<'_>) -> Result<String, CarrierError>;
    /// The reservation or charge booked under `key` (a transaction's
    /// payment id) as the carrier reports it now; `None` when it holds
    /// none. `reference` names the booking when payhub or the carrier's
    /// notification knows it; a booking found under it that was made under
    /// another key is not this one.
    async fn booking(
        &self,
        key: &str,
        reference: Option<&str>,
        currency: payhub_core::Currency,
    ) -> Result<Option<Booked>, CarrierError>;
}

/// How the simulated carrier's entry stands, in the carrier's terms.
fn entry_report(entry: &CarrierEntry) -> BookingReport {
    match (entry.kind.as_str(), entry.state.as_str()) {
        ("reservation", "open") => BookingReport::Reserved,
        ("reservation", "released") => BookingReport::Cancelled,
        _ => BookingReport::Charged,
    }
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
}

#[async_trait::async_trait]
impl Carrier for SimulatedCarrier {
    async fn reserve(&self, request: &BillRequest<'_>) -> Result<String, CarrierError> {
        let op = CarrierOp::Reserve {
            key: request.key.to_owned(),
            msisdn: request.msisdn.to_owned(),
            amount_minor: request.amount.amount_minor(),
            limit_minor: self.limit_minor,
        };
        self.book(op, "rsv_").await
    }

    async fn commit(&self, reference: &str, _msisdn: &str) -> Result<(), CarrierError> {
        let op = CarrierOp::Commit {
            reference: reference.to_owned(),
        };
        self.book(op, "rsv_").await.map(|_| ())
    }

    async fn release(&self, reference: &str, _msisdn: &str) -> Result<(), CarrierError> {
        let op = CarrierOp::Release {
            reference: reference.to_owned(),
        };
        self.book(op, "rsv_").await.map(|_| ())
    }

    async fn charge(&self, request: &BillRequest<'_>) -> Result<String, CarrierError> {
        let op = CarrierOp::Charge {
            key: request.key.to_owned(),
            msisdn: request.msisdn.to_owned(),
            amount_minor: request.amount.amount_minor(),
            limit_minor: self.limit_minor,
        };
        self.book(op, "chg_").await
    }

    async fn credit(&self, credit: &BillCredit<'_>) -> Result<String, CarrierError> {
        let op = CarrierOp::Credit {
            key: credit.key.to_owned(),
            msisdn: credit.msisdn.to_owned(),
            amount_minor: credit.amount.amount_minor(),
        };
        self.book(op, "crd_").await
    }

    async fn booking(
        &self,
        key: &str,
        _reference: Option<&str>,
        currency: payhub_core::Currency,
    ) -> Result<Option<Booked>, CarrierError> {
        let entry = self.store.carrier_booking(key).await.map_err(|error| {
            tracing::warn!(error.cause_chain = ?error, "the simulated carrier cannot read its books");
            CarrierError::Unavailable
        })?;
        entry
            .map(|entry| {
                let amount = Money::from_minor(entry.amount_minor, currency)
                    .map_err(|e| CarrierError::Rejected(e.to_string()))?;
                Ok(Booked {
                    report: entry_report(&entry),
                    reference: entry.reference,
                    amount,
                })
            })
            .transpose()
    }
}
