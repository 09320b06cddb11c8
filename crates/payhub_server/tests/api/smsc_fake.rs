//! A fake SMSC on 127.0.0.1 speaking SMPP v3.4, for the SMPP connector's
//! tests: it accepts `bind_transmitter`/`bind_transceiver` with the right
//! system_id and password (else `ESME_RINVSYSID`/`ESME_RINVPASWD`),
//! answers `submit_sm` with a message id and `enquire_link`, reassembles
//! concatenated parts (UDH) and records every message decoded. It can be
//! told to refuse the next submit with a given `command_status`, to drop
//! every connection, or to send a delivery receipt (`deliver_sm`) on every
//! transceiver bind, counting the `deliver_sm_resp`s it gets back.
//!
//! The PDUs' wire form is payhub's own codec (`smpp::pdu`, pinned by its
//! byte-level tests from the specification); the text is decoded here
//! independently of payhub's encoder: UTF-16BE for UCS-2, and a decoder
//! written from 3GPP TS 23.038's table for the GSM default alphabet.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use payhub_app::carrier_billing::sms::smpp::pdu::{
    read_pdu, status, write_pdu, Address, Bind, Command, Pdu, ShortMessage,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, watch};

pub const SYSTEM_ID: &str = "payhub";
pub const PASSWORD: &str = "sms-pw";

/// A message as the SMSC took it (all parts joined).
#[derive(Clone, Debug)]
pub struct Received {
    pub source: String,
    pub destination: String,
    pub data_coding: u8,
    pub esm_class: u8,
    pub registered_delivery: u8,
    pub parts: usize,
    pub text: String,
}

#[derive(Default)]
struct State {
    messages: Vec<Received>,
    /// (system_id, the status answered).
    binds: Vec<(String, u32)>,
    enquire_links: usize,
    receipts_acknowledged: usize,
    refuse_next: Option<u32>,
    /// Parts of long messages, by (destination, reference).
    partial: HashMap<(String, u8), Vec<Option<Vec<u8>>>>,
    /// Anything a real SMSC would reject or that payhub should not send.
    problems: Vec<String>,
    next_id: u64,
}

pub struct FakeSmsc {
    pub port: u16,
    state: Arc<Mutex<State>>,
    drop_all: watch::Sender<u64>,
    receipts: broadcast::Sender<String>,
}

impl FakeSmsc {
    pub async fn start() -> FakeSmsc {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let (drop_all, dropped) = watch::channel(0u64);
        let (receipts, _) = broadcast::channel(16);
        let shared = state.clone();
        let pushed = receipts.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let link = Link {
                    dropped: dropped.clone(),
                    receipts: pushed.subscribe(),
                };
                tokio::spawn(serve(stream, shared.clone(), link));
            }
        });
        FakeSmsc {
            port,
            state,
            drop_all,
            receipts,
        }
    }

    pub fn messages(&self) -> Vec<Received> {
        self.state.lock().unwrap().messages.clone()
    }

    pub fn binds(&self) -> Vec<(String, u32)> {
        self.state.lock().unwrap().binds.clone()
    }

    pub fn enquire_links(&self) -> usize {
        self.state.lock().unwrap().enquire_links
    }

    pub fn problems(&self) -> Vec<String> {
        self.state.lock().unwrap().problems.clone()
    }

    /// The next `submit_sm` is answered with `status` (and not delivered).
    pub fn refuse_next_submit(&self, status: u32) {
        self.state.lock().unwrap().refuse_next = Some(status);
    }

    /// Sends a delivery receipt for `message_id` (SMPP v3.4 appendix B)
    /// on every transceiver bind.
    pub fn send_receipt(&self, message_id: &str) {
        let text = format!(
            "id:{message_id} sub:001 dlvrd:001 submit date:2611250200 done date:2611250201 stat:DELIVRD err:000 text:"
        );
        let _ = self.receipts.send(text);
    }

    /// How many `deliver_sm` payhub answered with `deliver_sm_resp`.
    pub fn receipts_acknowledged(&self) -> usize {
        self.state.lock().unwrap().receipts_acknowledged
    }

    /// Closes every connection open now.
    pub fn drop_connections(&self) {
        self.drop_all.send_modify(|generation| *generation += 1);
    }

    /// Waits until `count` binds were accepted.
    pub async fn accepted_binds(&self, count: usize) {
        for _ in 0..200 {
            let accepted = self
                .binds()
                .iter()
                .filter(|(_, status)| *status == status::ESME_ROK)
                .count();
            if accepted >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("fewer than {count} binds: {:?}", self.binds());
    }
}

/// What the test tells every connection.
struct Link {
    dropped: watch::Receiver<u64>,
    receipts: broadcast::Receiver<String>,
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>, mut link: Link) {
    link.dropped.borrow_and_update();
    let mut bound = false;
    let mut transceiver = false;
    let mut sequence = 0x1000u32;
    loop {
        let pdu = tokio::select! {
            _ = link.dropped.changed() => return,
            receipt = link.receipts.recv() => {
                let Ok(text) = receipt else { continue };
                if transceiver {
                    sequence += 1;
                    let receipt = ShortMessage {
                        source: Address { ton: 1, npi: 1, addr: "905321234567".into() },
                        esm_class: 0x04,
                        short_message: text.into_bytes(),
                        ..Default::default()
                    };
                    if write_pdu(&mut stream, &Pdu::new(sequence, Command::DeliverSm(receipt))).await.is_err() {
                        return;
                    }
                }
                continue;
            }
            pdu = read_pdu(&mut stream) => match pdu {
                Ok(pdu) => pdu,
                Err(_) => return,
            },
        };
        let (status, command, close) = match pdu.command {
            Command::BindTransmitter(bind) => {
                let status = check_bind(&state, &bind);
                bound = status == status::ESME_ROK;
                (
                    status,
                    Command::BindTransmitterResp {
                        system_id: "FAKESMSC".into(),
                    },
                    !bound,
                )
            }
            Command::BindTransceiver(bind) => {
                let status = check_bind(&state, &bind);
                bound = status == status::ESME_ROK;
                transceiver = bound;
                (
                    status,
                    Command::BindTransceiverResp {
                        system_id: "FAKESMSC".into(),
                    },
                    !bound,
                )
            }
            Command::SubmitSm(message) if bound => {
                let (status, message_id) = submit(&state, message);
                (status, Command::SubmitSmResp { message_id }, false)
            }
            Command::SubmitSm(_) => (
                status::ESME_RINVBNDSTS,
                Command::SubmitSmResp {
                    message_id: String::new(),
                },
                false,
            ),
            Command::EnquireLink => {
                state.lock().unwrap().enquire_links += 1;
                (status::ESME_ROK, Command::EnquireLinkResp, false)
            }
            Command::Unbind => (status::ESME_ROK, Command::UnbindResp, true),
            Command::DeliverSmResp => {
                state.lock().unwrap().receipts_acknowledged += 1;
                continue;
            }
            _ => (status::ESME_RINVCMDID, Command::GenericNack, false),
        };
        let answer = Pdu {
            status,
            sequence: pdu.sequence,
            command,
        };
        if write_pdu(&mut stream, &answer).await.is_err() || close {
            return;
        }
    }
}

fn check_bind(state: &Mutex<State>, bind: &Bind) -> u32 {
    let status = if bind.system_id != SYSTEM_ID {
        status::ESME_RINVSYSID
    } else if bind.password != PASSWORD {
        status::ESME_RINVPASWD
    } else {
        status::ESME_ROK
    };
    let mut state = state.lock().unwrap();
    if bind.interface_version != 0x34 {
        state
            .problems
            .push(format!("interface_version {:#x}", bind.interface_version));
    }
    state.binds.push((bind.system_id.clone(), status));
    status
}

/// Takes a message (or a part of one): the status and message id to answer.
fn submit(state: &Mutex<State>, message: ShortMessage) -> (u32, String) {
    let mut state = state.lock().unwrap();
    if let Some(status) = state.refuse_next.take() {
        return (status, String::new());
    }
    state.next_id += 1;
    let message_id = format!("fake-{}", state.next_id);
    if (message.destination.ton, message.destination.npi) != (1, 1) {
        state
            .problems
            .push(format!("destination {:?}", message.destination));
    }
    let (payload, parts) = if message.esm_class & 0x40 != 0 {
        let udh_length = usize::from(message.short_message[0]);
        let udh = &message.short_message[1..=udh_length];
        // 8-bit reference concatenation: 00 03 ref total seq.
        assert_eq!(udh[..2], [0x00, 0x03], "a concatenation element");
        let (reference, total, sequence) = (udh[2], usize::from(udh[3]), usize::from(udh[4]));
        let key = (message.destination.addr.clone(), reference);
        let slots = state
            .partial
            .entry(key.clone())
            .or_insert_with(|| vec![None; total]);
        slots[sequence - 1] = Some(message.short_message[udh_length + 1..].to_vec());
        if slots.iter().any(Option::is_none) {
            return (status::ESME_ROK, message_id);
        }
        let slots = state.partial.remove(&key).unwrap();
        (slots.into_iter().flatten().flatten().collect(), total)
    } else {
        (message.short_message.clone(), 1)
    };
    let text = match message.data_coding {
        0x08 => {
            let units: Vec<u16> = payload
                .chunks(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
                .collect();
            String::from_utf16(&units).unwrap()
        }
        0x00 => {
            if payload.iter().any(|octet| *octet > 0x7F) {
                state
                    .problems
                    .push("an octet above 0x7F in GSM 7-bit".into());
            }
            gsm7_decode(&payload)
        }
        other => {
            state.problems.push(format!("data_coding {other:#x}"));
            String::new()
        }
    };
    state.messages.push(Received {
        source: message.source.addr.clone(),
        destination: message.destination.addr.clone(),
        data_coding: message.data_coding,
        esm_class: message.esm_class,
        registered_delivery: message.registered_delivery,
        parts,
        text,
    });
    (status::ESME_ROK, message_id)
}

/// The GSM 03.38 default alphabet, unpacked (one septet per octet), with
/// the extension characters after 0x1B; U+FFFD for what the tests do
/// not expect.
fn gsm7_decode(septets: &[u8]) -> String {
    let mut text = String::new();
    let mut escaped = false;
    for &septet in septets {
        if escaped {
            escaped = false;
            text.push(match septet {
                0x28 => '{',
                0x29 => '}',
                0x3C => '[',
                0x3E => ']',
                0x65 => '€',
                _ => '\u{FFFD}',
            });
            continue;
        }
        text.push(match septet {
            0x00 => '@',
            0x02 => '$',
            0x0A => '\n',
            0x0D => '\r',
            0x11 => '_',
            0x1B => {
                escaped = true;
                continue;
            }
            0x24 => '¤',
            0x40 => '¡',
            0x20..=0x3F | 0x41..=0x5A | 0x61..=0x7A => char::from(septet),
            0x5B => 'Ä',
            0x5C => 'Ö',
            0x5D => 'Ñ',
            0x5E => 'Ü',
            0x5F => '§',
            0x60 => '¿',
            0x7B => 'ä',
            0x7C => 'ö',
            0x7D => 'ñ',
            0x7E => 'ü',
            0x7F => 'à',
            _ => '\u{FFFD}',
        });
    }
    text
}
