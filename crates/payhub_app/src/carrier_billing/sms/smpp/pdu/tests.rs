//! Byte-level tests of the PDU codec against the v3.4 specification's
//! field tables.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn hex(text: &str) -> Vec<u8> {
    let digits: String = text.split_whitespace().collect();
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}

fn bind(system_type: &str) -> Bind {
    Bind {
        system_id: "payhub".into(),
        password: "secret".into(),
        system_type: system_type.into(),
        interface_version: INTERFACE_VERSION,
        addr_ton: 0,
        addr_npi: 0,
        address_range: String::new(),
    }
}

/// Each PDU and its octets, laid out by the v3.4 specification's field
/// tables (header: length, id, status, sequence; then the body).
fn table() -> Vec<(&'static str, Pdu, Vec<u8>)> {
    vec![
        (
            "bind_transmitter (4.1.1)",
            Pdu::new(1, Command::BindTransmitter(bind("OTP"))),
            hex("00000026 00000002 00000000 00000001
                 70617968756200 73656372657400 4f545000 34 00 00 00"),
        ),
        (
            "bind_transceiver (4.1.5)",
            Pdu::new(7, Command::BindTransceiver(bind(""))),
            hex("00000023 00000009 00000000 00000007
                 70617968756200 73656372657400 00 34 00 00 00"),
        ),
        (
            "bind_transceiver_resp (4.1.6)",
            Pdu::new(
                7,
                Command::BindTransceiverResp {
                    system_id: "SMSC".into(),
                },
            ),
            hex("00000015 80000009 00000000 00000007 534d534300"),
        ),
        (
            "submit_sm_resp (4.4.2)",
            Pdu::new(
                3,
                Command::SubmitSmResp {
                    message_id: "m1".into(),
                },
            ),
            hex("00000013 80000004 00000000 00000003 6d3100"),
        ),
        (
            "enquire_link (4.11.1)",
            Pdu::new(0x7fff_ffff, Command::EnquireLink),
            hex("00000010 00000015 00000000 7fffffff"),
        ),
        (
            "enquire_link_resp (4.11.2)",
            Pdu::new(9, Command::EnquireLinkResp),
            hex("00000010 80000015 00000000 00000009"),
        ),
        (
            "unbind (4.2.1)",
            Pdu::new(4, Command::Unbind),
            hex("00000010 00000006 00000000 00000004"),
        ),
        (
            "unbind_resp (4.2.2)",
            Pdu::new(4, Command::UnbindResp),
            hex("00000010 80000006 00000000 00000004"),
        ),
        (
            "generic_nack with ESME_RINVCMDID (4.3.1)",
            Pdu {
                status: status::ESME_RINVCMDID,
                sequence: 5,
                command: Command::GenericNack,
            },
            hex("00000010 80000000 00000003 00000005"),
        ),
        (
            "deliver_sm_resp (4.6.2)",
            Pdu::new(6, Command::DeliverSmResp),
            hex("00000011 80000005 00000000 00000006 00"),
        ),
    ]
}

#[test]
fn pdus_encode_and_decode_as_the_specification_lays_them_out() {
    for (name, pdu, octets) in table() {
        assert_eq!(pdu.encode().unwrap(), octets, "{name} encodes");
        assert_eq!(Pdu::decode(&octets).unwrap(), pdu, "{name} decodes");
    }
}

#[test]
fn a_submit_sm_lays_out_every_mandatory_field_in_order() {
    let message = ShortMessage {
        source: Address {
            ton: 5,
            npi: 0,
            addr: "PAYHUB".into(),
        },
        destination: Address {
            ton: 1,
            npi: 1,
            addr: "905321234567".into(),
        },
        esm_class: 0x40,
        registered_delivery: 1,
        data_coding: 8,
        short_message: hex("050003 2a 02 01 0131"),
        tlvs: vec![(0x0204, vec![0x00, 0x01])],
        ..Default::default()
    };
    let pdu = Pdu::new(2, Command::SubmitSm(message));
    let expected = hex("00000041 00000004 00000000 00000002
         00                               -- service_type
         05 00 50415948554200             -- source TON, NPI, addr
         01 01 39303533323132333435363700 -- dest TON, NPI, addr
         40 00 00                         -- esm_class, protocol_id, priority_flag
         00 00                            -- schedule_delivery_time, validity_period
         01 00 08 00                      -- registered_delivery, replace, data_coding, default msg
         08 0500032a02010131              -- sm_length, short_message
         0204 0002 0001                   -- user_message_reference TLV"
        .lines()
        .map(|line| line.split("--").next().unwrap())
        .collect::<Vec<_>>()
        .join(" ")
        .as_str());
    assert_eq!(pdu.encode().unwrap(), expected);
    assert_eq!(Pdu::decode(&expected).unwrap(), pdu);
}

#[test]
fn an_error_response_may_come_without_its_body() {
    let refused = hex("00000010 80000004 00000045 00000003");
    assert_eq!(
        Pdu::decode(&refused).unwrap(),
        Pdu {
            status: status::ESME_RSUBMITFAIL,
            sequence: 3,
            command: Command::SubmitSmResp {
                message_id: String::new()
            },
        }
    );
    let bind_refused = hex("00000010 80000002 0000000e 00000001");
    assert_eq!(
        Pdu::decode(&bind_refused).unwrap().status,
        status::ESME_RINVPASWD
    );
}

#[test]
fn malformed_pdus_are_refused() {
    let cases: [(&str, Vec<u8>, PduError); 6] = [
        ("shorter than a header", hex("0000000c 00000015 00000000"), PduError::Length(12)),
        ("length disagrees with the octets", hex("00000011 00000015 00000000 00000001"), PduError::Length(17)),
        ("unknown command", hex("00000010 00000103 00000000 00000008"),
            PduError::UnknownCommand { id: 0x103, sequence: 8 }),
        ("C-string without NUL", hex("00000013 80000004 00000000 00000003 6d3131"),
            PduError::Truncated("message_id")),
        ("system_id over 16 octets", {
            let mut octets = hex("00000021 80000009 00000000 00000001");
            octets.extend([b'a'; 17]);
            octets
        }, PduError::Unterminated("system_id", 16)),
        ("sm_length beyond the PDU", hex(
            "00000023 00000004 00000000 00000002 00 0000 00 0101 3100 000000 00 00 00000000 09 41"),
            PduError::Truncated("short_message")),
    ];
    for (name, octets, error) in cases {
        assert_eq!(Pdu::decode(&octets), Err(error), "{name}");
    }
}

#[test]
fn fields_over_their_length_are_not_sent() {
    let mut long = bind("");
    long.password = "123456789".into();
    assert_eq!(
        Pdu::new(1, Command::BindTransmitter(long)).encode(),
        Err(PduError::TooLong("password", 9))
    );
    let message = ShortMessage {
        short_message: vec![0; 255],
        ..Default::default()
    };
    assert_eq!(
        Pdu::new(1, Command::SubmitSm(message)).encode(),
        Err(PduError::TooLong("short_message", 254))
    );
}

#[test]
fn the_password_is_not_in_debug_output() {
    let text = format!("{:?}", Pdu::new(1, Command::BindTransmitter(bind(""))));
    assert!(!text.contains("secret"), "{text}");
}
