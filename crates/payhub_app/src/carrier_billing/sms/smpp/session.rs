//! The one SMPP session of a node: connect and bind, submit what
//! [`super::SmppGateway`] asks, answer the SMSC, keep the link alive, and
//! bind again when the connection is lost.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{timeout, Instant};

use super::pdu::{
    read_pdu, status, write_pdu, Bind, Command, Pdu, ReadError, ShortMessage, INTERFACE_VERSION,
};
use super::{BindMode, SmppConfig};
use crate::carrier_billing::sms::SmsError;

/// The first wait before binding again after a failed attempt; it
/// doubles on each failure up to [`RECONNECT_MAX`].
const RECONNECT_FIRST: Duration = Duration::from_millis(250);
const RECONNECT_MAX: Duration = Duration::from_secs(60);
/// The pause before binding again after a session that was up ends, so a
/// peer that accepts binds and drops them at once is not hammered.
const RECONNECT_AFTER_LOSS: Duration = Duration::from_millis(50);

/// One text to submit: its parts, and where the SMSC's message ids (or
/// the failure) go.
pub(super) struct Request {
    pub messages: Vec<ShortMessage>,
    pub reply: oneshot::Sender<Result<Vec<String>, SmsError>>,
}

/// The wait before the `failures`-th bind attempt in a row.
fn backoff(failures: u32) -> Duration {
    let factor = 1u32
        .checked_shl(failures.saturating_sub(1))
        .unwrap_or(u32::MAX);
    RECONNECT_FIRST.saturating_mul(factor).min(RECONNECT_MAX)
}

/// Runs until the gateway is dropped.
pub(super) async fn run(config: Arc<SmppConfig>, mut requests: mpsc::Receiver<Request>) {
    let mut failures = 0u32;
    while !requests.is_closed() || !requests.is_empty() {
        if failures > 0 {
            tokio::time::sleep(backoff(failures)).await;
        }
        match bind(&config).await {
            Ok((stream, sequence)) => {
                failures = 0;
                tracing::info!(
                    smsc.host = config.host.as_str(),
                    smsc.port = config.port,
                    bind = ?config.bind,
                    "bound to the SMSC"
                );
                let mut session = Session::new(&config, sequence);
                match session.serve(stream, &mut requests).await {
                    Ended::Stopped => return,
                    Ended::Lost(reason) => {
                        tracing::warn!(
                            smsc.host = config.host.as_str(),
                            reason,
                            "SMPP connection lost; binding again"
                        );
                        session.fail_all(&reason);
                    }
                }
                tokio::time::sleep(RECONNECT_AFTER_LOSS).await;
            }
            Err(error) => {
                failures = failures.saturating_add(1);
                tracing::error!(
                    smsc.host = config.host.as_str(),
                    smsc.port = config.port,
                    %error,
                    retry_in_ms = u64::try_from(backoff(failures).as_millis()).unwrap_or(u64::MAX),
                    "cannot bind to the SMSC"
                );
                // Whoever waits now would wait for the next attempt at best.
                while let Ok(request) = requests.try_recv() {
                    let _ = request.reply.send(Err(error.clone()));
                }
            }
        }
    }
}

/// Connects and binds; the connection and the next sequence number.
async fn bind(config: &SmppConfig) -> Result<(TcpStream, u32), SmsError> {
    let unavailable = |what: String| SmsError::Unavailable(what);
    let wait = config.response_timeout;
    let mut stream = timeout(
        wait,
        TcpStream::connect((config.host.as_str(), config.port)),
    )
    .await
    .map_err(|_| unavailable("no connection in time".into()))?
    .map_err(|e| unavailable(format!("cannot connect: {e}")))?;
    let _ = stream.set_nodelay(true);
    let body = Bind {
        system_id: config.system_id.clone(),
        password: config.password.expose_secret().to_owned(),
        system_type: config.system_type.clone(),
        interface_version: INTERFACE_VERSION,
        addr_ton: 0,
        addr_npi: 0,
        address_range: String::new(),
    };
    let command = match config.bind {
        BindMode::Transmitter => Command::BindTransmitter(body),
        BindMode::Transceiver => Command::BindTransceiver(body),
    };
    write_pdu(&mut stream, &Pdu::new(1, command))
        .await
        .map_err(|e| unavailable(format!("cannot send the bind: {e}")))?;
    let answer = timeout(wait, read_pdu(&mut stream))
        .await
        .map_err(|_| unavailable("no bind response in time".into()))?
        .map_err(|e| unavailable(format!("no bind response: {e}")))?;
    let is_bind_response = matches!(
        answer.command,
        Command::BindTransmitterResp { .. }
            | Command::BindTransceiverResp { .. }
            | Command::GenericNack
    );
    if !is_bind_response || answer.sequence != 1 {
        return Err(unavailable(format!(
            "unexpected answer to the bind: {:#010x}",
            answer.command.id()
        )));
    }
    if answer.status != status::ESME_ROK {
        return Err(unavailable(format!(
            "the SMSC refused the bind ({}, command_status {:#010x})",
            status::name(answer.status),
            answer.status
        )));
    }
    Ok((stream, 2))
}

/// Why [`Session::serve`] returned.
enum Ended {
    /// The gateway is gone: the session unbound.
    Stopped,
    /// The connection broke or the SMSC stopped answering.
    Lost(String),
}

/// A text whose parts await their `submit_sm_resp`.
struct Batch {
    reply: oneshot::Sender<Result<Vec<String>, SmsError>>,
    message_ids: Vec<String>,
    remaining: usize,
}

/// A bound connection's book-keeping.
struct Session<'a> {
    config: &'a SmppConfig,
    sequence: u32,
    /// Sequence number → (batch, when sent).
    pending: HashMap<u32, (u64, Instant)>,
    batches: HashMap<u64, Batch>,
    next_batch: u64,
    /// The `enquire_link` awaiting its answer.
    enquiry: Option<(u32, Instant)>,
    last_heard: Instant,
}

impl<'a> Session<'a> {
    fn new(config: &'a SmppConfig, sequence: u32) -> Session<'a> {
        Session {
            config,
            sequence,
            pending: HashMap::new(),
            batches: HashMap::new(),
            next_batch: 0,
            enquiry: None,
            last_heard: Instant::now(),
        }
    }

    /// The next sequence number (1 to 0x7FFFFFFF, SMPP 5.1.2.3 on wrap).
    fn next_sequence(&mut self) -> u32 {
        let sequence = self.sequence;
        self.sequence = if sequence >= 0x7FFF_FFFF {
            1
        } else {
            sequence + 1
        };
        sequence
    }

    async fn serve(&mut self, stream: TcpStream, requests: &mut mpsc::Receiver<Request>) -> Ended {
        let (mut reader, mut writer) = stream.into_split();
        // Reading a PDU is not cancel-safe, so a task reads and hands them over.
        let (heard, mut inbound) = mpsc::channel::<Result<Pdu, ReadError>>(64);
        let reading = tokio::spawn(async move {
            loop {
                let pdu = read_pdu(&mut reader).await;
                let broken = pdu.is_err();
                if heard.send(pdu).await.is_err() || broken {
                    return;
                }
            }
        });
        let tick = (self
            .config
            .response_timeout
            .min(self.config.enquire_link_interval)
            / 4)
        .clamp(Duration::from_millis(10), Duration::from_secs(1));
        let mut ticker = tokio::time::interval(tick);
        let ended = loop {
            let step = tokio::select! {
                request = requests.recv() => match request {
                    Some(request) => self.submit(&mut writer, request).await,
                    None => {
                        self.unbind(&mut writer).await;
                        Err(Ended::Stopped)
                    }
                },
                pdu = inbound.recv() => match pdu {
                    Some(Ok(pdu)) => self.answer(&mut writer, pdu).await,
                    Some(Err(error)) => Err(Ended::Lost(error.to_string())),
                    None => Err(Ended::Lost("the connection closed".into())),
                },
                _ = ticker.tick() => self.keep_alive(&mut writer).await,
            };
            if let Err(ended) = step {
                break ended;
            }
        };
        reading.abort();
        ended
    }

    /// Submits a text's parts; their answers come later.
    async fn submit(&mut self, writer: &mut OwnedWriteHalf, request: Request) -> Result<(), Ended> {
        if request.reply.is_closed() {
            // Its sender gave up waiting (and told the transaction so).
            return Ok(());
        }
        let batch = self.next_batch;
        self.next_batch += 1;
        self.batches.insert(
            batch,
            Batch {
                reply: request.reply,
                message_ids: Vec::new(),
                remaining: request.messages.len(),
            },
        );
        for message in request.messages {
            let sequence = self.next_sequence();
            let pdu = Pdu::new(sequence, Command::SubmitSm(message));
            if let Err(error) = write_pdu(writer, &pdu).await {
                let reason = error.to_string();
                return match error {
                    // Nothing was written: this message cannot be sent at all.
                    ReadError::Pdu(_) => {
                        self.finish(batch, Err(SmsError::Invalid(reason)));
                        Ok(())
                    }
                    ReadError::Io(_) => {
                        self.finish(batch, Err(SmsError::Unavailable(reason.clone())));
                        Err(Ended::Lost(reason))
                    }
                };
            }
            self.pending.insert(sequence, (batch, Instant::now()));
        }
        Ok(())
    }

    /// Handles what the SMSC sent.
    async fn answer(&mut self, writer: &mut OwnedWriteHalf, pdu: Pdu) -> Result<(), Ended> {
        self.last_heard = Instant::now();
        let reply = match pdu.command {
            Command::SubmitSmResp { message_id } => {
                self.submitted(pdu.sequence, pdu.status, message_id);
                None
            }
            Command::GenericNack => {
                self.submitted(
                    pdu.sequence,
                    pdu.status.max(status::ESME_RSYSERR),
                    String::new(),
                );
                None
            }
            Command::EnquireLinkResp => {
                if self
                    .enquiry
                    .is_some_and(|(sequence, _)| sequence == pdu.sequence)
                {
                    self.enquiry = None;
                }
                None
            }
            Command::EnquireLink => Some(Command::EnquireLinkResp),
            Command::DeliverSm(message) => {
                log_delivery(&message);
                Some(Command::DeliverSmResp)
            }
            Command::Unbind => {
                let _ = write_pdu(writer, &Pdu::new(pdu.sequence, Command::UnbindResp)).await;
                return Err(Ended::Lost("the SMSC unbound".into()));
            }
            other => {
                tracing::warn!(command_id = other.id(), "unexpected PDU from the SMSC");
                None
            }
        };
        match reply {
            Some(command) => write_pdu(writer, &Pdu::new(pdu.sequence, command))
                .await
                .map_err(|e| Ended::Lost(e.to_string())),
            None => Ok(()),
        }
    }

    /// A part's answer: its message id, or the refusal of its whole text.
    fn submitted(&mut self, sequence: u32, status: u32, message_id: String) {
        let Some((batch, _)) = self.pending.remove(&sequence) else {
            return;
        };
        if status != status::ESME_ROK {
            let name = status::name(status);
            tracing::warn!(command_status = status, name, "the SMSC refused a message");
            self.finish(batch, Err(SmsError::Refused { status, name }));
            return;
        }
        let done = match self.batches.get_mut(&batch) {
            Some(waiting) => {
                waiting.message_ids.push(message_id);
                waiting.remaining = waiting.remaining.saturating_sub(1);
                waiting.remaining == 0
            }
            None => false,
        };
        if done {
            if let Some(waiting) = self.batches.remove(&batch) {
                let _ = waiting.reply.send(Ok(waiting.message_ids));
            }
        }
    }

    /// Answers a text's sender (once) and forgets its parts.
    fn finish(&mut self, batch: u64, result: Result<Vec<String>, SmsError>) {
        self.pending.retain(|_, (b, _)| *b != batch);
        if let Some(waiting) = self.batches.remove(&batch) {
            let _ = waiting.reply.send(result);
        }
    }

    /// Fails what waits on a connection that is gone.
    fn fail_all(&mut self, reason: &str) {
        self.pending.clear();
        for (_, waiting) in self.batches.drain() {
            let _ = waiting.reply.send(Err(SmsError::Unavailable(format!(
                "the SMPP connection was lost: {reason}"
            ))));
        }
    }

    /// Times out unanswered submits, and checks the link when it was quiet.
    async fn keep_alive(&mut self, writer: &mut OwnedWriteHalf) -> Result<(), Ended> {
        let now = Instant::now();
        let limit = self.config.response_timeout;
        let late: Vec<u64> = self
            .pending
            .values()
            .filter(|(_, sent)| now.duration_since(*sent) > limit)
            .map(|(batch, _)| *batch)
            .collect();
        for batch in late {
            self.finish(
                batch,
                Err(SmsError::Unavailable("no submit_sm_resp in time".into())),
            );
        }
        match self.enquiry {
            Some((_, sent)) if now.duration_since(sent) > limit => {
                Err(Ended::Lost("no enquire_link_resp in time".into()))
            }
            Some(_) => Ok(()),
            None if now.duration_since(self.last_heard) >= self.config.enquire_link_interval => {
                let sequence = self.next_sequence();
                self.enquiry = Some((sequence, now));
                self.last_heard = now;
                write_pdu(writer, &Pdu::new(sequence, Command::EnquireLink))
                    .await
                    .map_err(|e| Ended::Lost(e.to_string()))
            }
            None => Ok(()),
        }
    }

    /// Says goodbye (payhub is stopping); the answer is not awaited long.
    async fn unbind(&mut self, writer: &mut OwnedWriteHalf) {
        let sequence = self.next_sequence();
        let _ = write_pdu(writer, &Pdu::new(sequence, Command::Unbind)).await;
        let _ = writer.shutdown().await;
    }
}

/// Logs a delivery receipt (SMPP v3.4 appendix B: `id:… sub:… dlvrd:…
/// submit date:… done date:… stat:… err:…`); other deliveries (a
/// subscriber's reply) are not for payhub.
fn log_delivery(message: &ShortMessage) {
    // esm_class bits 2-5 = 0001: an SMSC delivery receipt (5.2.12).
    if message.esm_class & 0x3C != 0x04 {
        tracing::debug!("ignored a mobile-originated message from the SMSC");
        return;
    }
    let text = String::from_utf8_lossy(&message.short_message);
    let field = |name: &str| {
        text.split_whitespace()
            .find_map(|word| word.strip_prefix(name))
            .unwrap_or("")
            .to_owned()
    };
    tracing::info!(
        smsc.message_id = field("id:"),
        receipt.stat = field("stat:"),
        receipt.err = field("err:"),
        msisdn = message.source.addr.as_str(),
        "SMS delivery receipt"
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn binding_again_waits_longer_after_each_failure_up_to_a_minute() {
        let waits: Vec<u64> = (1..=10)
            .map(|n| u64::try_from(backoff(n).as_millis()).unwrap())
            .collect();
        assert_eq!(
            waits,
            [250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]
        );
        assert_eq!(backoff(200), RECONNECT_MAX);
    }
}
