//! The telco payment service (seed 004): validation and its result codes,
//! per-channel defaults, consent (over the consent page's plain HTML form),
//! reserve & commit, direct debit, card, in-app purchase, the spending
//! limit, deadlines, callbacks and the TMF676 view.

use std::time::Duration;

use axum::http::StatusCode;
use payhub_core::MerchantId;
use payhub_server::config::Settings;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{test_settings, Credentials, Listener, TestApp, PUBLIC_BASE};

const SERVICE: &str = "/pgw/paymentService";
pub(crate) const MSISDN: &str = "905321234567";

/// Seed 004's sample request, with a real subscriber number for its masked one.
fn seed_sample() -> Value {
    json!({
        "additionalParameters": [], "channelId": 40,
        "itemList": [{"count": 1, "id": 50, "isRemovable": true}, {"count": 3, "id": 53, "isRemovable": false}],
        "language": "tr", "msisdn": MSISDN, "paymentMethod": "reserve",
        "isDeliverable": true, "isBillingRequired": false, "transactionId": "66664"
    })
}

/// A request on `channel` for `items` ((id, count)), nothing else set.
pub(crate) fn request(transaction_id: &str, channel: i64, items: &[(&str, i64)]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(id, count)| json!({"id": id, "count": count}))
        .collect();
    json!({"transactionId": transaction_id, "msisdn": MSISDN, "channelId": channel,
           "paymentMethod": "reserve", "itemList": items})
}

/// What a consent form sends.
#[derive(Default)]
pub(crate) struct Consent<'a> {
    pub(crate) code: Option<&'a str>,
    pub(crate) remove: &'a [&'a str],
    pub(crate) delivery: Option<&'a str>,
    pub(crate) billing: Option<&'a str>,
}

impl TestApp {
    fn basic(&self, who: &Credentials) -> String {
        use base64::Engine;
        let pair = format!("{}:{}", who.merchant_id, who.api_key);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }

    /// POSTs a payment request as the test merchant; returns status and body.
    pub(crate) async fn telco(&self, body: &Value) -> (StatusCode, Value) {
        self.telco_raw(&self.merchant, &body.to_string()).await
    }

    async fn telco_raw(&self, who: &Credentials, body: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.url(SERVICE))
            .header("authorization", self.basic(who))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let response = crate::conformance::checked("POST", response).await;
        (response.status(), response.json().await.unwrap())
    }

    pub(crate) async fn telco_call(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> (StatusCode, Value) {
        let response = self
            .client
            .request(method.clone(), self.url(&format!("{SERVICE}{path}")))
            .header("authorization", self.basic(&self.merchant))
            .send()
            .await
            .unwrap();
        let response = crate::conformance::checked(method.as_str(), response).await;
        (response.status(), response.json().await.unwrap())
    }

    /// The catalogue the tests use: 50 and 53 (removable or not per request), 60.
    pub(crate) async fn stock_catalogue(&self) {
        for (id, name, price) in [
            ("50", "Music pack", "19.99"),
            ("53", "Sticker", "5.00"),
            ("60", "Game coins", "10.00"),
        ] {
            let response = self
                .client
                .put(self.url(&format!("/pgw/catalogue/{id}")))
                .header("authorization", self.basic(&self.merchant))
                .json(&json!({"name": name, "unitPrice": {"unit": "TRY", "value": price}}))
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::OK,
                "{:?}",
                response.text().await
            );
        }
    }

    /// The newest SMS to the test number: (link path, code).
    pub(crate) async fn last_sms(&self) -> (String, String) {
        let response = self
            .client
            .get(self.url(&format!("/sandbox/v1/sms?msisdn={MSISDN}")))
            .bearer_auth(&self.merchant.api_key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let list: Value = response.json().await.unwrap();
        let sms = &list[0];
        let link = sms["link"]
            .as_str()
            .expect("an SMS")
            .replace(PUBLIC_BASE, "");
        assert!(sms["text"]
            .as_str()
            .unwrap()
            .contains(sms["code"].as_str().unwrap()));
        (link, sms["code"].as_str().unwrap().to_owned())
    }

    /// Submits the consent form like a browser without script; returns the
    /// status and the Location it redirects to (if any).
    pub(crate) async fn consent(
        &self,
        link: &str,
        action: &str,
        form: Consent<'_>,
    ) -> (StatusCode, Option<String>) {
        let mut fields: Vec<(&str, &str)> = vec![("action", action)];
        if let Some(code) = form.code {
            fields.push(("otp", code));
        }
        for id in form.remove {
            fields.push(("remove", id));
        }
        if let Some(address) = form.delivery {
            fields.push(("delivery_address", address));
        }
        if let Some(address) = form.billing {
            fields.push(("billing_address", address));
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = client
            .post(self.url(link))
            .form(&fields)
            .send()
            .await
            .unwrap();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        (response.status(), location)
    }

    pub(crate) async fn state_of(&self, transaction_id: &str) -> Value {
        let (status, body) = self
            .telco_call(reqwest::Method::GET, &format!("/{transaction_id}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub(crate) async fn tmf_of(&self, transaction_id: &str) -> Value {
        let (_, _, items) = self
            .list("payment", &format!("correlatorId={transaction_id}"))
            .await;
        assert_eq!(items.len(), 1, "{items:?}");
        items[0].clone()
    }
}

both_backends! {
    async fn seed_004s_sample_request_gets_its_sample_answer(app: TestApp) {
        app.stock_catalogue().await;
        let (status, body) = app.telco(&seed_sample()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({"resultCode": 1103, "resultDesc": "CONSENT_REQUESTED", "transactionId": "66664"}));
        let payment = app.tmf_of("66664").await;
        assert_eq!(payment["status"], "pendingAuthorization");
        assert_eq!(payment["account"]["id"], MSISDN);
        assert_eq!(payment["paymentMethod"]["@type"], "BankCard");
        assert_eq!(payment["totalAmount"].to_string(), r#"{"unit":"TRY","value":34.99}"#, "1 × 19.99 + 3 × 5.00");
        assert_eq!(payment["telco"]["isDeliverable"], true);
        assert_eq!(payment["telco"]["itemList"][1]["isRemovable"], false);
        let (link, code) = app.last_sms().await;
        assert!(link.starts_with("/consent/"), "{link}");
        assert_eq!(code.len(), 6);
        assert_eq!(app.state_of("66664").await["resultCode"], 1103, "still waiting for consent");
    }
}

both_backends! {
    async fn every_invalid_request_gets_its_result_code_and_changes_nothing(app: TestApp) {
        app.stock_catalogue().await;
        let with = |change: &dyn Fn(&mut Value)| {
            let mut body = request("bad-1", 11, &[("50", 1)]);
            change(&mut body);
            body
        };
        let remove = |name: &'static str| move |b: &mut Value| { b.as_object_mut().unwrap().remove(name); };
        let set = |name: &'static str, value: Value| move |b: &mut Value| b[name] = value.clone();
        let cases: Vec<(&str, Value, u32, StatusCode)> = vec![
            ("no transactionId", with(&remove("transactionId")), 2003, StatusCode::BAD_REQUEST),
            ("no msisdn", with(&remove("msisdn")), 2003, StatusCode::BAD_REQUEST),
            ("no channelId", with(&remove("channelId")), 2003, StatusCode::BAD_REQUEST),
            ("no paymentMethod", with(&remove("paymentMethod")), 2003, StatusCode::BAD_REQUEST),
            ("no itemList", with(&remove("itemList")), 2003, StatusCode::BAD_REQUEST),
            ("transactionId with spaces", with(&set("transactionId", json!("a b"))), 2004, StatusCode::BAD_REQUEST),
            ("paymentMethod not reserve", with(&set("paymentMethod", json!("card"))), 2004, StatusCode::BAD_REQUEST),
            ("isDeliverable as text", with(&set("isDeliverable", json!("yes"))), 2004, StatusCode::BAD_REQUEST),
            ("masked msisdn", with(&set("msisdn", json!("9053XXXXXXXX"))), 2006, StatusCode::BAD_REQUEST),
            ("short msisdn", with(&set("msisdn", json!("53212"))), 2006, StatusCode::BAD_REQUEST),
            ("msisdn with leading 0", with(&set("msisdn", json!("05321234567"))), 2006, StatusCode::BAD_REQUEST),
            ("msisdn as number", with(&set("msisdn", json!(905321234567_i64))), 2006, StatusCode::BAD_REQUEST),
            ("channel 12", with(&set("channelId", json!(12))), 2007, StatusCode::BAD_REQUEST),
            ("channel text", with(&set("channelId", json!("card"))), 2007, StatusCode::BAD_REQUEST),
            ("empty itemList", with(&set("itemList", json!([]))), 2008, StatusCode::BAD_REQUEST),
            ("item without id", with(&set("itemList", json!([{"count": 1}]))), 2008, StatusCode::BAD_REQUEST),
            ("repeated item", with(&set("itemList", json!([{"id": 50, "count": 1}, {"id": "50", "count": 2}]))), 2008, StatusCode::BAD_REQUEST),
            ("in-app with two items", json!({"transactionId": "bad-1", "msisdn": MSISDN, "channelId": 50, "paymentMethod": "reserve",
                "itemList": [{"id": 50, "count": 1}, {"id": 53, "count": 1}]}), 2008, StatusCode::BAD_REQUEST),
            ("unknown product", with(&set("itemList", json!([{"id": 99, "count": 1}]))), 2009, StatusCode::BAD_REQUEST),
            ("count 0", with(&set("itemList", json!([{"id": 50, "count": 0}]))), 2010, StatusCode::BAD_REQUEST),
            ("count 1.5", with(&set("itemList", json!([{"id": 50, "count": 1.5}]))), 2010, StatusCode::BAD_REQUEST),
            ("count missing", with(&set("itemList", json!([{"id": 50}]))), 2010, StatusCode::BAD_REQUEST),
        ];
        for (what, body, code, status) in cases {
            let (got_status, answer) = app.telco(&body).await;
            assert_eq!(answer["resultCode"], code, "{what}: {answer}");
            assert_eq!(got_status, status, "{what}: {answer}");
            assert_eq!(answer.as_object().unwrap().len(), 3, "{what}: only resultCode, resultDesc, transactionId: {answer}");
            assert!(answer["resultDesc"].as_str().unwrap().len() > 10, "{what}: a clear description: {answer}");
        }
        let (status, answer) = app.telco_raw(&app.merchant, "{not json").await;
        assert_eq!((status, answer["resultCode"].clone()), (StatusCode::BAD_REQUEST, json!(2002)));
        let stranger = Credentials { api_key: "phk_wrong".into(), ..app.merchant.clone() };
        let (status, answer) = app.telco_raw(&stranger, &request("bad-1", 11, &[("50", 1)]).to_string()).await;
        assert_eq!((status, answer["resultCode"].clone()), (StatusCode::UNAUTHORIZED, json!(2001)));
        assert_eq!(answer["transactionId"], "bad-1");
        assert_eq!(app.list("payment", "").await.2.len(), 0, "no refused request made a payment");

        // The id of a refused request is still free; a used one is not.
        assert_eq!(app.telco(&request("bad-1", 11, &[("50", 1)])).await.1["resultCode"], 1103);
        let (status, again) = app.telco(&request("bad-1", 10, &[("60", 2)])).await;
        assert_eq!((status, again["resultCode"].clone()), (StatusCode::CONFLICT, json!(2005)));
        assert_eq!(app.list("payment", "").await.2.len(), 1);
        // Another service may use the same transactionId for its own.
        let other = app.other_merchant().await;
        let (_, answer) = app.telco_raw(&other, &request("bad-1", 11, &[("50", 1)]).to_string()).await;
        assert_eq!(answer["resultCode"], 2009, "the other service has its own (empty) catalogue: {answer}");
    }
}

both_backends! {
    async fn channel_defaults_apply_unless_the_request_says_otherwise(app: TestApp) {
        app.stock_catalogue().await;
        for (id, channel, deliverable, billing) in [("d10", 10, false, false), ("d11", 11, false, false), ("d40", 40, true, true), ("d50", 50, false, false)] {
            app.telco(&request(id, channel, &[("50", 1)])).await;
            let telco = app.tmf_of(id).await["telco"].clone();
            assert_eq!(telco["isDeliverable"], deliverable, "{id}: {telco}");
            assert_eq!(telco["isBillingRequired"], billing, "{id}: {telco}");
            assert_eq!(telco["itemList"][0]["isRemovable"], true, "{id}: {telco}");
        }
        let mut body = request("o10", 10, &[("50", 1)]);
        body["isDeliverable"] = json!(true);
        body["isBillingRequired"] = json!(true);
        body["itemList"][0]["isRemovable"] = json!(false);
        app.telco(&body).await;
        let telco = app.tmf_of("o10").await["telco"].clone();
        assert_eq!((telco["isDeliverable"].clone(), telco["isBillingRequired"].clone()), (json!(true), json!(true)));
        assert_eq!(telco["itemList"][0]["isRemovable"], false);
        let mut body = request("o40", 40, &[("50", 1)]);
        body["isDeliverable"] = json!(false);
        app.telco(&body).await;
        assert_eq!(app.tmf_of("o40").await["telco"]["isDeliverable"], false);
    }
}

fn small_limit(database_url: &str) -> Settings {
    let mut settings = test_settings(database_url);
    settings.telco.spending_limit_minor = 3000;
    settings
}

fn short_deadlines(database_url: &str) -> Settings {
    let mut settings = test_settings(database_url);
    settings.telco.reservation_ttl = Duration::from_secs(1);
    settings.telco.consent_ttl = Duration::from_secs(1);
    settings
}

both_backends! {
    async fn reserve_consent_with_a_removal_then_commit(app: TestApp) {
        app.stock_catalogue().await;
        let mut body = request("r-1", 10, &[("50", 1), ("53", 2)]);
        body["isDeliverable"] = json!(true);
        app.telco(&body).await;
        let (link, code) = app.last_sms().await;
        let page = app.client.get(app.url(&link)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Music pack") && page.contains("29.99 TRY"), "basket with prices");
        assert!(page.contains(r#"name="delivery_address""#) && !page.contains(r#"name="billing_address""#));
        assert!(!page.contains("<script"), "no script needed");

        // A deliverable order needs its address; nothing moves without it.
        let (status, _) = app.consent(&link, "approve", Consent { code: Some(&code), ..Default::default() }).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(app.state_of("r-1").await["resultCode"], 1103);

        let (status, location) = app.consent(&link, "approve", Consent {
            code: Some(&code), remove: &["53"], delivery: Some("Istiklal Cd. 1, Istanbul"), ..Default::default()
        }).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location.as_deref(), Some(link.as_str()));
        assert_eq!(app.state_of("r-1").await, json!({"resultCode": 1105, "resultDesc": "RESERVED", "transactionId": "r-1"}));
        let payment = app.tmf_of("r-1").await;
        assert_eq!(payment["status"], "authorized");
        assert_eq!(payment["totalAmount"].to_string(), r#"{"unit":"TRY","value":19.99}"#, "the removed stickers are not charged");
        assert_eq!(payment["telco"]["itemList"][1]["removed"], true);

        let (status, body) = app.telco_call(reqwest::Method::POST, "/r-1/commit").await;
        assert_eq!((status, body["resultDesc"].clone()), (StatusCode::OK, json!("COMMITTED")));
        assert_eq!(app.tmf_of("r-1").await["status"], "captured");
        let (status, body) = app.telco_call(reqwest::Method::POST, "/r-1/release").await;
        assert_eq!((status, body["resultCode"].clone()), (StatusCode::CONFLICT, json!(2012)));
        // The link now shows the outcome, and cannot be used again.
        let (status, _) = app.consent(&link, "approve", Consent { code: Some(&code), delivery: Some("x"), ..Default::default() }).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(app.state_of("r-1").await["resultDesc"], "COMMITTED");
    }
}

both_backends! {
    async fn an_uncommitted_reservation_is_released_and_a_late_consent_expires(app: TestApp) {
        let app = app.restart_with(short_deadlines).await;
        app.stock_catalogue().await;
        app.telco(&request("x-1", 10, &[("60", 1)])).await;
        let (link, code) = app.last_sms().await;
        app.consent(&link, "approve", Consent { code: Some(&code), ..Default::default() }).await;
        assert_eq!(app.state_of("x-1").await["resultDesc"], "RESERVED");
        let mut last = Value::Null;
        for _ in 0..100 {
            last = app.state_of("x-1").await;
            if last["resultDesc"] != "RESERVED" { break; }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(last["resultCode"], 1108, "released when not committed in time: {last}");
        assert_eq!(app.tmf_of("x-1").await["status"], "canceled");
        let (status, body) = app.telco_call(reqwest::Method::POST, "/x-1/commit").await;
        assert_eq!((status, body["resultCode"].clone()), (StatusCode::CONFLICT, json!(2012)));

        app.telco(&request("x-2", 11, &[("60", 1)])).await;
        let (link, code) = app.last_sms().await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        app.consent(&link, "approve", Consent { code: Some(&code), ..Default::default() }).await;
        let mut last = Value::Null;
        for _ in 0..100 {
            last = app.state_of("x-2").await;
            if last["resultCode"] != 1103 { break; }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(last["resultDesc"], "CONSENT_EXPIRED", "{last}");
        assert_eq!(app.tmf_of("x-2").await["status"], "canceled");
    }
}

both_backends! {
    async fn the_spending_limit_refuses_what_the_bill_cannot_take(app: TestApp) {
        let app = app.restart_with(small_limit).await;
        app.stock_catalogue().await;
        // 30.00 TRY limit: a 19.99 direct debit passes, a second one does not.
        for (id, expected, status) in [("l-1", "CHARGED", "captured"), ("l-2", "PAYMENT_FAILED", "denied")] {
            app.telco(&request(id, 11, &[("50", 1)])).await;
            let (link, code) = app.last_sms().await;
            app.consent(&link, "approve", Consent { code: Some(&code), ..Default::default() }).await;
            assert_eq!(app.state_of(id).await["resultDesc"], expected, "{id}");
            assert_eq!(app.tmf_of(id).await["status"], status, "{id}");
        }
        // An in-app purchase within what is left still passes.
        app.telco(&request("l-3", 50, &[("60", 1)])).await;
        let (link, code) = app.last_sms().await;
        app.consent(&link, "approve", Consent { code: Some(&code), ..Default::default() }).await;
        assert_eq!(app.state_of("l-3").await["resultDesc"], "CHARGED");
        assert_eq!(app.tmf_of("l-3").await["paymentMethod"]["@type"], "InAppPurchase");
    }
}

both_backends! {
    async fn wrong_codes_and_declines_charge_nothing(app: TestApp) {
        app.stock_catalogue().await;
        app.telco(&request("w-1", 11, &[("60", 1)])).await;
        let (link, code) = app.last_sms().await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for attempt in 1..=5 {
            let (status, _) = app.consent(&link, "approve", Consent { code: Some(wrong), ..Default::default() }).await;
            let expected = if attempt < 5 { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::SEE_OTHER };
            assert_eq!(status, expected, "attempt {attempt}");
        }
        assert_eq!(app.state_of("w-1").await["resultDesc"], "CONSENT_REJECTED");
        let (_, _) = app.consent(&link, "approve", Consent { code: Some(&code), ..Default::default() }).await;
        assert_eq!(app.state_of("w-1").await["resultDesc"], "CONSENT_REJECTED", "the right code comes too late");

        app.telco(&request("w-2", 10, &[("60", 1)])).await;
        let (link, _) = app.last_sms().await;
        app.consent(&link, "decline", Consent::default()).await;
        assert_eq!(app.state_of("w-2").await["resultCode"], 1109);
        assert_eq!(app.tmf_of("w-2").await["status"], "canceled");
        // A forged link opens nothing.
        let forged = link.rsplit_once('/').map(|(base, _)| format!("{base}/AAAAAAAAAAAAAAAAAAAAAAAA")).unwrap();
        let response = app.client.get(app.url(&forged)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}

both_backends! {
    async fn a_card_channel_payment_continues_on_the_card_page(app: TestApp) {
        app.stock_catalogue().await;
        app.telco(&request("c-1", 40, &[("50", 1)])).await;
        let (link, code) = app.last_sms().await;
        let (status, location) = app.consent(&link, "approve", Consent {
            code: Some(&code), delivery: Some("Kadikoy, Istanbul"), billing: Some("bills@example.com"), ..Default::default()
        }).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let card_page = location.expect("to the card page");
        assert!(card_page.starts_with("/pay/"), "{card_page}");
        assert_eq!(app.state_of("c-1").await["resultDesc"], "AWAITING_CARD_PAYMENT");
        let page = app.client.get(app.url(&card_page)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(r#"name="number""#), "the card form");
        let response = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
            .post(app.url(&format!("{card_page}/card")))
            .form(&[("number", "4242 4242 4242 4242"), ("expiry", "12/34"), ("cvc", "123"), ("holder", "A Subscriber")])
            .send().await.unwrap();
        assert!(response.status().is_redirection() || response.status().is_success(), "{}", response.status());
        let mut last = Value::Null;
        for _ in 0..100 {
            last = app.state_of("c-1").await;
            if last["resultDesc"] != "AWAITING_CARD_PAYMENT" { break; }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(last["resultDesc"], "CHARGED", "{last}");
        let payment = app.tmf_of("c-1").await;
        assert_eq!(payment["status"], "captured");
        assert!(!payment.to_string().contains("4242424242424242"));
    }
}

both_backends! {
    async fn the_service_is_called_back_at_each_change(app: TestApp) {
        app.stock_catalogue().await;
        let listener = Listener::start().await;
        let merchant = MerchantId::parse(&app.merchant.merchant_id).unwrap();
        app.store.set_telco_callback_url(&merchant, Some(&listener.url)).await.unwrap();
        app.telco(&request("cb-1", 10, &[("60", 1)])).await;
        let (link, code) = app.last_sms().await;
        app.consent(&link, "approve", Consent { code: Some(&code), ..Default::default() }).await;
        app.telco_call(reqwest::Method::POST, "/cb-1/commit").await;
        let got = listener.wait_until("three callbacks", |r| r.len() >= 3).await;
        assert!(got.iter().all(|c| c["transactionId"] == "cb-1"), "{got:?}");
        assert_eq!(got.last().unwrap()["resultDesc"], "COMMITTED", "{got:?}");
        assert!(listener.received_headers().iter().all(|h| h.contains_key("webhook-signature")));
        // Another service's query finds nothing.
        let other = app.other_merchant().await;
        let response = app.client.get(app.url(&format!("{SERVICE}/cb-1")))
            .header("authorization", app.basic(&other)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["resultCode"], 2011);
    }
}

both_backends! {
    async fn a_tmf676_refund_is_credited_back_on_the_bill(app: TestApp) {
        let app = app.restart_with(small_limit).await;
        app.stock_catalogue().await;
        let pay = |id: &'static str| {
            let app = &app;
            async move {
                app.telco(&request(id, 11, &[("50", 1)])).await;
                let (link, code) = app.last_sms().await;
                app.consent(&link, "approve", Consent { code: Some(&code), ..Default::default() }).await;
                app.state_of(id).await["resultDesc"].clone()
            }
        };
        assert_eq!(pay("b-1").await, "CHARGED");
        assert_eq!(pay("b-2").await, "PAYMENT_FAILED", "the 30.00 limit holds 19.99 once");
        let id = app.tmf_of("b-1").await["id"].as_str().unwrap().to_owned();
        let refund = |value: &str| json!({"payment": {"id": id}, "account": {"id": MSISDN},
            "paymentMethod": {"@type": "CarrierBillingDirectDebit"}, "totalAmount": {"unit": "TRY", "value": value.parse::<f64>().unwrap()}});
        let too_much = app.post("/refund", &refund("20.00")).await;
        assert_eq!(too_much.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let response = app.post("/refund", &refund("19.99")).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let created: Value = response.json().await.unwrap();
        assert_eq!(created["status"], "pendingAuthorization");
        let path = format!("/refund/{}", created["id"].as_str().unwrap());
        let mut settled = Value::Null;
        for _ in 0..100 {
            settled = app.get(&path).await.json().await.unwrap();
            if settled["status"] == "done" { break; }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(settled["status"], "done", "{settled}");
        // Credited: the bill has room for the same amount again.
        assert_eq!(pay("b-3").await, "CHARGED");
    }
}

/// Submits the same approval `times` times at once (each on its own task,
/// so they reach payhub together); returns the statuses.
async fn approve_at_once(app: &TestApp, link: &str, code: &str, times: usize) -> Vec<StatusCode> {
    let url = app.url(link);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..times {
        let (url, code) = (url.clone(), code.to_owned());
        tasks.spawn(async move {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let response = client
                .post(url)
                .form(&[("action", "approve"), ("otp", code.as_str())])
                .send()
                .await
                .unwrap();
            response.status()
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = tasks.join_next().await {
        statuses.push(status.unwrap());
    }
    statuses
}

/// What the simulated carrier has charged the test subscriber.
async fn charged(app: &TestApp) -> i64 {
    app.store.carrier_charged(MSISDN).await.unwrap()
}

both_backends! {
    /// Issue 9: twenty wrong codes arriving together each count, so the
    /// consent is rejected and the right code afterwards charges nothing.
    async fn wrong_codes_sent_at_once_all_count(app: TestApp) {
        app.stock_catalogue().await;
        app.telco(&request("wa-1", 11, &[("60", 1)])).await;
        let (link, code) = app.last_sms().await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let statuses = approve_at_once(&app, &link, wrong, 20).await;
        assert!(statuses.iter().all(|s| *s == StatusCode::UNPROCESSABLE_ENTITY || *s == StatusCode::SEE_OTHER), "{statuses:?}");
        let last = app.state_of("wa-1").await;
        assert_eq!(last["resultCode"], 1109, "rejected after five wrong codes: {last}");
        app.consent(&link, "approve", Consent { code: Some(&code), ..Default::default() }).await;
        assert_eq!(app.state_of("wa-1").await["resultCode"], 1109, "the right code is refused");
        assert_eq!(charged(&app).await, 0, "nothing was charged");
        assert_eq!(app.tmf_of("wa-1").await["status"], "canceled");
    }
}

both_backends! {
    /// Issue 9: the right code sent eight times at once on a direct debit
    /// and an in-app purchase charges the bill once each.
    async fn one_approval_charges_the_bill_once(app: TestApp) {
        app.stock_catalogue().await;
        for (id, channel) in [("once-11", 11), ("once-50", 50)] {
            let before = charged(&app).await;
            app.telco(&request(id, channel, &[("60", 1)])).await;
            let (link, code) = app.last_sms().await;
            let statuses = approve_at_once(&app, &link, &code, 8).await;
            assert!(statuses.iter().all(|s| *s == StatusCode::SEE_OTHER), "{id}: {statuses:?}");
            assert_eq!(app.state_of(id).await["resultDesc"], "CHARGED", "{id}");
            assert_eq!(charged(&app).await - before, 1000, "{id}: 10.00 TRY charged once");
        }
    }
}

both_backends! {
    /// Issue 9: a reservation made through one node is committed through
    /// another, and the SMS centre shows the code on every node.
    async fn the_carrier_bill_and_the_sms_centre_are_the_same_on_every_node(app: TestApp) {
        app.stock_catalogue().await;
        let second = TestApp::spawn_on(app.db.clone(), Some(app.merchant.clone())).await;
        let third = TestApp::spawn_on(app.db.clone(), Some(app.merchant.clone())).await;
        app.telco(&request("n-1", 10, &[("60", 1)])).await;
        let (link, code) = app.last_sms().await;
        assert_eq!(second.last_sms().await, (link.clone(), code.clone()), "the second node shows the SMS");
        assert_eq!(third.last_sms().await, (link.clone(), code.clone()), "the third node shows the SMS");
        second.consent(&link, "approve", Consent { code: Some(&code), ..Default::default() }).await;
        assert_eq!(app.state_of("n-1").await["resultDesc"], "RESERVED");
        let (status, body) = third.telco_call(reqwest::Method::POST, "/n-1/commit").await;
        assert_eq!((status, body["resultDesc"].clone()), (StatusCode::OK, json!("COMMITTED")), "{body}");
        assert_eq!(charged(&app).await, 1000);
    }
}

both_backends! {
    /// The simulated carrier's books (formerly a unit test of the in-memory
    /// carrier): the limit counts reservations and charges, per subscriber;
    /// a key books once.
    async fn the_carrier_books_count_reservations_and_charges(app: TestApp) {
        use payhub_store::{CarrierAnswer, CarrierOp};
        let now = chrono::Utc::now();
        let book = |op: CarrierOp, reference: &'static str| {
            let store = app.store.clone();
            async move { store.book_carrier(&op, reference, now).await.unwrap() }
        };
        let hold = |key: &str, msisdn: &str, amount: i64, charge: bool| {
            let (key, msisdn) = (key.to_owned(), msisdn.to_owned());
            if charge {
                CarrierOp::Charge { key, msisdn, amount_minor: amount, limit_minor: 1000 }
            } else {
                CarrierOp::Reserve { key, msisdn, amount_minor: amount, limit_minor: 1000 }
            }
        };
        let first = book(hold("1", "905321234567", 600, false), "rsv_1").await;
        assert_eq!(first, CarrierAnswer::Booked("rsv_1".into()));
        assert_eq!(book(hold("2", "905321234567", 500, true), "chg_2").await,
            CarrierAnswer::LimitExceeded { available: 400, requested: 500 });
        assert_eq!(book(hold("3", "905321234567", 400, true), "chg_3").await, CarrierAnswer::Booked("chg_3".into()));
        assert_eq!(book(hold("3", "905321234567", 400, true), "chg_x").await, CarrierAnswer::Booked("chg_3".into()), "a key books once");
        assert_eq!(book(CarrierOp::Release { reference: "rsv_1".into() }, "-").await, CarrierAnswer::Booked("rsv_1".into()));
        assert_eq!(book(CarrierOp::Commit { reference: "rsv_1".into() }, "-").await, CarrierAnswer::UnknownReservation);
        assert_eq!(book(hold("4", "905321234567", 600, false), "rsv_4").await, CarrierAnswer::Booked("rsv_4".into()));
        assert_eq!(book(CarrierOp::Commit { reference: "rsv_4".into() }, "-").await, CarrierAnswer::Booked("rsv_4".into()));
        assert_eq!(book(CarrierOp::Commit { reference: "rsv_4".into() }, "-").await, CarrierAnswer::Booked("rsv_4".into()), "committed once");
        assert_eq!(app.store.carrier_charged("905321234567").await.unwrap(), 1000);
        assert!(matches!(book(hold("5", "905321234567", 1, false), "rsv_5").await, CarrierAnswer::LimitExceeded { .. }));
        assert_eq!(book(hold("6", "905559876543", 1000, false), "rsv_6").await, CarrierAnswer::Booked("rsv_6".into()), "limits are per subscriber");
    }
}

/// A carrier that answers after the gateway call timeout: every carrier
/// call of this node is left without an answer.
fn silent_carrier(database_url: &str) -> Settings {
    let mut settings = test_settings(database_url);
    settings.telco.carrier_latency = Duration::from_secs(120);
    settings
}

both_backends! {
    /// Issue 9: a bill refund acknowledged by a node that stops before the
    /// carrier credits it is credited (once) by the next node.
    async fn a_bill_refund_survives_the_node_that_took_it(app: TestApp) {
        app.stock_catalogue().await;
        app.telco(&request("s-1", 11, &[("60", 2)])).await;
        let (link, code) = app.last_sms().await;
        app.consent(&link, "approve", Consent { code: Some(&code), ..Default::default() }).await;
        assert_eq!(app.state_of("s-1").await["resultDesc"], "CHARGED");
        assert_eq!(charged(&app).await, 2000);
        let id = app.tmf_of("s-1").await["id"].as_str().unwrap().to_owned();

        let app = app.restart_with(silent_carrier).await;
        let response = app.post("/refund", &json!({"payment": {"id": id}, "account": {"id": MSISDN},
            "paymentMethod": {"@type": "CarrierBillingDirectDebit"}, "totalAmount": {"unit": "TRY", "value": 10.0}})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let created: Value = response.json().await.unwrap();
        assert_eq!(created["status"], "pendingAuthorization");
        let path = format!("/refund/{}", created["id"].as_str().unwrap());

        let app = app.restart().await;
        let mut settled = Value::Null;
        for _ in 0..200 {
            settled = app.get(&path).await.json().await.unwrap();
            if settled["status"] == "done" { break; }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(settled["status"], "done", "{settled}");
        assert_eq!(charged(&app).await, 1000, "credited once");
    }
}

both_backends! {
    /// Issue 9 item 7: telco additional parameters never carry a card number
    /// or a security code; such a request gets 2004 and changes nothing.
    async fn card_data_in_additional_parameters_is_refused(app: TestApp) {
        app.stock_catalogue().await;
        for parameters in [
            json!([{"name": "card", "value": "5555555555554444"}]),
            json!({"cvv": "687"}),
        ] {
            let mut body = request("card-1", 11, &[("50", 1)]);
            body["additionalParameters"] = parameters.clone();
            let (status, answer) = app.telco(&body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{parameters}: {answer}");
            assert_eq!(answer["resultCode"], 2004, "{parameters}: {answer}");
            let text = answer.to_string();
            assert!(!text.contains("5555") && !text.contains("687"), "{text}");
        }
        assert_eq!(app.list("payment", "").await.2.len(), 0);
    }
}

both_backends! {
    /// Issue 9 item 16 on the consent page: a control character in a form
    /// field (a NUL, which PostgreSQL cannot store) is refused with a page,
    /// never a 500, and nothing moves; the right form afterwards works.
    async fn a_control_character_in_the_consent_form_is_refused_and_changes_nothing(app: TestApp) {
        app.stock_catalogue().await;
        let mut body = request("nul-1", 10, &[("50", 1)]);
        body["isDeliverable"] = json!(true);
        app.telco(&body).await;
        let (link, code) = app.last_sms().await;
        let (status, _) = app.consent(&link, "approve", Consent {
            code: Some(&code), delivery: Some("Istiklal Cd.\u{0} 1"), ..Default::default()
        }).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(app.state_of("nul-1").await["resultCode"], 1103, "still waiting for consent");
        let (status, _) = app.consent(&link, "approve", Consent {
            code: Some(&code), delivery: Some("Istiklal Cd. 1"), ..Default::default()
        }).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(app.state_of("nul-1").await["resultCode"], 1105);
    }
}
