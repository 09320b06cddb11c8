//! The telco payment service with an SMSC over SMPP as its SMS centre
//! (issue 12): seed 004's consent flow through the telco dialect, the
//! consent SMS going to the fake SMSC of `smsc_fake` (which records what it
//! was sent; its `problems` stay empty in every test).

use std::time::Duration;

use payhub_app::carrier_billing::sms::smpp::pdu::status;
use payhub_app::carrier_billing::sms::smpp::{BindMode, SmppConfig};
use payhub_server::config::{Settings, SmsChoice};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{test_settings, TestApp, PUBLIC_BASE};
use crate::smsc_fake::{FakeSmsc, Received, PASSWORD, SYSTEM_ID};
use crate::telco::{request, Consent, MSISDN};

/// payhub's settings with the fake as its SMSC, logging in with `password`.
fn smpp(fake: &FakeSmsc, password: &str, enquire_link: Duration) -> impl FnOnce(&str) -> Settings {
    let config = SmppConfig {
        host: "127.0.0.1".into(),
        port: fake.port,
        system_id: SYSTEM_ID.into(),
        password: SecretString::from(password),
        system_type: String::new(),
        source_addr: "PAYHUB".into(),
        bind: BindMode::Transceiver,
        enquire_link_interval: enquire_link,
        response_timeout: Duration::from_secs(2),
    };
    move |database_url| {
        let mut settings = test_settings(database_url);
        settings.telco.sms = SmsChoice::Smpp(config);
        settings
    }
}

/// payhub restarted over a fresh fake SMSC, bound to it, the catalogue stocked.
async fn over_smsc(app: TestApp) -> (TestApp, FakeSmsc) {
    let fake = FakeSmsc::start().await;
    let app = app
        .restart_with(smpp(&fake, PASSWORD, Duration::from_secs(30)))
        .await;
    fake.accepted_binds(1).await;
    app.stock_catalogue().await;
    (app, fake)
}

/// A direct debit (channel 11) of the music pack (19.99 TRY) in `language`.
fn in_language(transaction_id: &str, language: &str) -> Value {
    let mut body = request(transaction_id, 11, &[("50", 1)]);
    body["language"] = json!(language);
    body
}

/// The six-digit code and the link path a consent SMS carries.
fn code_and_link(sms: &Received) -> (String, String) {
    let code: String = sms
        .text
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take(6)
        .collect();
    assert_eq!(code.len(), 6, "{}", sms.text);
    let link = sms
        .text
        .split_whitespace()
        .last()
        .and_then(|word| word.split(PUBLIC_BASE).nth(1))
        .unwrap_or_else(|| panic!("a link in {}", sms.text));
    (code, link.to_owned())
}

both_backends! {
    async fn a_turkish_request_is_texted_in_turkish_ucs2_and_its_code_charges_once(app: TestApp) {
        let (app, fake) = over_smsc(app).await;
        let (status, answer) = app.telco(&in_language("s-tr", "tr")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer["resultDesc"], "CONSENT_REQUESTED", "{answer}");
        let sent = fake.messages();
        assert_eq!(sent.len(), 1);
        let sms = &sent[0];
        assert_eq!((sms.destination.as_str(), sms.source.as_str()), (MSISDN, "PAYHUB"));
        assert_eq!(sms.data_coding, 0x08, "ı is not in the GSM alphabet: UCS-2");
        assert_eq!(sms.registered_delivery, 1, "a delivery receipt is asked for");
        assert!(sms.text.starts_with("Onay kodunuz "), "{}", sms.text);
        assert!(sms.text.contains("19,99 TRY tutarındaki ödemenizi"), "{}", sms.text);
        // The link makes the text longer than one UCS-2 message (70 characters).
        assert!(sms.text.chars().count() > 70);
        assert!(sms.parts >= 2 && sms.esm_class == 0x40, "{sms:?}");
        assert!(
            app.client
                .get(app.url(&format!("/sandbox/v1/sms?msisdn={MSISDN}")))
                .bearer_auth(&app.merchant.api_key)
                .send().await.unwrap()
                .json::<Value>().await.unwrap()
                == json!([]),
            "a code sent over SMPP is not kept for the sandbox"
        );

        let (code, link) = code_and_link(sms);
        let approve = || Consent { code: Some(&code), ..Default::default() };
        app.consent(&link, "approve", approve()).await;
        assert_eq!(app.state_of("s-tr").await["resultDesc"], "CHARGED");
        app.consent(&link, "approve", approve()).await;
        assert_eq!(app.state_of("s-tr").await["resultDesc"], "CHARGED");
        assert_eq!(app.store.carrier_charged(MSISDN).await.unwrap(), 1999, "charged once");
        assert_eq!(fake.problems(), Vec::<String>::new());
    }
}

both_backends! {
    async fn english_goes_in_the_gsm_alphabet_and_chinese_in_ucs2(app: TestApp) {
        let (app, fake) = over_smsc(app).await;
        for (id, language) in [("s-en", "en"), ("s-cn", "zh_cn"), ("s-hk", "zh-HK"), ("s-de", "de")] {
            let (_, answer) = app.telco(&in_language(id, language)).await;
            assert_eq!(answer["resultDesc"], "CONSENT_REQUESTED", "{answer}");
        }
        let sent = fake.messages();
        let coding: Vec<(u8, &str)> = sent
            .iter()
            .map(|sms| (sms.data_coding, sms.text.split(|c: char| c.is_ascii_digit()).next().unwrap()))
            .collect();
        assert_eq!(coding, [
            (0x00, "Your code is "),
            (0x08, "您的验证码是"),
            (0x08, "您的驗證碼是"),
            (0x00, "Your code is "),
        ]);
        let english = &sent[0];
        assert!(english.text.contains("payment of 19.99 TRY: "), "{}", english.text);
        assert!(!english.text.contains('\u{FFFD}'), "every character decodes: {}", english.text);
        // Over 160 septets it goes in parts, each with a concatenation UDH.
        let septets = english.text.chars().count();
        assert_eq!(english.parts, if septets <= 160 { 1 } else { septets.div_ceil(153) }, "{english:?}");
        assert_eq!(english.esm_class == 0x40, english.parts > 1);
        // The English code approves its own transaction.
        let (code, link) = code_and_link(english);
        app.consent(&link, "approve", Consent { code: Some(&code), ..Default::default() }).await;
        assert_eq!(app.state_of("s-en").await["resultDesc"], "CHARGED");
        // The SMSC's delivery receipt comes back on the transceiver bind and is answered.
        fake.send_receipt("fake-1");
        for _ in 0..100 {
            if fake.receipts_acknowledged() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(fake.receipts_acknowledged(), 1, "deliver_sm_resp");
        assert_eq!(fake.problems(), Vec::<String>::new());
    }
}

both_backends! {
    async fn a_refused_submit_fails_the_transaction_and_charges_nothing(app: TestApp) {
        let (app, fake) = over_smsc(app).await;
        for (id, refusal) in [("s-fail", status::ESME_RSUBMITFAIL), ("s-slow", status::ESME_RTHROTTLED)] {
            fake.refuse_next_submit(refusal);
            let (status, answer) = app.telco(&in_language(id, "tr")).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(answer, json!({"resultCode": 1112, "resultDesc": "SMS_FAILED", "transactionId": id}));
            assert_eq!(app.state_of(id).await["resultCode"], 1112);
            assert_eq!(app.tmf_of(id).await["status"], "failed");
        }
        assert!(fake.messages().is_empty(), "nothing was delivered");
        assert_eq!(app.store.carrier_charged(MSISDN).await.unwrap(), 0, "nothing charged");
        // The SMSC takes the next one again.
        let (_, answer) = app.telco(&in_language("s-ok", "tr")).await;
        assert_eq!(answer["resultDesc"], "CONSENT_REQUESTED");
        assert_eq!(fake.messages().len(), 1);
    }
}

both_backends! {
    async fn a_dropped_connection_binds_again_for_the_next_sms(app: TestApp) {
        let fake = FakeSmsc::start().await;
        let app = app
            .restart_with(smpp(&fake, PASSWORD, Duration::from_millis(100)))
            .await;
        fake.accepted_binds(1).await;
        app.stock_catalogue().await;
        let (_, answer) = app.telco(&in_language("s-1", "en")).await;
        assert_eq!(answer["resultDesc"], "CONSENT_REQUESTED");

        fake.drop_connections();
        fake.accepted_binds(2).await;
        let (_, answer) = app.telco(&in_language("s-2", "en")).await;
        assert_eq!(answer["resultDesc"], "CONSENT_REQUESTED", "{answer}");
        assert_eq!(fake.messages().len(), 2);

        // A quiet link is checked with enquire_link (every 100 ms here).
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert!(fake.enquire_links() >= 2, "{}", fake.enquire_links());
        assert_eq!(fake.problems(), Vec::<String>::new());
    }
}

both_backends! {
    async fn a_wrong_password_is_refused_and_the_transaction_says_so(app: TestApp) {
        let fake = FakeSmsc::start().await;
        let app = app
            .restart_with(smpp(&fake, "wrong", Duration::from_secs(30)))
            .await;
        app.stock_catalogue().await;
        let (status, answer) = app.telco(&in_language("s-pw", "tr")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer["resultDesc"], "SMS_FAILED", "{answer}");
        let binds = fake.binds();
        assert!(!binds.is_empty());
        assert!(binds.iter().all(|bind| *bind == (SYSTEM_ID.to_owned(), status::ESME_RINVPASWD)), "{binds:?}");
        assert!(fake.messages().is_empty());
        assert_eq!(app.store.carrier_charged(MSISDN).await.unwrap(), 0);
    }
}

both_backends! {
    /// Issue 12's "done when": an operator with both a carrier connector
    /// (CAMARA Carrier Billing) and an SMSC connector runs seed 004's flow end
    /// to end against them: the consent code goes out over SMPP in Turkish,
    /// the subscriber's approval charges the bill once through CAMARA.
    async fn seed_004s_flow_runs_against_a_camara_carrier_and_an_smsc_together(app: TestApp) {
        use payhub_app::carrier_billing::camara::CamaraConfig;
        use payhub_server::config::CarrierChoice;

        use crate::camara_fake::{FakeCamara, CLIENT_ID, CLIENT_SECRET};

        let carrier = FakeCamara::start().await;
        let smsc = FakeSmsc::start().await;
        let camara = CamaraConfig {
            base_url: carrier.base_url.clone(),
            refund_base_url: carrier.refund_base_url.clone(),
            token_url: carrier.token_url.clone(),
            client_id: CLIENT_ID.into(),
            client_secret: SecretString::from(CLIENT_SECRET),
            sink_url: None,
        };
        let with_smsc = smpp(&smsc, PASSWORD, Duration::from_secs(30));
        let app = app
            .restart_with(move |database_url| {
                let mut settings = with_smsc(database_url);
                settings.telco.carrier = CarrierChoice::Camara(camara);
                settings
            })
            .await;
        smsc.accepted_binds(1).await;
        app.stock_catalogue().await;

        let (status, answer) = app.telco(&in_language("both-1", "tr")).await;
        assert_eq!((status, answer["resultDesc"].clone()), (StatusCode::OK, json!("CONSENT_REQUESTED")), "{answer}");
        let sent = smsc.messages();
        assert_eq!(sent.len(), 1, "the code went to the SMSC");
        assert!(carrier.payments().is_empty(), "nothing is charged before consent");
        let (code, link) = code_and_link(&sent[0]);
        let approve = || Consent { code: Some(&code), ..Default::default() };
        app.consent(&link, "approve", approve()).await;
        app.consent(&link, "approve", approve()).await;
        assert_eq!(app.state_of("both-1").await["resultDesc"], "CHARGED");
        let charged = carrier.payments();
        assert_eq!(charged.len(), 1, "one approval, one charge: {charged:?}");
        assert_eq!(charged[0].status, "succeeded");
        assert_eq!(smsc.problems(), Vec::<String>::new());
        assert_eq!(carrier.problems(), Vec::<String>::new());
    }
}
