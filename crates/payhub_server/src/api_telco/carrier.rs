//! The carrier billing system payhub charges subscribers' bills through.
//!
//! This machine reaches no real one, so [`SimulatedCarrier`] stands in: it
//! keeps each subscriber's reserved and charged amounts in memory and refuses
//! anything beyond the subscriber's spending limit (one limit for every
//! subscriber, `PAYHUB_TELCO_SPENDING_LIMIT_MINOR`). Like the simulated
//! gateways, it forgets everything when payhub restarts: a reservation it no
//! longer knows is treated as released.

use std::collections::HashMap;
use std::sync::Mutex;

use rand::RngCore;

/// Why the carrier refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CarrierError {
    #[error("the subscriber's spending limit leaves {available} minor units; {requested} asked")]
    LimitExceeded { available: i64, requested: i64 },
    #[error("the carrier does not know this reservation")]
    UnknownReservation,
}

#[derive(Default)]
struct Books {
    /// Per subscriber: (reserved, charged) in minor units.
    subscribers: HashMap<String, (i64, i64)>,
    /// Open reservations: reference → (msisdn, amount).
    reservations: HashMap<String, (String, i64)>,
}

/// The in-memory carrier billing system.
pub struct SimulatedCarrier {
    limit_minor: i64,
    books: Mutex<Books>,
}

impl SimulatedCarrier {
    pub fn new(limit_minor: i64) -> SimulatedCarrier {
        SimulatedCarrier {
            limit_minor,
            books: Mutex::default(),
        }
    }

    fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn reference(prefix: &str) -> String {
        format!("{prefix}{:016x}", rand::thread_rng().next_u64())
    }

    /// Takes `amount` out of the subscriber's limit, or refuses.
    fn take(books: &mut Books, limit: i64, msisdn: &str, amount: i64) -> Result<(), CarrierError> {
        let (reserved, charged) = books.subscribers.entry(msisdn.to_owned()).or_default();
        let available = limit
            .saturating_sub(*reserved)
            .saturating_sub(*charged)
            .max(0);
        if amount > available {
            return Err(CarrierError::LimitExceeded {
                available,
                requested: amount,
            });
        }
        *reserved += amount;
        Ok(())
    }

    /// Reserves `amount` on the subscriber's bill; returns the reservation.
    pub fn reserve(&self, msisdn: &str, amount: i64) -> Result<String, CarrierError> {
        let mut books = self.books();
        Self::take(&mut books, self.limit_minor, msisdn, amount)?;
        let reference = Self::reference("rsv_");
        books
            .reservations
            .insert(reference.clone(), (msisdn.to_owned(), amount));
        Ok(reference)
    }

    /// Turns a reservation into a charge on the bill.
    pub fn commit(&self, reference: &str) -> Result<(), CarrierError> {
        let mut books = self.books();
        let (msisdn, amount) = books
            .reservations
            .remove(reference)
            .ok_or(CarrierError::UnknownReservation)?;
        let (reserved, charged) = books.subscribers.entry(msisdn).or_default();
        *reserved -= amount;
        *charged += amount;
        Ok(())
    }

    /// Gives a reservation's amount back to the subscriber's limit.
    pub fn release(&self, reference: &str) -> Result<(), CarrierError> {
        let mut books = self.books();
        let (msisdn, amount) = books
            .reservations
            .remove(reference)
            .ok_or(CarrierError::UnknownReservation)?;
        let (reserved, _) = books.subscribers.entry(msisdn).or_default();
        *reserved -= amount;
        Ok(())
    }

    /// Charges the bill at once; returns the charge's reference.
    pub fn charge(&self, msisdn: &str, amount: i64) -> Result<String, CarrierError> {
        let mut books = self.books();
        Self::take(&mut books, self.limit_minor, msisdn, amount)?;
        let (reserved, charged) = books.subscribers.entry(msisdn.to_owned()).or_default();
        *reserved -= amount;
        *charged += amount;
        Ok(Self::reference("chg_"))
    }

    /// Credits a refund back on the subscriber's bill; returns its reference.
    pub fn credit(&self, msisdn: &str, amount: i64) -> String {
        let mut books = self.books();
        let (_, charged) = books.subscribers.entry(msisdn.to_owned()).or_default();
        *charged = charged.saturating_sub(amount).max(0);
        Self::reference("crd_")
    }

    /// What the subscriber has been charged (minor units).
    pub fn charged(&self, msisdn: &str) -> i64 {
        self.books().subscribers.get(msisdn).map_or(0, |s| s.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_counts_reservations_and_charges() {
        let carrier = SimulatedCarrier::new(1000);
        let first = carrier.reserve("905321234567", 600).unwrap_or_default();
        assert_eq!(
            carrier.charge("905321234567", 500),
            Err(CarrierError::LimitExceeded {
                available: 400,
                requested: 500
            })
        );
        assert!(carrier.charge("905321234567", 400).is_ok());
        assert_eq!(carrier.release(&first), Ok(()));
        assert_eq!(
            carrier.release(&first),
            Err(CarrierError::UnknownReservation)
        );
        let second = carrier.reserve("905321234567", 600).unwrap_or_default();
        assert_eq!(carrier.commit(&second), Ok(()));
        assert_eq!(carrier.charged("905321234567"), 1000);
        assert!(carrier.reserve("905321234567", 1).is_err());
        assert!(
            carrier.reserve("905559876543", 1000).is_ok(),
            "limits are per subscriber"
        );
    }
}
