//! The SMPP v3.4 PDUs payhub sends and answers, and their wire form.
//!
//! Written from the SMPP Protocol Specification v3.4 (SMPP Developers
//! Forum, issue 1.2, 12 October 1999): section 3.2 (the 16-octet header:
//! command_length, command_id, command_status, sequence_number, each a
//! 4-octet big-endian integer), 4.1 (bind_transmitter, bind_transceiver and
//! their responses), 4.3 (generic_nack), 4.4 (submit_sm), 4.6 (deliver_sm),
//! 4.2 (unbind), 4.11 (enquire_link), 5.1.1 (C-Octet String lengths), 5.1.3
//! (command_status values) and 5.3 (TLVs). Only the minimal set an ESME
//! submitting messages needs is here; any other command decodes as
//! [`PduError::UnknownCommand`] so the session can answer `generic_nack`.

/// SMPP interface version 3.4 (`interface_version` of a bind).
pub const INTERFACE_VERSION: u8 = 0x34;

/// The largest PDU payhub reads (a submit or deliver with a full
/// `message_payload` stays far below it); a longer `command_length` is a
/// broken or hostile peer.
pub const MAX_PDU_LENGTH: usize = 16 * 1024;

/// The header's length: every PDU has at least this many octets.
pub const HEADER_LENGTH: usize = 16;

/// The command ids (SMPP v3.4, table 5-1).
pub mod command_id {
    pub const GENERIC_NACK: u32 = 0x8000_0000;
    pub const BIND_TRANSMITTER: u32 = 0x0000_0002;
    pub const BIND_TRANSMITTER_RESP: u32 = 0x8000_0002;
    pub const SUBMIT_SM: u32 = 0x0000_0004;
    pub const SUBMIT_SM_RESP: u32 = 0x8000_0004;
    pub const DELIVER_SM: u32 = 0x0000_0005;
    pub const DELIVER_SM_RESP: u32 = 0x8000_0005;
    pub const UNBIND: u32 = 0x0000_0006;
    pub const UNBIND_RESP: u32 = 0x8000_0006;
    pub const BIND_TRANSCEIVER: u32 = 0x0000_0009;
    pub const BIND_TRANSCEIVER_RESP: u32 = 0x8000_0009;
    pub const ENQUIRE_LINK: u32 = 0x0000_0015;
    pub const ENQUIRE_LINK_RESP: u32 = 0x8000_0015;
}

/// The command_status values payhub names (SMPP v3.4, table 5-2).
pub mod status {
    pub const ESME_ROK: u32 = 0x0000_0000;
    pub const ESME_RINVMSGLEN: u32 = 0x0000_0001;
    pub const ESME_RINVCMDLEN: u32 = 0x0000_0002;
    pub const ESME_RINVCMDID: u32 = 0x0000_0003;
    pub const ESME_RINVBNDSTS: u32 = 0x0000_0004;
    pub const ESME_RSYSERR: u32 = 0x0000_0008;
    pub const ESME_RBINDFAIL: u32 = 0x0000_000D;
    pub const ESME_RINVPASWD: u32 = 0x0000_000E;
    pub const ESME_RINVSYSID: u32 = 0x0000_000F;
    pub const ESME_RMSGQFUL: u32 = 0x0000_0014;
    pub const ESME_RSUBMITFAIL: u32 = 0x0000_0045;
    pub const ESME_RTHROTTLED: u32 = 0x0000_0058;

    /// The status's name where payhub knows it (for logs and errors).
    pub fn name(status: u32) -> &'static str {
        match status {
            ESME_ROK => "ESME_ROK",
            ESME_RINVMSGLEN => "ESME_RINVMSGLEN",
            ESME_RINVCMDLEN => "ESME_RINVCMDLEN",
            ESME_RINVCMDID => "ESME_RINVCMDID",
            ESME_RINVBNDSTS => "ESME_RINVBNDSTS",
            ESME_RSYSERR => "ESME_RSYSERR",
            ESME_RBINDFAIL => "ESME_RBINDFAIL",
            ESME_RINVPASWD => "ESME_RINVPASWD",
            ESME_RINVSYSID => "ESME_RINVSYSID",
            ESME_RMSGQFUL => "ESME_RMSGQFUL",
            ESME_RSUBMITFAIL => "ESME_RSUBMITFAIL",
            ESME_RTHROTTLED => "ESME_RTHROTTLED",
            _ => "other",
        }
    }
}

/// A bind request's body (section 4.1.1 / 4.1.5).
#[derive(Clone, PartialEq, Eq)]
pub struct Bind {
    pub system_id: String,
    /// The SMSC password; never in Debug output.
    pub password: String,
    pub system_type: String,
    pub interface_version: u8,
    pub addr_ton: u8,
    pub addr_npi: u8,
    pub address_range: String,
}

impl std::fmt::Debug for Bind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bind")
            .field("system_id", &self.system_id)
            .field("password", &"[redacted]")
            .field("system_type", &self.system_type)
            .field("interface_version", &self.interface_version)
            .finish_non_exhaustive()
    }
}

/// An address: type of number, numbering plan and the digits or name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Address {
    pub ton: u8,
    pub npi: u8,
    pub addr: String,
}

/// The body shared by `submit_sm` and `deliver_sm` (sections 4.4.1, 4.6.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShortMessage {
    pub service_type: String,
    pub source: Address,
    pub destination: Address,
    pub esm_class: u8,
    pub protocol_id: u8,
    pub priority_flag: u8,
    pub schedule_delivery_time: String,
    pub validity_period: String,
    pub registered_delivery: u8,
    pub replace_if_present_flag: u8,
    pub data_coding: u8,
    pub sm_default_msg_id: u8,
    /// Up to 254 octets (the UDH, when `esm_class` has 0x40, included).
    pub short_message: Vec<u8>,
    /// Optional parameters (tag, value), in the order sent.
    pub tlvs: Vec<(u16, Vec<u8>)>,
}

/// What a PDU says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    BindTransmitter(Bind),
    BindTransmitterResp { system_id: String },
    BindTransceiver(Bind),
    BindTransceiverResp { system_id: String },
    SubmitSm(ShortMessage),
    SubmitSmResp { message_id: String },
    DeliverSm(ShortMessage),
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    Unbind,
    UnbindResp,
    GenericNack,
}

impl Command {
    pub fn id(&self) -> u32 {
        use command_id::*;
        match self {
            Command::BindTransmitter(_) => BIND_TRANSMITTER,
            Command::BindTransmitterResp { .. } => BIND_TRANSMITTER_RESP,
            Command::BindTransceiver(_) => BIND_TRANSCEIVER,
            Command::BindTransceiverResp { .. } => BIND_TRANSCEIVER_RESP,
            Command::SubmitSm(_) => SUBMIT_SM,
            Command::SubmitSmResp { .. } => SUBMIT_SM_RESP,
            Command::DeliverSm(_) => DELIVER_SM,
            Command::DeliverSmResp => DELIVER_SM_RESP,
            Command::EnquireLink => ENQUIRE_LINK,
            Command::EnquireLinkResp => ENQUIRE_LINK_RESP,
            Command::Unbind => UNBIND,
            Command::UnbindResp => UNBIND_RESP,
            Command::GenericNack => GENERIC_NACK,
        }
    }
}

/// One PDU: its header's status and sequence number, and its command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pdu {
    pub status: u32,
    pub sequence: u32,
    pub command: Command,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PduError {
    #[error("command_length {0} is outside 16..={MAX_PDU_LENGTH}")]
    Length(usize),
    #[error("the PDU ends inside field {0}")]
    Truncated(&'static str),
    #[error("field {0} has no terminating NUL within its {1} octets")]
    Unterminated(&'static str, usize),
    #[error("field {0} is longer than its {1} octets or holds a NUL")]
    TooLong(&'static str, usize),
    #[error("field {0} is not ASCII text")]
    NotText(&'static str),
    #[error("unknown command_id {id:#010x}")]
    UnknownCommand { id: u32, sequence: u32 },
}

impl Pdu {
    pub fn new(sequence: u32, command: Command) -> Pdu {
        Pdu {
            status: status::ESME_ROK,
            sequence,
            command,
        }
    }

    /// The PDU's octets, header included.
    pub fn encode(&self) -> Result<Vec<u8>, PduError> {
        let mut body = Vec::new();
        match &self.command {
            Command::BindTransmitter(bind) | Command::BindTransceiver(bind) => {
                put_cstr(&mut body, "system_id", &bind.system_id, 16)?;
                put_cstr(&mut body, "password", &bind.password, 9)?;
                put_cstr(&mut body, "system_type", &bind.system_type, 13)?;
                body.extend([bind.interface_version, bind.addr_ton, bind.addr_npi]);
                put_cstr(&mut body, "address_range", &bind.address_range, 41)?;
            }
            Command::BindTransmitterResp { system_id }
            | Command::BindTransceiverResp { system_id } => {
                put_cstr(&mut body, "system_id", system_id, 16)?;
            }
            Command::SubmitSm(message) | Command::DeliverSm(message) => {
                put_message(&mut body, message)?;
            }
            Command::SubmitSmResp { message_id } => {
                put_cstr(&mut body, "message_id", message_id, 65)?;
            }
            Command::DeliverSmResp => put_cstr(&mut body, "message_id", "", 1)?,
            Command::EnquireLink
            | Command::EnquireLinkResp
            | Command::Unbind
            | Command::UnbindResp
            | Command::GenericNack => {}
        }
        let length = HEADER_LENGTH + body.len();
        if length > MAX_PDU_LENGTH {
            return Err(PduError::Length(length));
        }
        let length = u32::try_from(length).map_err(|_| PduError::Length(length))?;
        let mut octets = Vec::with_capacity(HEADER_LENGTH + body.len());
        octets.extend(length.to_be_bytes());
        octets.extend(self.command.id().to_be_bytes());
        octets.extend(self.status.to_be_bytes());
        octets.extend(self.sequence.to_be_bytes());
        octets.extend(body);
        Ok(octets)
    }

    /// Reads one whole PDU (its `command_length` octets, header included).
    pub fn decode(octets: &[u8]) -> Result<Pdu, PduError> {
        use command_id::*;
        let mut reader = Reader { octets, at: 0 };
        let length = usize::try_from(reader.u32("command_length")?).unwrap_or(usize::MAX);
        if !(HEADER_LENGTH..=MAX_PDU_LENGTH).contains(&length) || length != octets.len() {
            return Err(PduError::Length(length));
        }
        let id = reader.u32("command_id")?;
        let status = reader.u32("command_status")?;
        let sequence = reader.u32("sequence_number")?;
        // A response that reports an error may come without its body (5.1.3).
        let bodiless = reader.is_empty();
        let command = match id {
            BIND_TRANSMITTER => Command::BindTransmitter(reader.bind()?),
            BIND_TRANSCEIVER => Command::BindTransceiver(reader.bind()?),
            BIND_TRANSMITTER_RESP => Command::BindTransmitterResp {
                system_id: reader.optional_cstr(bodiless, "system_id", 16)?,
            },
            BIND_TRANSCEIVER_RESP => Command::BindTransceiverResp {
                system_id: reader.optional_cstr(bodiless, "system_id", 16)?,
            },
            SUBMIT_SM => Command::SubmitSm(reader.message()?),
            DELIVER_SM => Command::DeliverSm(reader.message()?),
            SUBMIT_SM_RESP => Command::SubmitSmResp {
                message_id: reader.optional_cstr(bodiless, "message_id", 65)?,
            },
            DELIVER_SM_RESP => {
                reader.optional_cstr(bodiless, "message_id", 65)?;
                Command::DeliverSmResp
            }
            ENQUIRE_LINK => Command::EnquireLink,
            ENQUIRE_LINK_RESP => Command::EnquireLinkResp,
            UNBIND => Command::Unbind,
            UNBIND_RESP => Command::UnbindResp,
            GENERIC_NACK => Command::GenericNack,
            id => return Err(PduError::UnknownCommand { id, sequence }),
        };
        Ok(Pdu {
            status,
            sequence,
            command,
        })
    }
}

/// Appends a C-Octet String of at most `max` octets, its NUL included.
fn put_cstr(
    out: &mut Vec<u8>,
    field: &'static str,
    text: &str,
    max: usize,
) -> Result<(), PduError> {
    if text.len() + 1 > max || text.bytes().any(|b| b == 0 || !b.is_ascii()) {
        return Err(PduError::TooLong(field, max));
    }
    out.extend(text.as_bytes());
    out.push(0);
    Ok(())
}

fn put_message(out: &mut Vec<u8>, message: &ShortMessage) -> Result<(), PduError> {
    put_cstr(out, "service_type", &message.service_type, 6)?;
    out.extend([message.source.ton, message.source.npi]);
    put_cstr(out, "source_addr", &message.source.addr, 21)?;
    out.extend([message.destination.ton, message.destination.npi]);
    put_cstr(out, "destination_addr", &message.destination.addr, 21)?;
    out.extend([
        message.esm_class,
        message.protocol_id,
        message.priority_flag,
    ]);
    put_cstr(
        out,
        "schedule_delivery_time",
        &message.schedule_delivery_time,
        17,
    )?;
    put_cstr(out, "validity_period", &message.validity_period, 17)?;
    let sm_length = u8::try_from(message.short_message.len())
        .ok()
        .filter(|length| *length <= 254)
        .ok_or(PduError::TooLong("short_message", 254))?;
    out.extend([
        message.registered_delivery,
        message.replace_if_present_flag,
        message.data_coding,
        message.sm_default_msg_id,
        sm_length,
    ]);
    out.extend(&message.short_message);
    for (tag, value) in &message.tlvs {
        let length = u16::try_from(value.len()).map_err(|_| PduError::TooLong("tlv", 0xFFFF))?;
        out.extend(tag.to_be_bytes());
        out.extend(length.to_be_bytes());
        out.extend(value);
    }
    Ok(())
}

/// Reads a PDU's fields in order.
struct Reader<'a> {
    octets: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn is_empty(&self) -> bool {
        self.at >= self.octets.len()
    }

    fn take(&mut self, field: &'static str, count: usize) -> Result<&[u8], PduError> {
        let end = self
            .at
            .checked_add(count)
            .ok_or(PduError::Truncated(field))?;
        let slice = self
            .octets
            .get(self.at..end)
            .ok_or(PduError::Truncated(field))?;
        self.at = end;
        Ok(slice)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, PduError> {
        Ok(self.take(field, 1)?[0])
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, PduError> {
        let octets = self.take(field, 2)?;
        Ok(u16::from_be_bytes([octets[0], octets[1]]))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, PduError> {
        let octets = self.take(field, 4)?;
        Ok(u32::from_be_bytes([
            octets[0], octets[1], octets[2], octets[3],
        ]))
    }

    /// A C-Octet String of at most `max` octets, its NUL included.
    fn cstr(&mut self, field: &'static str, max: usize) -> Result<String, PduError> {
        let rest = self.octets.get(self.at..).unwrap_or_default();
        let nul = rest
            .iter()
            .take(max)
            .position(|b| *b == 0)
            .ok_or(if rest.len() < max {
                PduError::Truncated(field)
            } else {
                PduError::Unterminated(field, max)
            })?;
        let text = rest[..nul].to_vec();
        self.at += nul + 1;
        if !text.is_ascii() {
            return Err(PduError::NotText(field));
        }
        String::from_utf8(text).map_err(|_| PduError::NotText(field))
    }

    /// A response's only C-Octet String, which an error response may leave out.
    fn optional_cstr(
        &mut self,
        bodiless: bool,
        field: &'static str,
        max: usize,
    ) -> Result<String, PduError> {
        if bodiless {
            Ok(String::new())
        } else {
            self.cstr(field, max)
        }
    }

    fn bind(&mut self) -> Result<Bind, PduError> {
        Ok(Bind {
            system_id: self.cstr("system_id", 16)?,
            password: self.cstr("password", 9)?,
            system_type: self.cstr("system_type", 13)?,
            interface_version: self.u8("interface_version")?,
            addr_ton: self.u8("addr_ton")?,
            addr_npi: self.u8("addr_npi")?,
            address_range: self.cstr("address_range", 41)?,
        })
    }

    fn message(&mut self) -> Result<ShortMessage, PduError> {
        let service_type = self.cstr("service_type", 6)?;
        let source = Address {
            ton: self.u8("source_addr_ton")?,
            npi: self.u8("source_addr_npi")?,
            addr: self.cstr("source_addr", 21)?,
        };
        let destination = Address {
            ton: self.u8("dest_addr_ton")?,
            npi: self.u8("dest_addr_npi")?,
            addr: self.cstr("destination_addr", 21)?,
        };
        let esm_class = self.u8("esm_class")?;
        let protocol_id = self.u8("protocol_id")?;
        let priority_flag = self.u8("priority_flag")?;
        let schedule_delivery_time = self.cstr("schedule_delivery_time", 17)?;
        let validity_period = self.cstr("validity_period", 17)?;
        let registered_delivery = self.u8("registered_delivery")?;
        let replace_if_present_flag = self.u8("replace_if_present_flag")?;
        let data_coding = self.u8("data_coding")?;
        let sm_default_msg_id = self.u8("sm_default_msg_id")?;
        let sm_length = usize::from(self.u8("sm_length")?);
        let short_message = self.take("short_message", sm_length)?.to_vec();
        let mut tlvs = Vec::new();
        while !self.is_empty() {
            let tag = self.u16("tlv tag")?;
            let length = usize::from(self.u16("tlv length")?);
            tlvs.push((tag, self.take("tlv value", length)?.to_vec()));
        }
        Ok(ShortMessage {
            service_type,
            source,
            destination,
            esm_class,
            protocol_id,
            priority_flag,
            schedule_delivery_time,
            validity_period,
            registered_delivery,
            replace_if_present_flag,
            data_coding,
            sm_default_msg_id,
            short_message,
            tlvs,
        })
    }
}

/// Reads one PDU from a stream: its 4-octet length, then the rest.
pub async fn read_pdu<R>(reader: &mut R) -> Result<Pdu, ReadError>
where
    R: tokio::io::AsyncRead + Unpin,
{
    use tokio::io::AsyncReadExt;
    let mut length = [0u8; 4];
    reader.read_exact(&mut length).await?;
    let declared = usize::try_from(u32::from_be_bytes(length)).unwrap_or(usize::MAX);
    if !(HEADER_LENGTH..=MAX_PDU_LENGTH).contains(&declared) {
        return Err(ReadError::Pdu(PduError::Length(declared)));
    }
    let mut octets = vec![0u8; declared];
    octets[..4].copy_from_slice(&length);
    reader.read_exact(&mut octets[4..]).await?;
    Ok(Pdu::decode(&octets)?)
}

/// Writes one PDU.
pub async fn write_pdu<W>(writer: &mut W, pdu: &Pdu) -> Result<(), ReadError>
where
    W: tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::AsyncWriteExt;
    writer.write_all(&pdu.encode()?).await?;
    writer.flush().await?;
    Ok(())
}

/// Why a PDU could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed PDU: {0}")]
    Pdu(#[from] PduError),
}

#[cfg(test)]
mod tests;
