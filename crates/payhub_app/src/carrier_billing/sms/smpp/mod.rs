//! An SMS connector speaking SMPP v3.4 to an operator's SMSC.
//!
//! No crate was taken: `rusmpp`/`rusmppc` (the maintained tokio SMPP
//! client) targets SMPP v5 and brings TLS stacks payhub does not need
//! here; an ESME that submits messages needs only a handful of PDUs
//! ([`pdu`]), written from the v3.4 specification with byte-level tests.
//!
//! One session per payhub node ([`session`]): it binds as a transceiver
//! (default; delivery receipts, `deliver_sm` with `esm_class` 0x04, come
//! back on the same bind and are logged) or as a transmitter
//! (`PAYHUB_SMPP_BIND=transmitter`, for accounts that may only submit;
//! receipts then go to whichever receiver the operator set up). It keeps
//! the bind up with `enquire_link` and binds again after a lost
//! connection, at once and then with a doubling wait (250 ms up to a
//! minute) while the SMSC cannot be reached. Every message asks for a
//! delivery receipt (`registered_delivery` 1) and goes in the GSM 7-bit
//! default alphabet or UCS-2 ([`coding`]), split with a concatenation UDH
//! when long. A `submit_sm_resp` with a non-zero `command_status`, no
//! answer in time or no bind is a send failure ([`super::SmsError`]).

pub mod coding;
pub mod pdu;
mod session;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::{mpsc, oneshot};

use self::pdu::{Address, ShortMessage};
use super::{Sms, SmsError, SmsGateway};

/// How payhub binds to the SMSC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindMode {
    /// Submits only; the SMSC sends nothing back on this bind.
    Transmitter,
    /// Submits and receives (delivery receipts) on one bind.
    Transceiver,
}

/// Where the SMSC is and how payhub logs in.
#[derive(Clone, Debug)]
pub struct SmppConfig {
    pub host: String,
    pub port: u16,
    /// Up to 15 characters (SMPP `system_id`).
    pub system_id: String,
    /// Up to 8 characters (SMPP `password`); never logged.
    pub password: SecretString,
    /// Up to 12 characters, often empty (SMPP `system_type`).
    pub system_type: String,
    /// The sender the subscriber sees: digits (an international number or
    /// a short code) or up to 11 letters and digits (alphanumeric).
    pub source_addr: String,
    pub bind: BindMode,
    /// How long the link may stay quiet before payhub sends `enquire_link`.
    pub enquire_link_interval: Duration,
    /// How long payhub waits for a connection, a bind or any response.
    pub response_timeout: Duration,
}

/// The type of number and numbering plan of the sender: international
/// E.164 digits (TON 1, NPI 1), a short code (TON 3 network specific,
/// NPI 0 — up to 8 digits) or alphanumeric (TON 5, NPI 0).
pub fn source_address(source: &str) -> Address {
    let (ton, npi) = if !source.is_empty() && source.bytes().all(|b| b.is_ascii_digit()) {
        if source.len() <= 8 {
            (3, 0)
        } else {
            (1, 1)
        }
    } else {
        (5, 0)
    };
    Address {
        ton,
        npi,
        addr: source.to_owned(),
    }
}

/// The SMS centre as an SMPP client.
pub struct SmppGateway {
    requests: mpsc::Sender<session::Request>,
    source: Address,
    /// Tells one long text's parts from another's (the UDH reference).
    reference: AtomicU8,
    send_timeout: Duration,
}

impl SmppGateway {
    /// Starts the session (it connects and binds in the background, so
    /// payhub starts while the SMSC is away) and answers `send`s through it.
    pub fn start(config: SmppConfig) -> SmppGateway {
        let (requests, receiver) = mpsc::channel(256);
        let source = source_address(&config.source_addr);
        // A connection, a bind and the submit's answer, each within the timeout.
        let send_timeout = config.response_timeout.saturating_mul(3);
        tokio::spawn(session::run(Arc::new(config), receiver));
        SmppGateway {
            requests,
            source,
            reference: AtomicU8::new(rand::random()),
            send_timeout,
        }
    }

    /// The `submit_sm` bodies for a text to a number.
    fn messages(&self, msisdn: &str, text: &str) -> Result<Vec<ShortMessage>, SmsError> {
        let reference = self.reference.fetch_add(1, Ordering::Relaxed);
        let encoded =
            coding::encode(text, reference).map_err(|e| SmsError::Invalid(e.to_string()))?;
        Ok(encoded
            .parts
            .into_iter()
            .map(|part| ShortMessage {
                source: self.source.clone(),
                destination: Address {
                    ton: 1,
                    npi: 1,
                    addr: msisdn.to_owned(),
                },
                esm_class: encoded.esm_class,
                registered_delivery: 1,
                data_coding: encoded.data_coding,
                short_message: part,
                ..Default::default()
            })
            .collect())
    }
}

#[async_trait::async_trait]
impl SmsGateway for SmppGateway {
    async fn send(&self, sms: &Sms) -> Result<(), SmsError> {
        let messages = self.messages(&sms.msisdn, &sms.text)?;
        let parts = messages.len();
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(session::Request { messages, reply })
            .await
            .map_err(|_| SmsError::Unavailable("the SMPP session has stopped".into()))?;
        let message_ids = match tokio::time::timeout(self.send_timeout, answer).await {
            Ok(Ok(result)) => result?,
            Ok(Err(_)) => {
                return Err(SmsError::Unavailable(
                    "the SMPP session dropped the message".into(),
                ))
            }
            Err(_) => {
                return Err(SmsError::Unavailable(
                    "the SMSC did not accept the message in time".into(),
                ))
            }
        };
        tracing::info!(
            msisdn = sms.msisdn.as_str(),
            transaction.id = sms.transaction_id.as_str(),
            parts,
            smsc.message_ids = ?message_ids,
            "consent SMS accepted by the SMSC"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sender_address_type_follows_its_form() {
        let kinds = [
            ("905321234567", (1, 1)),
            ("4455", (3, 0)),
            ("PAYHUB", (5, 0)),
            ("Shop24", (5, 0)),
        ];
        for (source, (ton, npi)) in kinds {
            let address = source_address(source);
            assert_eq!((address.ton, address.npi), (ton, npi), "{source}");
        }
    }
}
