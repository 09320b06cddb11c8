//! The retail online-payment dialect (seed 003): signatures, validation and
//! its error codes, the sale's life at its gateway (expiry, unknown outcomes,
//! duplicate notifications), merchant webhooks, refunds, and the TMF676 view.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use payhub_core::MerchantId;
use payhub_server::api_retail::signature::{sha1_sign, sha256_sign};
use payhub_server::config::Settings;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{test_settings, Listener, TestApp};

const ONLINE: &str = "/tt-pms-ws/rest/online";
/// The merchant's answer that acknowledges a webhook (seed 003).
pub(crate) const ACK: &str = r#"{"errorCode":"0"}"#;

/// A fresh millisecond timestamp: strictly increasing, so that no two
/// requests of a test share a `sign` (payhub refuses replays).
fn fresh_timestamp() -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = chrono::Utc::now().timestamp_millis();
    let previous = LAST
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
            Some(last.max(now - 1) + 1)
        })
        .unwrap();
    previous.max(now - 1) + 1
}

/// The fields of a valid sale (seed 003's example, with a test's own rrn).
pub(crate) fn sale(gateway: &str, rrn: &str, amt: i64) -> Value {
    json!({
        "type": gateway,
        "rrn": rrn,
        "storeCode": "WP001",
        "tillId": "01",
        "salesman": "WP9999",
        "cashier": "WP9999",
        "txDateTime": "2021-06-11T16:18:30+0800",
        "amt": amt,
        "ccy": "HKD",
        "lang": "en",
        "extendParam": r#"{"subject":"Water","seller":"Watsons HK"}"#,
    })
}

impl TestApp {
    /// Signs `fields` with the merchant's retail credentials (seed 003's sign)
    /// and POSTs them to `/online/{operation}`; returns the answer's body.
    pub(crate) async fn retail(&self, operation: &str, fields: Value) -> Value {
        let timestamp = fresh_timestamp();
        let mut body = fields;
        body["apiKey"] = json!(self.merchant.retail_api_key);
        body["timestamp"] = json!(timestamp);
        body["sign"] = json!(sha1_sign(
            &self.merchant.retail_secret,
            &timestamp.to_string()
        ));
        self.retail_raw(operation, &body.to_string(), &[]).await
    }

    /// POSTs a body as it is; returns the answer's body (always HTTP 200).
    async fn retail_raw(&self, operation: &str, body: &str, headers: &[(&str, &str)]) -> Value {
        let mut request = self
            .client
            .post(self.url(&format!("{ONLINE}/{operation}")))
            .header("content-type", "application/json")
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request");
        let response = crate::conformance::checked("POST", response).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "retail answers in its body"
        );
        response.json().await.expect("json")
    }

    /// Creates a sale that must be accepted; returns the answer.
    pub(crate) async fn create_sale(&self, fields: Value) -> Value {
        let answer = self.retail("sales", fields.clone()).await;
        assert_eq!(answer["errorCode"], "0", "sale {fields}: {answer}");
        answer
    }

    /// The TMF676 payment of a sale, found by its rrn.
    pub(crate) async fn tmf_payment_of(&self, rrn: &str) -> Value {
        let (status, _, items) = self.list("payment", &format!("correlatorId={rrn}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(items.len(), 1, "one payment for rrn {rrn}: {items:?}");
        items[0].clone()
    }

    /// Settles a simulated sale as its customer would, through the sandbox.
    pub(crate) async fn settle(&self, rrn: &str, outcome: &str) -> reqwest::Response {
        let id = self.tmf_payment_of(rrn).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        self.client
            .post(self.url(&format!("/sandbox/v1/payments/{id}/outcome")))
            .bearer_auth(&self.merchant.api_key)
            .json(&json!({"outcome": outcome}))
            .send()
            .await
            .expect("request")
    }

    /// `query` of a sale (or refund) by its rrn.
    pub(crate) async fn query(&self, gateway: &str, rrn: &str) -> Value {
        self.retail(
            "query",
            json!({"type": gateway, "rrn": rrn, "storeCode": "WP001", "tillId": "01"}),
        )
        .await
    }

    /// Waits (bounded) until the sale's `gwRefStatus` is `expected`.
    pub(crate) async fn wait_for_status(&self, gateway: &str, rrn: &str, expected: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..150 {
            last = self.query(gateway, rrn).await;
            if last["gwRefStatus"] == expected {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("rrn {rrn} never reached gwRefStatus {expected}: {last}");
    }

    async fn payment_count(&self) -> usize {
        self.list("payment", "").await.2.len()
    }

    pub(crate) async fn deliveries(&self) -> Vec<Value> {
        let response = self
            .client
            .get(self.url("/v1/deliveries"))
            .bearer_auth(&self.merchant.api_key)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        body.as_array().cloned().unwrap_or_default()
    }

    pub(crate) async fn retail_webhook_deliveries(&self) -> Vec<Value> {
        self.deliveries()
            .await
            .into_iter()
            .filter(|d| d["kind"] == "retail_webhook")
            .collect()
    }
}

both_backends! {
    async fn gateway_lists_only_the_merchants_enabled_types(app: TestApp) {
        let all = app.retail("gateway", json!({"lang": "en"})).await;
        assert_eq!(all["errorCode"], "0", "{all}");
        let types: Vec<&str> = all["gateways"].as_array().unwrap().iter()
            .map(|g| g["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["WXPAY", "ALIPAY", "ALIPAYOS", "FPSPAY", "VMPAY", "UNIONPAY", "TEST"]);

        let merchant = MerchantId::parse(&app.merchant.merchant_id).unwrap();
        app.store
            .update_merchant_gateways(&merchant, &["WXPAY".into(), "VMPAY".into()], "hmac-sha1")
            .await
            .unwrap();
        let some = app.retail("gateway", json!({})).await;
        let types: Vec<&str> = some["gateways"].as_array().unwrap().iter()
            .map(|g| g["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["WXPAY", "VMPAY"]);
        let refused = app.retail("sales", sale("ALIPAY", "not-enabled", 100)).await;
        assert_eq!(refused["errorCode"], "40007", "{refused}");
        assert_eq!(app.payment_count().await, 0);
    }
}

both_backends! {
    async fn signatures_are_checked_and_never_replayed(app: TestApp) {
        let timestamp = fresh_timestamp().to_string();
        let good_sign = sha1_sign(&app.merchant.retail_secret, &timestamp);
        let signed = |api_key: &str, timestamp: &str, sign: &str, rrn: &str| {
            let mut body = sale("WXPAY", rrn, 100);
            body["apiKey"] = json!(api_key);
            body["timestamp"] = json!(timestamp);
            body["sign"] = json!(sign);
            body.to_string()
        };
        let key = app.merchant.retail_api_key.clone();

        let wrong_secret = sha1_sign("not the secret", &timestamp);
        let answer = app.retail_raw("sales", &signed(&key, &timestamp, &wrong_secret, "s1"), &[]).await;
        assert_eq!(answer["errorCode"], "40001", "{answer}");
        let answer = app.retail_raw("sales", &signed("unknownKey123456", &timestamp, &good_sign, "s1"), &[]).await;
        assert_eq!(answer["errorCode"], "40001", "{answer}");
        let answer = app.retail_raw("sales", &signed(&key, &timestamp, "not base64!", "s1"), &[]).await;
        assert_eq!(answer["errorCode"], "40001", "{answer}");

        // A correct sign of an old (or future) timestamp is refused.
        for skew in [-6 * 60 * 1000, 6 * 60 * 1000] {
            let old = (fresh_timestamp() + skew).to_string();
            let sign = sha1_sign(&app.merchant.retail_secret, &old);
            let answer = app.retail_raw("sales", &signed(&key, &old, &sign, "s1"), &[]).await;
            assert_eq!(answer["errorCode"], "40003", "{answer}");
        }

        // The first use of a signed timestamp passes; the same sign again does
        // not, even with another body.
        let first = app.retail_raw("sales", &signed(&key, &timestamp, &good_sign, "s1"), &[]).await;
        assert_eq!(first["errorCode"], "0", "{first}");
        let replay = app.retail_raw("sales", &signed(&key, &timestamp, &good_sign, "s2"), &[]).await;
        assert_eq!(replay["errorCode"], "40004", "{replay}");

        let mut unsigned = sale("WXPAY", "s3", 100);
        unsigned["apiKey"] = json!(key);
        unsigned["timestamp"] = json!(fresh_timestamp());
        let answer = app.retail_raw("sales", &unsigned.to_string(), &[]).await;
        assert_eq!(answer["errorCode"], "40005", "{answer}");
        assert_eq!(app.payment_count().await, 1, "only the one good request made a sale");
    }
}

both_backends! {
    /// Issue 9 item 8: the guard remembers the verified (canonical) sign, so
    /// whitespace around a used sign does not make it new again.
    async fn a_used_sign_with_whitespace_added_is_still_a_replay(app: TestApp) {
        let timestamp = fresh_timestamp().to_string();
        let sign = sha1_sign(&app.merchant.retail_secret, &timestamp);
        let signed = |sign: &str, rrn: &str| {
            let mut body = sale("WXPAY", rrn, 100);
            body["apiKey"] = json!(app.merchant.retail_api_key);
            body["timestamp"] = json!(timestamp);
            body["sign"] = json!(sign);
            body.to_string()
        };
        let first = app.retail_raw("sales", &signed(&sign, "w0"), &[]).await;
        assert_eq!(first["errorCode"], "0", "{first}");
        for (n, variant) in [format!("{sign} "), format!("{sign}\t"), format!("{sign}\n"), format!(" {sign}")]
            .iter()
            .enumerate()
        {
            let answer = app.retail_raw("sales", &signed(variant, &format!("w{}", n + 1)), &[]).await;
            assert_eq!(answer["errorCode"], "40004", "{variant:?}: {answer}");
        }
        assert_eq!(app.payment_count().await, 1, "only the first request made a sale");
    }
}

both_backends! {
    /// Issue 9 item 7: retail `extendParam`, `remarks` and `cashier` never
    /// carry a card number or a security code: 40006 and no sale.
    async fn card_data_in_free_text_fields_is_refused(app: TestApp) {
        let cases = [
            ("extendParam", json!(r#"{"subject":"Water","card":"5555555555554444"}"#)),
            ("extendParam", json!(r#"{"subject":"Water","cvv":"687"}"#)),
            ("remarks", json!("paid with 4111-1111-1111-1111")),
            ("cashier", json!("5555 5555 5555 4444")),
        ];
        for (n, (field, value)) in cases.into_iter().enumerate() {
            let mut body = sale("WXPAY", &format!("card{n}"), 100);
            body[field] = value.clone();
            let answer = app.retail("sales", body).await;
            assert_eq!(answer["errorCode"], "40006", "{field} {value}: {answer}");
            let text = answer.to_string();
            assert!(text.contains(field), "{text}");
            assert!(!text.contains("5555") && !text.contains("4111") && !text.contains("687"), "{text}");
        }
        assert_eq!(app.payment_count().await, 0);
    }
}

both_backends! {
    async fn the_sha256_mode_binds_the_signature_to_the_body(app: TestApp) {
        let merchant = MerchantId::parse(&app.merchant.merchant_id).unwrap();
        let all: Vec<String> = ["WXPAY", "VMPAY"].map(String::from).to_vec();
        app.store.update_merchant_gateways(&merchant, &all, "hmac-sha256").await.unwrap();
        let secret = app.merchant.retail_secret.clone();
        let body_with = |rrn: &str, timestamp: i64| {
            let mut body = sale("WXPAY", rrn, 100);
            body["apiKey"] = json!(app.merchant.retail_api_key);
            body["timestamp"] = json!(timestamp);
            body.to_string()
        };

        // seed 003's sign alone is not enough in this mode.
        let timestamp = fresh_timestamp();
        let mut sha1_only: Value = serde_json::from_str(&body_with("h1", timestamp)).unwrap();
        sha1_only["sign"] = json!(sha1_sign(&secret, &timestamp.to_string()));
        let answer = app.retail_raw("sales", &sha1_only.to_string(), &[]).await;
        assert_eq!(answer["errorCode"], "40001", "{answer}");

        // The header signature of another body does not verify this one.
        let timestamp = fresh_timestamp();
        let body = body_with("h1", timestamp);
        let other_signature = sha256_sign(&secret, &timestamp.to_string(), body_with("h2", timestamp).as_bytes());
        let answer = app.retail_raw("sales", &body, &[("X-Payhub-Signature", &other_signature)]).await;
        assert_eq!(answer["errorCode"], "40001", "{answer}");

        let signature = sha256_sign(&secret, &timestamp.to_string(), body.as_bytes());
        let answer = app.retail_raw("sales", &body, &[("X-Payhub-Signature", &signature)]).await;
        assert_eq!(answer["errorCode"], "0", "{answer}");
        assert_eq!(app.payment_count().await, 1);
    }
}

both_backends! {
    async fn a_duplicate_rrn_is_refused_and_creates_nothing(app: TestApp) {
        let first = app.create_sale(sale("WXPAY", "dup-1", 100)).await;
        let again = app.retail("sales", sale("WXPAY", "dup-1", 100)).await;
        assert_eq!(again["errorCode"], "40008", "{again}");
        // Another gateway or amount does not make it a new sale either.
        let other = app.retail("sales", sale("VMPAY", "dup-1", 200)).await;
        assert_eq!(other["errorCode"], "40008", "{other}");
        assert_eq!(app.payment_count().await, 1);
        let payment = app.tmf_payment_of("dup-1").await;
        assert_eq!(payment["totalAmount"]["value"].to_string(), "1.00", "{payment}");
        assert!(first["paymentUrl"].as_str().unwrap().contains(payment["id"].as_str().unwrap()));
    }
}

both_backends! {
    async fn each_invalid_sale_gets_its_error_code_and_changes_nothing(app: TestApp) {
        let with = |change: &dyn Fn(&mut Value)| {
            let mut body = sale("WXPAY", "bad-1", 100);
            change(&mut body);
            body
        };
        let remove = |name: &'static str| move |b: &mut Value| {
            b.as_object_mut().unwrap().remove(name);
        };
        let set = |name: &'static str, value: Value| move |b: &mut Value| b[name] = value.clone();
        let cases: Vec<(&str, Value, &str)> = vec![
            ("no type", with(&remove("type")), "40005"),
            ("no rrn", with(&remove("rrn")), "40005"),
            ("no storeCode", with(&remove("storeCode")), "40005"),
            ("no tillId", with(&remove("tillId")), "40005"),
            ("no salesman", with(&remove("salesman")), "40005"),
            ("no txDateTime", with(&remove("txDateTime")), "40005"),
            ("no amt", with(&remove("amt")), "40005"),
            ("no ccy", with(&remove("ccy")), "40005"),
            ("unknown type", with(&set("type", json!("BITCOIN"))), "40007"),
            ("rrn with spaces", with(&set("rrn", json!("a b"))), "40006"),
            ("txDateTime without zone", with(&set("txDateTime", json!("2021-06-11T16:18:30"))), "40006"),
            ("amt as text", with(&set("amt", json!("100"))), "40006"),
            ("amt with decimals", with(&set("amt", json!(1.5))), "40006"),
            ("amt zero", with(&set("amt", json!(0))), "40006"),
            ("amt negative", with(&set("amt", json!(-5))), "40006"),
            ("not a currency", with(&set("ccy", json!("H$D"))), "40006"),
            ("currency the gateway lacks", with(&set("ccy", json!("USD"))), "40014"),
            ("unknown lang", with(&set("lang", json!("fr"))), "40006"),
            ("extendParam not JSON", with(&set("extendParam", json!("{subject"))), "40006"),
            ("returnUrl not http", with(&set("returnUrl", json!("ftp://shop.example/ok"))), "40006"),
            ("webhookUrl private", with(&set("webhookUrl", json!("http://10.1.2.3/hook"))), "40013"),
            ("webhookUrl loopback not allowed", with(&set("webhookUrl", json!("http://127.0.0.2/hook"))), "40013"),
            // Issue 9 item 15: IPv6 forms of internal IPv4 addresses, and special-purpose blocks.
            ("webhookUrl IPv4-compatible loopback", with(&set("webhookUrl", json!("http://[::127.0.0.1]/hook"))), "40013"),
            ("webhookUrl NAT64 loopback", with(&set("webhookUrl", json!("http://[64:ff9b::7f00:1]/hook"))), "40013"),
            ("webhookUrl 6to4 loopback", with(&set("webhookUrl", json!("http://[2002:7f00:1::]/hook"))), "40013"),
            ("webhookUrl benchmarking", with(&set("webhookUrl", json!("http://198.18.0.1/hook"))), "40013"),
            ("webhookUrl reserved", with(&set("webhookUrl", json!("http://240.0.0.1/hook"))), "40013"),
            ("webhookUrl IETF assignments", with(&set("webhookUrl", json!("http://192.0.0.8/hook"))), "40013"),
            ("returnUrl link-local", with(&set("returnUrl", json!("http://169.254.169.254/latest"))), "40013"),
        ];
        for (what, body, code) in cases {
            let answer = app.retail("sales", body).await;
            assert_eq!(answer["errorCode"], code, "{what}: {answer}");
            assert!(answer["errorMessage"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {answer}");
        }
        let not_json = app.retail_raw("sales", "{not json", &[]).await;
        assert_eq!(not_json["errorCode"], "40012", "{not_json}");
        let not_object = app.retail_raw("sales", "[1,2]", &[]).await;
        assert_eq!(not_object["errorCode"], "40012", "{not_object}");
        assert_eq!(app.payment_count().await, 0, "no invalid request made a payment");

        // The rrn of a refused request is still free.
        app.create_sale(sale("WXPAY", "bad-1", 100)).await;
    }
}

both_backends! {
    async fn query_cancel_and_refund_errors_have_their_codes(app: TestApp) {
        let unknown = app.query("WXPAY", "never-sold").await;
        assert_eq!(unknown["errorCode"], "40009", "{unknown}");
        app.create_sale(sale("WXPAY", "q-1", 1000)).await;
        // The rrn exists, but not under another type or store.
        let wrong_type = app.query("ALIPAY", "q-1").await;
        assert_eq!(wrong_type["errorCode"], "40009", "{wrong_type}");

        let refund = |rrn: &str, amt: i64| json!({
            "type": "WXPAY", "rrn": rrn, "orgRrn": "q-1", "storeCode": "WP001", "tillId": "01",
            "salesman": "WP9999", "amt": amt, "ccy": "HKD",
        });
        let unpaid = app.retail("refund", refund("q-1-r1", 100)).await;
        assert_eq!(unpaid["errorCode"], "40011", "{unpaid}");

        app.settle("q-1", "success").await;
        app.wait_for_status("WXPAY", "q-1", "01").await;
        let cancel = app.retail("cancel", json!({"type": "WXPAY", "rrn": "q-1", "storeCode": "WP001"})).await;
        assert_eq!(cancel["errorCode"], "40010", "a paid sale is refunded, not canceled: {cancel}");
        let too_much = app.retail("refund", refund("q-1-r1", 1001)).await;
        assert_eq!(too_much["errorCode"], "40011", "{too_much}");
        let reused_rrn = app.retail("refund", refund("q-1", 100)).await;
        assert_eq!(reused_rrn["errorCode"], "40008", "{reused_rrn}");
        let (_, _, refunds) = app.list("refund", "").await;
        assert!(refunds.is_empty(), "{refunds:?}");
    }
}

both_backends! {
    async fn gateway_refusals_and_timeouts_have_codes_601_and_3(app: TestApp) {
        let declined = app.retail("sales", sale("ALIPAY", "risk-1", 1402)).await;
        assert_eq!(declined["errorCode"], "601", "{declined}");
        assert_eq!(declined["gwErrorCode"], "risk_declined", "{declined}");
        let query = app.query("ALIPAY", "risk-1").await;
        assert_eq!(query["gwRefStatus"], "02", "{query}");
        assert_eq!(app.tmf_payment_of("risk-1").await["status"], "denied");

        let timed_out = app.retail("sales", sale("ALIPAY", "slow-1", 1408)).await;
        assert_eq!(timed_out["errorCode"], "3", "{timed_out}");
    }
}

both_backends! {
    async fn an_unknown_outcome_is_asked_again_until_known(app: TestApp) {
        // The gateway does not answer the start in time, but acts on it.
        let answer = app.retail("sales", sale("WXPAY", "unk-1", 2408)).await;
        assert_eq!(answer["errorCode"], "3", "{answer}");
        let pending = app.query("WXPAY", "unk-1").await;
        assert_eq!(pending["gwRefStatus"], "05", "unknown is pending, never failed: {pending}");
        assert_eq!(pending["gwRefCode"], "", "no gateway reference known yet: {pending}");
        assert_eq!(app.tmf_payment_of("unk-1").await["status"], "pendingAuthorization");

        // payhub's check asks the gateway and learns its reference.
        let mut learned = Value::Null;
        for _ in 0..100 {
            learned = app.query("WXPAY", "unk-1").await;
            if learned["gwRefCode"] != "" { break; }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_ne!(learned["gwRefCode"], "", "the check learned the outcome: {learned}");
        assert_eq!(learned["gwRefStatus"], "05");

        let settled = app.settle("unk-1", "success").await;
        assert_eq!(settled.status(), StatusCode::OK);
        app.wait_for_status("WXPAY", "unk-1", "01").await;
        assert_eq!(app.tmf_payment_of("unk-1").await["status"], "captured");
    }
}

fn short_expiry(database_url: &str) -> Settings {
    let mut settings = test_settings(database_url);
    settings.gateways.qr_expiry = Duration::from_secs(1);
    settings
}

both_backends! {
    async fn an_unpaid_sale_expires_and_the_merchant_is_told(app: TestApp) {
        let app = app.restart_with(short_expiry).await;
        let hook = Listener::start().await;
        hook.set_reply(StatusCode::OK, ACK);
        let mut body = sale("FPSPAY", "exp-1", 500);
        body["webhookUrl"] = json!(hook.url);
        let answer = app.create_sale(body).await;
        assert!(answer["timeout"].as_i64().unwrap() <= 1, "{answer}");
        app.wait_for_status("FPSPAY", "exp-1", "03").await;
        assert_eq!(app.tmf_payment_of("exp-1").await["status"], "failed");
        let got = hook.wait_until("the expiry webhook", |r| !r.is_empty()).await;
        assert_eq!(got[0]["rrn"], "exp-1");
        assert_eq!(got[0]["gwRefStatus"], "03");
        // Too late to pay.
        let late = app.settle("exp-1", "success").await;
        assert_eq!(late.status(), StatusCode::CONFLICT);
        assert_eq!(app.query("FPSPAY", "exp-1").await["gwRefStatus"], "03");
    }
}

both_backends! {
    async fn a_canceled_sale_cannot_be_paid(app: TestApp) {
        app.create_sale(sale("WXPAY", "can-1", 300)).await;
        let canceled = app.retail("cancel", json!({"type": "WXPAY", "rrn": "can-1", "storeCode": "WP001"})).await;
        assert_eq!(canceled["errorCode"], "0", "{canceled}");
        assert_eq!(canceled["gwRefStatus"], "04", "{canceled}");
        assert_eq!(app.settle("can-1", "success").await.status(), StatusCode::CONFLICT);
        assert_eq!(app.tmf_payment_of("can-1").await["status"], "canceled");
    }
}

both_backends! {
    async fn a_duplicated_gateway_notification_changes_the_sale_once(app: TestApp) {
        let hook = Listener::start().await;
        hook.set_reply(StatusCode::OK, ACK);
        let mut body = sale("WXPAY", "twice-1", 700);
        body["webhookUrl"] = json!(hook.url);
        app.create_sale(body).await;
        // The simulated gateway sends its notification twice, as real ones may.
        assert_eq!(app.settle("twice-1", "success").await.status(), StatusCode::OK);
        app.wait_for_status("WXPAY", "twice-1", "01").await;
        hook.wait_until("the webhook", |r| !r.is_empty()).await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(hook.received().len(), 1, "one state change, one webhook: {:?}", hook.received());
        assert_eq!(app.retail_webhook_deliveries().await.len(), 1);
        // A later contrary outcome changes nothing either.
        assert_eq!(app.settle("twice-1", "decline").await.status(), StatusCode::CONFLICT);
        assert_eq!(app.query("WXPAY", "twice-1").await["gwRefStatus"], "01");
    }
}

both_backends! {
    async fn webhooks_are_signed_and_retried_until_acknowledged(app: TestApp) {
        let hook = Listener::start().await;
        // A merchant that answers 200 without the acknowledgement is asked again.
        hook.set_reply(StatusCode::OK, r#"{"errorCode":"1"}"#);
        let mut body = sale("ALIPAYOS", "wh-1", 1234);
        body["webhookUrl"] = json!(hook.url);
        app.create_sale(body).await;
        app.settle("wh-1", "success").await;
        hook.wait_until("two unacknowledged attempts", |r| r.len() >= 2).await;
        hook.set_reply(StatusCode::OK, ACK);
        hook.wait_until("the acknowledged attempt", |r| r.len() >= 3).await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        let all = hook.received_all();
        assert_eq!(all.len(), 3, "no attempt after the acknowledgement");

        let expected = json!({
            "storeCode": "WP001", "tillId": "01", "type": "ALIPAYOS", "rrn": "wh-1",
            "amount": 1234, "ccy": "HKD", "gwRefStatus": "01",
            "txDatetime": "2021-06-11T16:18:30+0800", "salesman": "WP9999", "orgRrn": "",
        });
        for received in &all {
            for (field, value) in expected.as_object().unwrap() {
                assert_eq!(&received.json[field], value, "{field} in {}", received.json);
            }
            assert!(received.json["gwRefCode"].as_str().is_some_and(|c| !c.is_empty()));
            assert!(received.signature_verifies(&app.merchant.webhook_secret), "{:?}", received.headers);
            assert_eq!(received.headers["webhook-id"], all[0].headers["webhook-id"], "a stable id to deduplicate on");
        }
        assert!(!all[0].signature_verifies("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));

        let deliveries = app.retail_webhook_deliveries().await;
        assert_eq!(deliveries.len(), 1, "{deliveries:?}");
        let log = deliveries[0]["attemptLog"].as_array().unwrap();
        assert_eq!(log.len(), 3, "{log:?}");
        assert!(log.iter().all(|a| a["status"] == 200));
        assert!(log[0]["response"].as_str().unwrap().contains(r#""errorCode":"1""#), "{log:?}");
        assert_eq!(deliveries[0]["state"], "delivered", "{deliveries:?}");
    }
}

both_backends! {
    async fn webhooks_stop_after_the_configured_attempts_and_can_be_resent(app: TestApp) {
        let hook = Listener::start().await;
        hook.set_failing(true);
        let mut body = sale("WXPAY", "gone-1", 100);
        body["webhookUrl"] = json!(hook.url);
        app.create_sale(body).await;
        app.settle("gone-1", "success").await;
        // Tests allow 4 attempts, 200 ms apart.
        hook.wait_until("four attempts", |r| r.len() >= 4).await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(hook.received().len(), 4, "no fifth attempt");
        let delivery = app.retail_webhook_deliveries().await.remove(0);
        assert_eq!(delivery["attemptLog"].as_array().unwrap().len(), 4, "{delivery}");
        assert_ne!(delivery["state"], "delivered", "{delivery}");

        // An operator (or the merchant) sends it again once the endpoint is fixed.
        hook.set_reply(StatusCode::OK, ACK);
        let resent = app.client
            .post(app.url(&format!("/v1/deliveries/{}/resend", delivery["id"].as_str().unwrap())))
            .bearer_auth(&app.merchant.api_key)
            .send().await.unwrap();
        assert_eq!(resent.status(), StatusCode::OK);
        hook.wait_until("the resent webhook", |r| r.len() >= 5).await;
        let all = hook.received_all();
        assert_eq!(all[4].headers["webhook-id"], all[0].headers["webhook-id"]);

        // Another merchant can neither see nor resend it.
        let other = app.other_merchant().await;
        let foreign = app.client
            .post(app.url(&format!("/v1/deliveries/{}/resend", delivery["id"].as_str().unwrap())))
            .bearer_auth(&other.api_key)
            .send().await.unwrap();
        assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    }
}

both_backends! {
    async fn a_webhook_owed_before_a_restart_is_delivered_after_it(app: TestApp) {
        let hook = Listener::start().await;
        hook.set_failing(true);
        let mut body = sale("WXPAY", "rs-1", 100);
        body["webhookUrl"] = json!(hook.url);
        app.create_sale(body).await;
        app.settle("rs-1", "success").await;
        hook.wait_until("a failed attempt", |r| !r.is_empty()).await;
        let app = app.restart().await;
        hook.set_reply(StatusCode::OK, ACK);
        let before = hook.received().len();
        let got = hook.wait_until("delivery after the restart", |r| r.len() > before).await;
        assert_eq!(got.last().unwrap()["rrn"], "rs-1");
        assert_eq!(got.last().unwrap()["gwRefStatus"], "01");
        assert_eq!(app.query("WXPAY", "rs-1").await["gwRefStatus"], "01");
    }
}

both_backends! {
    async fn partial_refunds_never_exceed_what_was_paid(app: TestApp) {
        let hook = Listener::start().await;
        hook.set_reply(StatusCode::OK, ACK);
        let mut body = sale("WXPAY", "ref-1", 1000);
        body["webhookUrl"] = json!(hook.url);
        app.create_sale(body).await;
        app.settle("ref-1", "success").await;
        app.wait_for_status("WXPAY", "ref-1", "01").await;
        let refund = |rrn: &str, amt: i64| json!({
            "type": "WXPAY", "rrn": rrn, "orgRrn": "ref-1", "storeCode": "WP001", "tillId": "01",
            "salesman": "WP9999", "amt": amt, "ccy": "HKD",
        });
        let first = app.retail("refund", refund("ref-1-a", 600)).await;
        assert_eq!(first["errorCode"], "0", "{first}");
        assert_eq!(first["orgRrn"], "ref-1");
        assert_eq!(first["gwRefStatus"], "01");
        assert_eq!(app.query("WXPAY", "ref-1").await["gwRefStatus"], "01", "partly refunded is still paid");
        let too_much = app.retail("refund", refund("ref-1-b", 401)).await;
        assert_eq!(too_much["errorCode"], "40011", "{too_much}");
        let rest = app.retail("refund", refund("ref-1-b", 400)).await;
        assert_eq!(rest["errorCode"], "0", "{rest}");
        assert_eq!(app.query("WXPAY", "ref-1").await["gwRefStatus"], "04", "fully refunded");
        let refund_query = app.query("WXPAY", "ref-1-b").await;
        assert_eq!(refund_query["amt"], 400);
        assert_eq!(refund_query["orgRrn"], "ref-1");
        let nothing_left = app.retail("refund", refund("ref-1-c", 1)).await;
        assert_eq!(nothing_left["errorCode"], "40011", "{nothing_left}");

        // TMF676 sees the refunds of the sale, by their rrn.
        let sale_id = app.tmf_payment_of("ref-1").await["id"].clone();
        let (_, _, refunds) = app.list("refund", "correlatorId=ref-1-a").await;
        assert_eq!(refunds.len(), 1, "{refunds:?}");
        assert_eq!(refunds[0]["payment"]["id"], sale_id);
        assert_eq!(refunds[0]["status"], "done");
        assert_eq!(refunds[0]["totalAmount"].to_string(), r#"{"unit":"HKD","value":6.00}"#);
        // The merchant is told of the sale, then of each refund.
        let got = hook.wait_until("three webhooks", |r| r.len() >= 3).await;
        let refund_hooks: Vec<&Value> = got.iter().filter(|w| w["orgRrn"] == "ref-1").collect();
        assert_eq!(refund_hooks.len(), 2, "{got:?}");
    }
}

both_backends! {
    async fn a_sale_is_a_tmf676_payment(app: TestApp) {
        let mut body = sale("VMPAY", "tmf-1", 12345);
        body["remarks"] = json!("gift wrap");
        app.create_sale(body).await;
        let pending = app.tmf_payment_of("tmf-1").await;
        assert_eq!(pending["status"], "pendingAuthorization");
        assert_eq!(pending["correlatorId"], "tmf-1");
        assert_eq!(pending["totalAmount"].to_string(), r#"{"unit":"HKD","value":123.45}"#);
        assert_eq!(pending["description"], "Water");
        assert_eq!(pending["name"], "Watsons HK");
        assert_eq!(pending["account"]["id"], "WP001");
        assert_eq!(pending["paymentMethod"]["@type"], "VMPAY");
        assert_eq!(pending["retail"]["tillId"], "01");
        assert_eq!(pending["retail"]["remarks"], "gift wrap");
        app.settle("tmf-1", "success").await;
        app.wait_for_status("VMPAY", "tmf-1", "01").await;
        let paid = app.tmf_payment_of("tmf-1").await;
        assert_eq!(paid["status"], "captured");
        assert_eq!(paid["id"], pending["id"]);
        // Another merchant does not see it.
        let other = app.other_merchant().await;
        let foreign = app.get_as(&other, &format!("/payment/{}", paid["id"].as_str().unwrap())).await;
        assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    }
}

both_backends! {
    async fn a_tmf676_refund_of_a_sale_goes_through_its_gateway(app: TestApp) {
        let hook = Listener::start().await;
        hook.set_reply(StatusCode::OK, ACK);
        let mut body = sale("WXPAY", "tmf-r", 1000);
        body["webhookUrl"] = json!(hook.url);
        app.create_sale(body).await;
        let id = app.tmf_payment_of("tmf-r").await["id"].as_str().unwrap().to_owned();
        let early = app.post("/refund", &json!({
            "payment": {"id": id}, "account": {"id": "WP001"}, "paymentMethod": {"@type": "WXPAY"},
            "totalAmount": {"unit": "HKD", "value": 2.5}
        })).await;
        assert_eq!(early.status(), StatusCode::UNPROCESSABLE_ENTITY, "an unpaid sale cannot be refunded");

        app.settle("tmf-r", "success").await;
        app.wait_for_status("WXPAY", "tmf-r", "01").await;
        let response = app.post("/refund", &json!({
            "payment": {"id": id}, "account": {"id": "WP001"}, "paymentMethod": {"@type": "WXPAY"},
            "totalAmount": {"unit": "HKD", "value": 2.5}
        })).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let refund: Value = response.json().await.unwrap();
        assert_eq!(refund["status"], "pendingAuthorization", "answered before the gateway: {refund}");
        let path = format!("/refund/{}", refund["id"].as_str().unwrap());
        let mut settled = Value::Null;
        for _ in 0..100 {
            settled = app.get(&path).await.json().await.unwrap();
            if settled["status"] != "pendingAuthorization" { break; }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(settled["status"], "done", "the gateway made the refund: {settled}");
        let too_much = app.post("/refund", &json!({
            "payment": {"id": id}, "account": {"id": "WP001"}, "paymentMethod": {"@type": "WXPAY"},
            "totalAmount": {"unit": "HKD", "value": 7.51}
        })).await;
        assert_eq!(too_much.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // The gateway has it: the merchant's webhook names the refund's gateway reference.
        let got = hook.wait_until("the refund webhook", |r| r.len() >= 2).await;
        let refund_hook = got.iter().find(|w| w["amount"] == 250).expect("a refund webhook");
        assert_eq!(refund_hook["gwRefStatus"], "01");
        assert!(refund_hook["gwRefCode"].as_str().is_some_and(|c| !c.is_empty()), "{refund_hook}");
    }
}

both_backends! {
    async fn concurrent_sales_with_one_rrn_make_one_payment(app: TestApp) {
        let app = std::sync::Arc::new(app);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let app = app.clone();
            tasks.push(tokio::spawn(async move {
                app.retail("sales", sale("WXPAY", "race-1", 100)).await
            }));
        }
        let mut codes = Vec::new();
        for task in tasks {
            codes.push(task.await.unwrap()["errorCode"].as_str().unwrap().to_owned());
        }
        codes.sort();
        assert_eq!(codes.iter().filter(|c| *c == "0").count(), 1, "{codes:?}");
        assert!(codes.iter().all(|c| c == "0" || c == "40008"), "never an internal error: {codes:?}");
        assert_eq!(app.payment_count().await, 1);
    }
}
