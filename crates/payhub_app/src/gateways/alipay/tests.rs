#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use secrecy::SecretString;

use super::*;

const PARTNER: &str = "2088021966388155";
const MD5_KEY: &str = "0123456789abcdefghijklmnopqrstuv";

fn account(credentials: &[(&str, &str)]) -> AccountConfig {
    AccountConfig {
        account_id: "ca_test".into(),
        base_url: "http://127.0.0.1:9/gateway.do".parse().unwrap(),
        notify_url: "http://127.0.0.1:9/notify".parse().unwrap(),
        live: false,
        credentials: credentials
            .iter()
            .map(|(k, v)| ((*k).to_owned(), SecretString::from(*v)))
            .collect::<BTreeMap<_, _>>(),
        http: reqwest::Client::new(),
    }
}

fn md5_connector(kind: GatewayKind) -> AlipayConnector {
    AlipayConnector::from_account(
        kind,
        &account(&[("partner_id", PARTNER), ("md5_key", MD5_KEY)]),
    )
    .unwrap()
}

#[test]
fn serves_alipay_and_alipayos_only() {
    let creds = [("partner_id", PARTNER), ("md5_key", MD5_KEY)];
    for kind in GatewayKind::ALL {
        let built = AlipayConnector::from_account(kind, &account(&creds));
        if GATEWAY_TYPES.contains(&kind) {
            assert_eq!(built.unwrap().kind(), kind);
        } else {
            assert_eq!(
                built.unwrap_err(),
                AccountError::Unsupported {
                    connector: NAME,
                    kind: kind.code()
                }
            );
        }
    }
}

#[test]
fn credentials_are_checked_and_never_shown() {
    let build = |creds: &[(&str, &str)]| {
        AlipayConnector::from_account(GatewayKind::Alipay, &account(creds)).map(|_| ())
    };
    assert_eq!(build(&[]), Err(AccountError::Missing("partner_id")));
    assert_eq!(
        build(&[("partner_id", PARTNER)]),
        Err(AccountError::Missing("md5_key"))
    );
    assert!(matches!(
        build(&[("partner_id", "1234"), ("md5_key", MD5_KEY)]),
        Err(AccountError::Invalid {
            name: "partner_id",
            ..
        })
    ));
    assert!(matches!(
        build(&[
            ("partner_id", PARTNER),
            ("md5_key", MD5_KEY),
            ("sign_type", "DSA")
        ]),
        Err(AccountError::Invalid {
            name: "sign_type",
            ..
        })
    ));
    // A private key chooses RSA2, which then needs Alipay's public key.
    let private = include_str!("testdata/unit_pkcs8.pem");
    assert_eq!(
        build(&[("partner_id", PARTNER), ("private_key", private)]),
        Err(AccountError::Missing("alipay_public_key"))
    );
    let error = build(&[
        ("partner_id", PARTNER),
        ("private_key", "-----BEGIN PRIVATE KEY-----\nTOPSECRET"),
        (
            "alipay_public_key",
            include_str!("testdata/unit_public.pem"),
        ),
    ])
    .unwrap_err();
    assert!(matches!(
        error,
        AccountError::Invalid {
            name: "private_key",
            ..
        }
    ));
    assert!(!error.to_string().contains("TOPSECRET"));
    let connector = md5_connector(GatewayKind::Alipay);
    assert!(!format!("{connector:?}").contains(MD5_KEY));
}

#[test]
fn sign_type_chooses_between_present_keys() {
    let creds = [
        ("partner_id", PARTNER),
        ("md5_key", MD5_KEY),
        ("private_key", include_str!("testdata/unit_pkcs8.pem")),
        (
            "alipay_public_key",
            include_str!("testdata/unit_public.pem"),
        ),
    ];
    let with = |sign_type: Option<&str>| {
        let mut creds = creds.to_vec();
        if let Some(sign_type) = sign_type {
            creds.push(("sign_type", sign_type));
        }
        AlipayConnector::from_account(GatewayKind::Alipay, &account(&creds))
            .unwrap()
            .client
            .signer()
            .sign_type()
    };
    assert_eq!(with(None), "RSA2");
    assert_eq!(with(Some("MD5")), "MD5");
    assert_eq!(with(Some("rsa2")), "RSA2");
}

#[test]
fn the_signed_form_carries_partner_charset_and_a_verifiable_sign() {
    let connector = md5_connector(GatewayKind::Alipay);
    let form = connector.client.signed_form(
        "alipay.acquire.overseas.query",
        vec![
            ("partner_trans_id", "819613055".into()),
            ("empty", String::new()),
        ],
    );
    let get = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("partner"), Some(PARTNER));
    assert_eq!(get("_input_charset"), Some("UTF-8"));
    assert_eq!(get("sign_type"), Some("MD5"));
    assert_eq!(get("empty"), None);
    let text = "_input_charset=UTF-8&partner=2088021966388155&partner_trans_id=819613055&service=alipay.acquire.overseas.query";
    assert_eq!(
        signing_text(form.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        text
    );
    assert!(connector.client.signer().verify(text, get("sign").unwrap()));
}

fn signed_answer(signer: &Signer, fields: &[(&str, &str)]) -> String {
    let sign = signer.sign(&signing_text(fields.iter().copied()));
    let inner: String = fields
        .iter()
        .map(|(k, v)| format!("<{k}>{v}</{k}>"))
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><alipay><is_success>T</is_success><response><alipay>{inner}</alipay></response><sign>{sign}</sign><sign_type>{}</sign_type></alipay>",
        signer.sign_type()
    )
}

#[test]
fn answers_are_verified_before_they_are_believed() {
    let connector = md5_connector(GatewayKind::Alipay);
    let signer = connector.client.signer().clone();
    let fields = [
        ("result_code", "SUCCESS"),
        ("alipay_trans_status", "TRADE_SUCCESS"),
    ];
    let good = signed_answer(&signer, &fields);
    let read = connector.client.read_answer("q", &good).unwrap();
    assert_eq!(read["alipay_trans_status"], "TRADE_SUCCESS");
    let tampered = good.replace("TRADE_SUCCESS", "TRADE_CLOSED");
    assert_eq!(
        connector.client.read_answer("q", &tampered),
        Err(GatewayError::Timeout)
    );
    let other_key = Signer::Md5 {
        key: SecretString::from("another key"),
    };
    assert_eq!(
        connector
            .client
            .read_answer("q", &signed_answer(&other_key, &fields)),
        Err(GatewayError::Timeout)
    );
    assert_eq!(
        connector.client.read_answer(
            "q",
            "<alipay><is_success>F</is_success><error>ILLEGAL_PARTNER</error></alipay>"
        ),
        Err(GatewayError::Rejected {
            code: "ILLEGAL_PARTNER".into(),
            message: "the gateway refused the request".into()
        })
    );
    assert_eq!(
        connector.client.read_answer("q", "<html>502</html>"),
        Err(GatewayError::Timeout)
    );
}

fn notification(signer: &Signer, fields: &[(&str, &str)]) -> Vec<u8> {
    let sign = signer.sign(&signing_text(fields.iter().copied()));
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("sign", &sign));
    all.push(("sign_type", signer.sign_type()));
    serde_urlencoded::to_string(&all).unwrap().into_bytes()
}

const NOTIFY_FIELDS: &[(&str, &str)] = &[
    ("notify_time", "2026-11-25 10:00:00"),
    ("notify_type", "trade_status_sync"),
    ("notify_id", "ac05099524730693a8b330c5ecf72da978"),
    ("out_trade_no", "819613055"),
    ("trade_no", "2026112521001004680000000001"),
    ("trade_status", "TRADE_SUCCESS"),
    ("total_fee", "10.50"),
    ("subject", "Order & more"),
];

#[test]
fn notifications_verify_and_read_the_trade() {
    let connector = md5_connector(GatewayKind::Alipayos);
    let body = notification(connector.client.signer(), NOTIFY_FIELDS);
    let parsed = connector
        .parse_notification(&HeaderMap::new(), &body)
        .unwrap();
    assert_eq!(parsed.payment_id.to_string(), "819613055");
    assert_eq!(parsed.report.state, GatewayState::Succeeded);
    assert_eq!(
        parsed.report.gw_ref.as_deref(),
        Some("2026112521001004680000000001")
    );
    // A duplicate reads the same.
    assert_eq!(
        connector
            .parse_notification(&HeaderMap::new(), &body)
            .unwrap(),
        parsed
    );
    assert_eq!(
        connector.acknowledgement(),
        Acknowledgement {
            content_type: "text/plain",
            body: "success"
        }
    );
}

#[test]
fn tampered_or_foreign_notifications_are_refused() {
    let connector = md5_connector(GatewayKind::Alipay);
    let signer = connector.client.signer().clone();
    let body = String::from_utf8(notification(&signer, NOTIFY_FIELDS)).unwrap();
    let bad = |body: &str| {
        matches!(
            connector.parse_notification(&HeaderMap::new(), body.as_bytes()),
            Err(GatewayError::BadNotification(_))
        )
    };
    assert!(bad(&body.replace("TRADE_SUCCESS", "TRADE_CLOSED")));
    assert!(bad(&body.replace("10.50", "0.01")));
    assert!(bad(&body.replace("sign_type=MD5", "sign_type=RSA2")));
    assert!(bad(&format!("{body}&trade_status=TRADE_SUCCESS")));
    assert!(bad(&format!("{body}&extra=added")));
    assert!(bad(""));
    let mut fields = NOTIFY_FIELDS.to_vec();
    fields[1] = ("notify_type", "something_else");
    assert!(bad(
        &String::from_utf8(notification(&signer, &fields)).unwrap()
    ));
    let mut fields = NOTIFY_FIELDS.to_vec();
    fields[3] = ("out_trade_no", "not-a-payment");
    assert!(bad(
        &String::from_utf8(notification(&signer, &fields)).unwrap()
    ));
}

#[tokio::test]
async fn alipayhk_refuses_other_currencies_before_calling() {
    let connector = md5_connector(GatewayKind::Alipayos);
    let request = StartRequest {
        payment_id: "819613055".parse().unwrap(),
        amount: payhub_core::Money::from_minor(100, payhub_core::Currency::parse("USD").unwrap())
            .unwrap(),
        subject: None,
        expires_at: chrono::Utc::now(),
        save_card: None,
    };
    assert!(matches!(
        connector.start(&request).await,
        Err(GatewayError::Rejected { code, .. }) if code == "CURRENCY_NOT_SUPPORT"
    ));
}
