//! The subscriber's phone bill and the SMS centre, as the telco payment
//! service uses them: simulated inside payhub by default (the sandbox),
//! keeping their books in the database so every node shares them; the bill
//! may instead be an operator's CAMARA Carrier Billing API, and the SMS
//! centre an operator's SMSC over SMPP.
//!
//! - [`carrier`]: reserve, commit, release, charge and credit on a bill
//!   (the [`carrier::Carrier`] interface and the simulated carrier).
//! - [`camara`]: the client of a CAMARA Carrier Billing API.
//! - [`sms`]: the SMS centre that sends consent codes (the
//!   [`sms::SmsGateway`] interface, the simulated one and the SMPP client).
//! - [`bill_refund`]: refunds credited back on the bill, and their checker.
//!
//! And a transaction's life, whoever moves it (the telco dialect translates
//! its requests and pages into these calls):
//!
//! - [`transactions`]: a request recorded pending consent, the SMS sent.
//! - [`consent`]: the subscriber approves (the bill booked or the card
//!   payment started) or declines.
//! - [`reservation`]: the service commits or releases a reservation.
//! - [`card`]: a card transaction follows its gateway payment's end.
//! - [`deadlines`]: consents and reservations that ran out of time.
//! - [`basket`]: the basket as the store keeps it.

pub mod basket;
pub mod bill_refund;
pub mod camara;
pub mod card;
pub mod carrier;
mod changes;
pub mod consent;
pub mod deadlines;
pub mod reports;
pub mod reservation;
pub mod sms;
pub mod transactions;

use std::sync::Arc;
use std::time::Duration;

use payhub_store::Store;

/// The carrier billing system and the SMS centre.
pub struct CarrierBilling {
    pub carrier: Box<dyn carrier::Carrier>,
    pub sms: Box<dyn sms::SmsGateway>,
}

impl CarrierBilling {
    /// The simulated carrier and SMS centre, keeping their books in `store`.
    /// The carrier refuses charges beyond `spending_limit_minor` per
    /// subscriber and answers after `latency`; a call longer than
    /// `call_timeout` counts as unanswered.
    pub fn simulated(
        store: Arc<dyn Store>,
        spending_limit_minor: i64,
        latency: Duration,
        call_timeout: Duration,
    ) -> CarrierBilling {
        CarrierBilling {
            carrier: Box::new(carrier::SimulatedCarrier::new(
                store.clone(),
                spending_limit_minor,
                latency,
                call_timeout,
            )),
            sms: Box::new(sms::SimulatedSms::new(store)),
        }
    }

    /// The same, with `sms` as the SMS centre.
    pub fn with_sms(self, sms: Box<dyn sms::SmsGateway>) -> CarrierBilling {
        CarrierBilling { sms, ..self }
    }

    /// An operator's carrier billing system behind `carrier`, with the
    /// simulated SMS centre keeping its texts in `store`.
    pub fn with_carrier(
        carrier: Box<dyn carrier::Carrier>,
        store: Arc<dyn Store>,
    ) -> CarrierBilling {
        CarrierBilling {
            carrier,
            sms: Box::new(sms::SimulatedSms::new(store)),
        }
    }
}
