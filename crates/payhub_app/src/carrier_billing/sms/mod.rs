//! Text messages to subscribers, behind one interface ([`SmsGateway`])
//! with two implementations:
//!
//! - [`SimulatedSms`], the sandbox default: this machine reaches no SMS
//!   centre, so it keeps what it "sent" in the database (`sandbox_sms`, the
//!   newest 10000), where the sandbox endpoint `GET /sandbox/v1/sms?msisdn=…`
//!   lists it (with the one-time code) for the service that caused it, on
//!   whichever node is asked.
//! - [`smpp::SmppGateway`], a client of an operator's SMSC over SMPP v3.4.
//!
//! [`text`] writes the consent message in the subscriber's language.

pub mod smpp;
pub mod text;

use std::sync::Arc;

pub use payhub_store::SandboxSms as Sms;
use payhub_store::Store;

/// Why a message was not sent. Either way the subscriber did not get it
/// (as far as payhub can tell), so the transaction that needed it fails.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// The SMS centre answered and refused it (SMPP `command_status`).
    #[error("the SMS centre refused the message ({name}, command_status {status:#010x})")]
    Refused { status: u32, name: &'static str },
    /// The SMS centre could not be reached, refused payhub's bind, or did
    /// not answer in time.
    #[error("the SMS centre is unavailable: {0}")]
    Unavailable(String),
    /// The text cannot be sent as SMS (too long, an address out of range).
    #[error("the message cannot be sent as SMS: {0}")]
    Invalid(String),
}

/// Something that sends a text message to a subscriber.
#[async_trait::async_trait]
pub trait SmsGateway: Send + Sync {
    /// Sends `sms.text` to `sms.msisdn`; `Ok` once the SMS centre accepted
    /// it (delivery to the handset comes later, if at all).
    async fn send(&self, sms: &Sms) -> Result<(), SmsError>;
}

/// The simulated SMS centre.
pub struct SimulatedSms {
    store: Arc<dyn Store>,
}

impl SimulatedSms {
    pub fn new(store: Arc<dyn Store>) -> SimulatedSms {
        SimulatedSms { store }
    }
}

#[async_trait::async_trait]
impl SmsGateway for SimulatedSms {
    async fn send(&self, sms: &Sms) -> Result<(), SmsError> {
        tracing::info!(
            msisdn = sms.msisdn.as_str(),
            transaction.id = sms.transaction_id.as_str(),
            "consent SMS sent (simulated)"
        );
        self.store
            .insert_sandbox_sms(sms)
            .await
            .map_err(|error| SmsError::Unavailable(format!("the sandbox store: {error}")))
    }
}
