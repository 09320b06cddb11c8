//! The APS PaymentManagement dialect (seed 001): validation and its error
//! object, ownership of resources and payment ids, credit (spent first, never
//! negative under concurrency, given back when the card part fails), stored
//! methods charged without the customer, the hosted card page and its
//! callback URLs, `notifyUrl` deliveries, idempotency and the TMF676 view.

use std::time::Duration;

use axum::http::StatusCode;
use chrono::Datelike;
use payhub_app::gateways::simulated::CHALLENGE_CODE;
use payhub_core::{Currency, MerchantId, PaymentId};
use payhub_server::api_aps::accounts::{create_account, parse_amount};
use payhub_store::{ApsAccount, CreditState};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Credentials, Listener, TestApp, PUBLIC_BASE};

/// Where the hosted page sends the customer back (loopback: tests allow it).
pub(crate) const OK_URL: &str = "http://127.0.0.1:9/shop/paid";
pub(crate) const FAIL_URL: &str = "http://127.0.0.1:9/shop/failed";

fn usd() -> Currency {
    Currency::parse("USD").unwrap()
}

/// The simulated issuers' card that is always declined.
const DECLINED_CARD: &str = "4000 0000 0000 0002";
/// `PAYHUB_CARD_ATTEMPTS` unless told otherwise.
const DEFAULT_CARD_ATTEMPTS: usize = 3;

/// A card expiry a few years ahead.
fn future_expiry() -> String {
    format!("12/{:02}", (chrono::Utc::now().year() + 3) % 100)
}

impl TestApp {
    /// A new account of `who` with `credit` USD available.
    async fn aps_account_of(&self, who: &Credentials, credit: &str) -> ApsAccount {
        let merchant = MerchantId::parse(&who.merchant_id).unwrap();
        let credit = parse_amount(credit, usd()).unwrap();
        create_account(
            self.store.as_ref(),
            &merchant,
            usd(),
            Some(credit),
            None,
            None,
        )
        .await
        .unwrap()
    }

    pub(crate) async fn aps_account(&self, credit: &str) -> ApsAccount {
        self.aps_account_of(&self.merchant.clone(), credit).await
    }

    /// `pay` as `who`, with an optional idempotency key; status and body.
    async fn aps_pay_as(
        &self,
        who: &Credentials,
        aps_id: &str,
        body: &str,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(self.url(&format!("/aps/2/resources/{aps_id}/payment")))
            .bearer_auth(&who.api_key)
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = crate::conformance::checked("POST", request.send().await.unwrap()).await;
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    async fn aps_pay(&self, aps_id: &str, body: Value) -> (StatusCode, Value) {
        self.aps_pay_as(&self.merchant.clone(), aps_id, &body.to_string(), None)
            .await
    }

    /// A `pay` that must be accepted; returns the answer.
    pub(crate) async fn aps_pay_ok(&self, aps_id: &str, body: Value) -> Value {
        let (status, answer) = self.aps_pay(aps_id, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}: {answer}");
        answer
    }

    /// `payments` as `who` with a raw query string; status and body.
    async fn aps_payments_as(
        &self,
        who: &Credentials,
        aps_id: &str,
        query: &str,
    ) -> (StatusCode, Value) {
        let response = self
            .client
            .get(self.url(&format!("/aps/2/resources/{aps_id}/payments?{query}")))
            .bearer_auth(&who.api_key)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    /// The one `APSPayment` of `payment_id`.
    pub(crate) async fn aps_payment(&self, aps_id: &str, payment_id: &Value) -> Value {
        let (status, body) = self
            .aps_payments_as(
                &self.merchant.clone(),
                aps_id,
                &format!("paymentIds={payment_id}"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let items = body.as_array().unwrap();
        assert_eq!(items.len(), 1, "{body}");
        items[0].clone()
    }

    pub(crate) async fn credit_of(&self, aps_id: &str) -> i64 {
        self.store
            .find_aps_account(aps_id)
            .await
            .unwrap()
            .unwrap()
            .available_credit_minor
    }

    /// Pays on the hosted page as a browser would, without following
    /// redirects: opens the page, posts the card form (and the 3-D Secure
    /// code when asked), and returns where the page finally sends the customer.
    pub(crate) async fn pay_on_page(&self, redirect_url: &str, card: &str) -> String {
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let path = redirect_url
            .strip_prefix(PUBLIC_BASE)
            .expect("a page on payhub")
            .to_owned();
        let page = browser.get(self.url(&path)).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(
            html.contains(&format!("{path}/card")),
            "the card form posts to the page: {html}"
        );
        let posted = browser
            .post(self.url(&format!("{path}/card")))
            .form(&[
                ("number", card),
                ("expiry", &future_expiry()),
                ("cvc", "737"),
                ("holder", "Ada"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), StatusCode::SEE_OTHER, "post/redirect/get");
        for _ in 0..3 {
            let page = browser.get(self.url(&path)).send().await.unwrap();
            if page.status().is_redirection() {
                return page.headers()["location"].to_str().unwrap().to_owned();
            }
            let html = page.text().await.unwrap();
            assert!(
                html.contains("/challenge"),
                "expected the 3-D Secure step: {html}"
            );
            let answered = browser
                .post(self.url(&format!("{path}/challenge")))
                .form(&[("code", CHALLENGE_CODE)])
                .send()
                .await
                .unwrap();
            assert_eq!(answered.status(), StatusCode::SEE_OTHER);
        }
        panic!("the page never finished");
    }

    /// Declines a card on the hosted page at every attempt the payment has
    /// (`PAYHUB_CARD_ATTEMPTS`, 3 by default), checking after each decline
    /// before the last that the page asks for another card and that the
    /// account's available credit is still `available_minor` (the spent
    /// credit stays held while the customer may pay). Returns where the page
    /// sends the customer once the last decline ended the payment, and the
    /// page shown after the decline before it.
    async fn decline_every_attempt(
        &self,
        redirect_url: &str,
        aps_id: &str,
        available_minor: i64,
    ) -> (String, String) {
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let path = redirect_url
            .strip_prefix(PUBLIC_BASE)
            .expect("a page on payhub")
            .to_owned();
        let mut waiting = String::new();
        for attempt in 1..DEFAULT_CARD_ATTEMPTS {
            let posted = browser
                .post(self.url(&format!("{path}/card")))
                .form(&[
                    ("number", DECLINED_CARD),
                    ("expiry", &future_expiry()),
                    ("cvc", "737"),
                    ("holder", "Ada"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(posted.status(), StatusCode::SEE_OTHER, "post/redirect/get");
            let page = browser.get(self.url(&path)).send().await.unwrap();
            assert_eq!(
                page.status(),
                StatusCode::OK,
                "attempt {attempt}: still open"
            );
            waiting = page.text().await.unwrap();
            assert!(
                waiting.contains(r#"id="card-declined""#)
                    && waiting.contains(&format!("{path}/card")),
                "attempt {attempt}: the page asks for another card: {waiting}"
            );
            assert_eq!(
                self.credit_of(aps_id).await,
                available_minor,
                "attempt {attempt}: the credit stays held"
            );
        }
        (self.pay_on_page(redirect_url, DECLINED_CARD).await, waiting)
    }

    /// Saves `card` as a stored method of `account` the only way there is:
    /// a hosted-page payment with it that succeeds. Returns the method id.
    async fn stored_card(&self, account: &ApsAccount, card: &str) -> i64 {
        let before = self
            .store
            .list_aps_payment_methods(&account.aps_id)
            .await
            .unwrap()
            .len();
        let answer = self
            .aps_pay_ok(
                &account.aps_id,
                json!({"total": 1.00, "paymentContext": {"callbackUrlOk": OK_URL}}),
            )
            .await;
        let location = self
            .pay_on_page(
                answer["redirectData"]["redirectURL"].as_str().unwrap(),
                card,
            )
            .await;
        assert!(location.contains("status=SUCCESS"), "{location}");
        let methods = self
            .store
            .list_aps_payment_methods(&account.aps_id)
            .await
            .unwrap();
        assert_eq!(methods.len(), before + 1, "the card was saved");
        methods.last().unwrap().id
    }

    async fn payment_ids(&self) -> usize {
        self.list("payment", "").await.2.len()
    }
}

both_backends! {
    async fn each_invalid_pay_gets_its_error_and_changes_nothing(app: TestApp) {
        let account = app.aps_account("25.00").await;
        let sibling = app.aps_account("0").await;
        let foreign_method = app.stored_card(&sibling, "4242 4242 4242 4242").await;
        let payments_before = app.payment_ids().await;
        let cases: Vec<(&str, String, u16, &str, Option<&str>)> = vec![
            ("no total", r#"{"useAvailableCredit": true}"#.into(), 400, "missing_field", Some("total")),
            ("total as text", r#"{"total": "10"}"#.into(), 400, "invalid_field", Some("total")),
            ("total zero", r#"{"total": 0}"#.into(), 400, "invalid_field", Some("total")),
            ("total negative", r#"{"total": -1.00}"#.into(), 400, "invalid_field", Some("total")),
            ("too many decimals", r#"{"total": 10.001}"#.into(), 400, "invalid_field", Some("total")),
            ("method id not an integer", r#"{"total": 1, "paymentMethodId": 1.5}"#.into(), 400, "invalid_field", Some("paymentMethodId")),
            ("method id as text", r#"{"total": 1, "paymentMethodId": "1"}"#.into(), 400, "invalid_field", Some("paymentMethodId")),
            ("credit flag not a boolean", r#"{"total": 1, "useAvailableCredit": 1}"#.into(), 400, "invalid_field", Some("useAvailableCredit")),
            ("context not an object", r#"{"total": 1, "paymentContext": "x"}"#.into(), 400, "invalid_field", Some("paymentContext")),
            ("context member not a string", r#"{"total": 1, "paymentContext": {"ccpViewID": 5}}"#.into(), 400, "invalid_field", Some("paymentContext.ccpViewID")),
            ("callback not http", r#"{"total": 1, "paymentContext": {"callbackUrlOk": "ftp://shop.example/ok"}}"#.into(), 400, "invalid_field", Some("paymentContext.callbackUrlOk")),
            ("notifyUrl private", r#"{"total": 1, "paymentContext": {"notifyUrl": "http://10.1.2.3/hook"}}"#.into(), 400, "url_refused", Some("paymentContext.notifyUrl")),
            ("callbackUrlFail link-local", r#"{"total": 1, "paymentContext": {"callbackUrlFail": "http://169.254.169.254/x"}}"#.into(), 400, "url_refused", Some("paymentContext.callbackUrlFail")),
            ("documents not an array", r#"{"total": 1, "documents": {}}"#.into(), 400, "invalid_field", Some("documents")),
            ("document without docType", r#"{"total": 1, "documents": [{"docId": "INV-1"}]}"#.into(), 400, "invalid_field", Some("documents[0].docType")),
            ("unknown docType", r#"{"total": 1, "documents": [{"docType": "RECEIPT"}]}"#.into(), 400, "invalid_field", Some("documents[0].docType")),
            ("document amount inexact", r#"{"total": 1, "documents": [{"docType": "ORDER", "amount": 0.005}]}"#.into(), 400, "invalid_field", Some("documents[0].amount")),
            ("not JSON", "{total".into(), 400, "invalid_json", None),
            ("not an object", "[1]".into(), 400, "invalid_json", None),
            ("unknown method", r#"{"total": 1, "paymentMethodId": 12345}"#.into(), 422, "payment_method_not_found", Some("paymentMethodId")),
            ("another account's method", format!(r#"{{"total": 1, "paymentMethodId": {foreign_method}}}"#), 422, "payment_method_not_found", Some("paymentMethodId")),
        ];
        for (what, body, status, code, field) in cases {
            let (got, answer) = app.aps_pay_as(&app.merchant, &account.aps_id, &body, None).await;
            assert_eq!(got.as_u16(), status, "{what}: {answer}");
            assert_eq!(answer["code"], code, "{what}: {answer}");
            assert_eq!(answer["field"].as_str(), field, "{what}: {answer}");
            assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {answer}");
            assert!(answer["error"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {answer}");
        }
        assert_eq!(app.payment_ids().await, payments_before, "no refused request made a payment");
        assert_eq!(app.credit_of(&account.aps_id).await, 2500, "no refused request spent credit");

        // Without a valid API key: 401, in the same format.
        let response = app.client.post(app.url(&format!("/aps/2/resources/{}/payment", account.aps_id)))
            .json(&json!({"total": 1})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized");
        let response = app.client.post(app.url(&format!("/aps/2/resources/{}/payment", account.aps_id)))
            .bearer_auth("not-a-key").json(&json!({"total": 1})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
}

both_backends! {
    async fn another_merchants_resource_looks_exactly_like_an_unknown_one(app: TestApp) {
        let other = app.other_merchant().await;
        let theirs = app.aps_account_of(&other, "10.00").await;
        let body = r#"{"total": 1.00, "useAvailableCredit": true}"#;
        let (foreign, foreign_body) = app.aps_pay_as(&app.merchant, &theirs.aps_id, body, None).await;
        let unknown_id = "00000000-0000-4000-8000-000000000000";
        let (unknown, unknown_body) = app.aps_pay_as(&app.merchant, unknown_id, body, None).await;
        assert_eq!(foreign, StatusCode::NOT_FOUND);
        assert_eq!(unknown, StatusCode::NOT_FOUND);
        assert_eq!(foreign_body["code"], "resource_not_found");
        assert_eq!(
            foreign_body.to_string().replace(&theirs.aps_id, "ID"),
            unknown_body.to_string().replace(unknown_id, "ID"),
        );
        let (status, _) = app.aps_payments_as(&app.merchant, &theirs.aps_id, "paymentIds=1").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(app.credit_of(&theirs.aps_id).await, 1000, "nothing was spent");
    }
}

both_backends! {
    async fn payments_leaves_out_other_ids_and_refuses_malformed_lists(app: TestApp) {
        let mine = app.aps_account("10.00").await;
        let sibling = app.aps_account("10.00").await;
        let other = app.other_merchant().await;
        let theirs = app.aps_account_of(&other, "10.00").await;
        let pay = json!({"total": 1.00, "useAvailableCredit": true});
        let a = app.aps_pay_ok(&mine.aps_id, pay.clone()).await["paymentId"].clone();
        let b = app.aps_pay_ok(&mine.aps_id, pay.clone()).await["paymentId"].clone();
        let s = app.aps_pay_ok(&sibling.aps_id, pay.clone()).await["paymentId"].clone();
        let (_, t) = app.aps_pay_as(&other, &theirs.aps_id, &pay.to_string(), None).await;
        let t = t["paymentId"].clone();
        // A plain TMF676 payment of the merchant is not an APS payment of the account.
        let tmf = app.create_payment(&crate::helpers::payment_of(&mine.account_id, "1.00", "USD")).await;

        let query = format!("paymentIds={b},{s},{t},{},999,{a}", tmf["id"].as_str().unwrap());
        let (status, body) = app.aps_payments_as(&app.merchant, &mine.aps_id, &query).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let ids: Vec<&Value> = body.as_array().unwrap().iter().map(|p| &p["paymentId"]).collect();
        assert_eq!(ids, [&b, &a], "only this account's, in the order asked: {body}");

        let too_many = (1..=101).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        for bad in ["paymentIds=", "paymentIds=1,,2", "paymentIds=abc", "paymentIds=0", "paymentIds=-3",
                    "paymentIds=1.5", "paymentIds=1;2", "paymentIds=1&paymentIds=2", &format!("paymentIds={too_many}")] {
            let (status, body) = app.aps_payments_as(&app.merchant, &mine.aps_id, bad).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
            assert_eq!(body["code"], "invalid_payment_ids", "{bad}: {body}");
        }
        let (status, body) = app.aps_payments_as(&app.merchant, &mine.aps_id, "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["code"], "missing_field");
    }
}

both_backends! {
    async fn a_payment_covered_by_credit_succeeds_at_once_and_is_a_tmf676_payment(app: TestApp) {
        let account = app.aps_account("25.00").await;
        let answer = app.aps_pay_ok(&account.aps_id, json!({
            "total": 10.10, "useAvailableCredit": true,
            "documents": [{"docType": "INVOICE", "docId": "INV-7", "amount": 10.10}],
            "paymentContext": {"ccpViewID": "view-1", "originUrl": "https://cp.example/pay"},
        })).await;
        assert!(answer["paymentId"].is_u64(), "an integer id: {answer}");
        assert!(answer.get("redirectData").is_none(), "nothing for the customer to do: {answer}");
        assert_eq!(app.credit_of(&account.aps_id).await, 1490);

        let payment = app.aps_payment(&account.aps_id, &answer["paymentId"]).await;
        assert_eq!(payment["status"], "SUCCESS", "{payment}");
        assert_eq!(payment["paymentType"], "CREDIT");
        assert_eq!(payment["accountId"], account.account_id.as_str());
        assert_eq!(payment["currency"], "USD");
        assert_eq!(payment["amount"].to_string(), "10.10", "the exact amount");
        assert!(payment["authorizationDate"].as_str().is_some(), "{payment}");
        assert!(payment.get("tokenizedCardNumber").is_none());

        // The same payment in TMF676, by the same id.
        let id = answer["paymentId"].to_string();
        let tmf: Value = app.get(&format!("/payment/{id}")).await.json().await.unwrap();
        assert_eq!(tmf["id"], id.as_str());
        assert_eq!(tmf["status"], "captured");
        assert_eq!(tmf["account"]["id"], account.account_id.as_str());
        assert_eq!(tmf["totalAmount"].to_string(), r#"{"unit":"USD","value":10.10}"#);
        assert_eq!(tmf["paymentMethod"]["@type"], "CREDIT");
        assert_eq!(tmf["aps"]["apsId"], account.aps_id.as_str());
        assert_eq!(tmf["aps"]["creditAmount"].to_string(), "10.10");
        assert_eq!(tmf["aps"]["methodAmount"].to_string(), "0.00");
        assert_eq!(tmf["aps"]["documents"][0]["docId"], "INV-7");
        assert_eq!(tmf["aps"]["paymentContext"]["ccpViewID"], "view-1");

        // Not asked to use credit: the credit stays, the customer pays by card.
        let answer = app.aps_pay_ok(&account.aps_id, json!({"total": 1.00})).await;
        assert!(answer["redirectData"]["redirectURL"].as_str().is_some(), "{answer}");
        assert_eq!(app.credit_of(&account.aps_id).await, 1490);
    }
}

both_backends! {
    async fn credit_never_goes_below_zero_under_concurrent_payments(app: TestApp) {
        // 10.00 of credit, twenty payments of 3.00 at once: three are covered,
        // one gets the last 1.00, the rest get none, whatever the interleaving.
        let account = app.aps_account("10.00").await;
        let pays = (0..20).map(|_| {
            let (client, url, key) = (app.client.clone(), app.url(&format!("/aps/2/resources/{}/payment", account.aps_id)), app.merchant.api_key.clone());
            tokio::spawn(async move {
                let response = client.post(url).bearer_auth(key)
                    .json(&json!({"total": 3.00, "useAvailableCredit": true})).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                response.json::<Value>().await.unwrap()
            })
        }).collect::<Vec<_>>();
        let mut spent = Vec::new();
        for pay in pays {
            let answer = pay.await.unwrap();
            let id = PaymentId::from_i64(answer["paymentId"].as_i64().unwrap()).unwrap();
            let aps = app.store.find_aps_payment(id).await.unwrap().unwrap();
            assert_eq!(aps.credit_minor + aps.method_minor, 300);
            spent.push(aps.credit_minor);
        }
        let balance = app.credit_of(&account.aps_id).await;
        assert!(balance >= 0);
        assert_eq!(spent.iter().sum::<i64>() + balance, 1000, "every cent accounted for");
        assert_eq!(balance, 0, "all the credit was used");
        spent.sort_unstable();
        assert_eq!(spent[16..], [100, 300, 300, 300], "{spent:?}");
        assert!(spent[..16].iter().all(|c| *c == 0), "{spent:?}");
    }
}

both_backends! {
    async fn the_hosted_page_takes_the_rest_saves_the_card_and_returns_to_callback_ok(app: TestApp) {
        let account = app.aps_account("5.00").await;
        let answer = app.aps_pay_ok(&account.aps_id, json!({
            "total": 12.00, "useAvailableCredit": true,
            "paymentContext": {"callbackUrlOk": OK_URL, "callbackUrlFail": FAIL_URL},
        })).await;
        let redirect = &answer["redirectData"];
        assert_eq!(redirect["method"], "GET");
        assert_eq!(redirect["postArguments"], json!([]));
        let url = redirect["redirectURL"].as_str().unwrap();
        assert!(url.starts_with(&format!("{PUBLIC_BASE}/pay/{}/", answer["paymentId"])), "{url}");
        assert_eq!(app.credit_of(&account.aps_id).await, 0, "credit spent first");
        let waiting = app.aps_payment(&account.aps_id, &answer["paymentId"]).await;
        assert_eq!(waiting["status"], "IN_PROGRESS", "{waiting}");
        assert_eq!(waiting["paymentType"], "CARD");

        let location = app.pay_on_page(url, "4242 4242 4242 4242").await;
        assert_eq!(location, format!("{OK_URL}?paymentId={}&status=SUCCESS", answer["paymentId"]));
        let paid = app.aps_payment(&account.aps_id, &answer["paymentId"]).await;
        assert_eq!(paid["status"], "SUCCESS", "{paid}");
        assert_eq!(paid["paymentType"], "VISA");
        assert_eq!(paid["tokenizedCardNumber"], "424242******4242");
        assert!(paid["transactionNumber"].as_str().is_some_and(|t| !t.is_empty()), "{paid}");
        assert_eq!(paid["amount"].to_string(), "12.00");
        assert_eq!(app.credit_of(&account.aps_id).await, 0);
        let methods = app.store.list_aps_payment_methods(&account.aps_id).await.unwrap();
        assert_eq!(methods.len(), 1, "the card is saved");
        assert_eq!((methods[0].first6.as_deref(), methods[0].last4.as_deref()), (Some("424242"), Some("4242")));
        assert!(methods[0].token.starts_with("tok_"));
    }
}

both_backends! {
    async fn a_declined_card_on_the_page_gives_the_credit_back_and_returns_to_callback_fail(app: TestApp) {
        let account = app.aps_account("5.00").await;
        let answer = app.aps_pay_ok(&account.aps_id, json!({
            "total": 12.00, "useAvailableCredit": true,
            "paymentContext": {"callbackUrlOk": OK_URL, "callbackUrlFail": FAIL_URL},
        })).await;
        assert_eq!(app.credit_of(&account.aps_id).await, 0);
        let url = answer["redirectData"]["redirectURL"].as_str().unwrap();
        let (location, _) = app.decline_every_attempt(url, &account.aps_id, 0).await;
        assert_eq!(location, format!("{FAIL_URL}?paymentId={}&status=FAILED", answer["paymentId"]));
        assert_eq!(app.credit_of(&account.aps_id).await, 500, "the credit is given back");
        let failed = app.aps_payment(&account.aps_id, &answer["paymentId"]).await;
        assert_eq!(failed["status"], "FAILED", "{failed}");
        assert!(app.store.list_aps_payment_methods(&account.aps_id).await.unwrap().is_empty(), "a declined card is not saved");
        let id = PaymentId::from_i64(answer["paymentId"].as_i64().unwrap()).unwrap();
        assert_eq!(app.store.find_aps_payment(id).await.unwrap().unwrap().credit_state, CreditState::Returned);
        let tmf: Value = app.get(&format!("/payment/{id}")).await.json().await.unwrap();
        assert_eq!(tmf["status"], "denied");
    }
}

both_backends! {
    /// Issue 13: the card page's pay button names the card part, and its
    /// cancel button ends the payment, gives the credit back and returns the
    /// customer to `callbackUrlFail`.
    async fn cancel_on_the_card_page_gives_the_credit_back_and_returns_to_callback_fail(app: TestApp) {
        let account = app.aps_account("5.00").await;
        let answer = app.aps_pay_ok(&account.aps_id, json!({
            "total": 12.00, "useAvailableCredit": true,
            "paymentContext": {"callbackUrlOk": OK_URL, "callbackUrlFail": FAIL_URL},
        })).await;
        let url = answer["redirectData"]["redirectURL"].as_str().unwrap();
        let html = app.page_html(url).await;
        assert!(html.contains(r#"Pay now <span class="pay-amount">USD 7.00</span></button>"#), "{html}");
        let path = url.strip_prefix(PUBLIC_BASE).unwrap().to_owned();
        assert!(html.contains(&format!(r#"action="{path}/cancel""#)), "{html}");

        let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let canceled = browser.post(app.url(&format!("{path}/cancel"))).send().await.unwrap();
        assert_eq!(canceled.status(), StatusCode::SEE_OTHER);
        let page = browser.get(app.url(&path)).send().await.unwrap();
        let location = page.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with(&format!("{FAIL_URL}?paymentId={}&", answer["paymentId"])), "{location}");
        assert_eq!(app.credit_of(&account.aps_id).await, 500, "the credit is given back");
        let canceled = app.aps_payment(&account.aps_id, &answer["paymentId"]).await;
        assert_ne!(canceled["status"], "SUCCESS", "{canceled}");
        assert_ne!(canceled["status"], "IN_PROGRESS", "{canceled}");
    }
}

both_backends! {
    async fn a_stored_card_is_charged_without_the_customer_and_notify_url_is_told(app: TestApp) {
        let hook = Listener::start().await;
        let account = app.aps_account("2.00").await;
        let method = app.stored_card(&account, "5555 5555 5555 4444").await;
        let answer = app.aps_pay_ok(&account.aps_id, json!({
            "total": 7.50, "useAvailableCredit": true, "paymentMethodId": method,
            "paymentContext": {"notifyUrl": hook.url},
        })).await;
        assert!(answer.get("redirectData").is_none(), "no customer action: {answer}");
        let paid = app.aps_payment(&account.aps_id, &answer["paymentId"]).await;
        assert_eq!(paid["status"], "SUCCESS", "charged before pay answered: {paid}");
        assert_eq!(paid["paymentType"], "MASTERCARD");
        assert_eq!(paid["tokenizedCardNumber"], "555555******4444");
        assert_eq!(app.credit_of(&account.aps_id).await, 0);

        let got = hook.wait_until("the notification", |r| !r.is_empty()).await;
        assert_eq!(got[0], paid, "notifyUrl gets the APSPayment");
        let received = hook.received_all();
        assert!(received[0].signature_verifies(&app.merchant.webhook_secret), "{:?}", received[0].headers);
        assert!(!received[0].signature_verifies("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(hook.received().len(), 1, "acknowledged by a 2xx: sent once");

        // A TMF676 refund of all of it gives the 5.50 card part back to the
        // card and the 2.00 credit part back to the account's credit.
        let id = answer["paymentId"].to_string();
        let whole = app.aps_refund(&id, &account, "7.50").await;
        assert_eq!(whole.0, StatusCode::CREATED, "{}", whole.1);
        let settled = app.settled_refund(&whole.1).await;
        assert_eq!(settled["status"], "done", "{settled}");
        assert_eq!(app.credit_of(&account.aps_id).await, 200, "the credit part is back");
        let (status, refused) = app.aps_refund(&id, &account, "0.01").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "nothing is left: {refused}");
    }
}

both_backends! {
    async fn a_declined_stored_card_gives_the_credit_back_and_notify_url_is_told(app: TestApp) {
        let hook = Listener::start().await;
        let account = app.aps_account("0").await;
        // Saved after a 3-D Secure payment; charged later without the customer,
        // the issuer declines it (it wants the customer to authenticate).
        let method = app.stored_card(&account, "4000 0000 0000 3220").await;
        app.store.add_aps_credit(&account.aps_id, 300, chrono::Utc::now()).await.unwrap();
        let answer = app.aps_pay_ok(&account.aps_id, json!({
            "total": 10.00, "useAvailableCredit": true, "paymentMethodId": method,
            "paymentContext": {"notifyUrl": hook.url},
        })).await;
        assert!(answer.get("redirectData").is_none(), "{answer}");
        let failed = app.aps_payment(&account.aps_id, &answer["paymentId"]).await;
        assert_eq!(failed["status"], "FAILED", "{failed}");
        assert_eq!(app.credit_of(&account.aps_id).await, 300, "the credit is given back");
        let got = hook.wait_until("the notification", |r| !r.is_empty()).await;
        assert_eq!(got[0]["status"], "FAILED");
        assert_eq!(got[0]["paymentId"], answer["paymentId"]);

        // The next payment can spend the credit again: it was given back once.
        let again = app.aps_pay_ok(&account.aps_id, json!({"total": 3.00, "useAvailableCredit": true})).await;
        assert_eq!(app.aps_payment(&account.aps_id, &again["paymentId"]).await["status"], "SUCCESS");
        assert_eq!(app.credit_of(&account.aps_id).await, 0);
    }
}

both_backends! {
    async fn a_retried_pay_with_its_idempotency_key_never_pays_twice(app: TestApp) {
        let account = app.aps_account("10.00").await;
        let body = r#"{"total": 4.00, "useAvailableCredit": true}"#;
        let (first_status, first) = app.aps_pay_as(&app.merchant, &account.aps_id, body, Some("order-42")).await;
        assert_eq!(first_status, StatusCode::OK, "{first}");
        let (again_status, again) = app.aps_pay_as(&app.merchant, &account.aps_id, body, Some("order-42")).await;
        assert_eq!(again_status, StatusCode::OK);
        assert_eq!(again, first, "the first answer again");
        assert_eq!(app.credit_of(&account.aps_id).await, 600, "spent once");
        assert_eq!(app.payment_ids().await, 1);

        let (status, other) = app.aps_pay_as(&app.merchant, &account.aps_id, r#"{"total": 5.00}"#, Some("order-42")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{other}");
        assert_eq!(other["code"], "idempotency_key_reused");
        let (status, bad) = app.aps_pay_as(&app.merchant, &account.aps_id, body, Some("has space")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(bad["code"], "invalid_idempotency_key");
        // A refused request's answer is kept under its key too.
        let (status, refused) = app.aps_pay_as(&app.merchant, &account.aps_id, r#"{"total": 0}"#, Some("k2")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (_, replayed) = app.aps_pay_as(&app.merchant, &account.aps_id, r#"{"total": 0}"#, Some("k2")).await;
        assert_eq!(replayed, refused);
        assert_eq!(app.credit_of(&account.aps_id).await, 600);
        assert_eq!(app.payment_ids().await, 1);
    }
}

both_backends! {
    async fn a_stored_wallet_is_charged_without_the_customer(app: TestApp) {
        let account = app.aps_account("0").await;
        let now = chrono::Utc::now();
        let wallet = payhub_store::ApsPaymentMethod {
            id: payhub_core::ids::generate_id(now),
            aps_id: account.aps_id.clone(),
            kind: payhub_store::MethodKind::Wallet,
            gateway: "ALIPAY".into(),
            token: "wal_test".into(),
            gateway_token: None,
            connector_account: None,
            brand: None,
            first6: None,
            last4: None,
            created_at: now,
        };
        app.store.insert_aps_payment_method(&wallet).await.unwrap();
        let answer = app.aps_pay_ok(&account.aps_id, json!({"total": 3.25, "paymentMethodId": wallet.id})).await;
        assert!(answer.get("redirectData").is_none(), "{answer}");
        let paid = app.aps_payment(&account.aps_id, &answer["paymentId"]).await;
        assert_eq!(paid["status"], "SUCCESS", "{paid}");
        assert_eq!(paid["paymentType"], "WALLET");
        assert_eq!(paid["amount"].to_string(), "3.25");
        let tmf: Value = app.get(&format!("/payment/{}", answer["paymentId"])).await.json().await.unwrap();
        assert_eq!(tmf["status"], "captured", "{tmf}");
    }
}

impl TestApp {
    /// The hosted page at `url` (payhub's own), as a browser gets it without
    /// following redirects.
    async fn page_html(&self, url: &str) -> String {
        let path = url.strip_prefix(PUBLIC_BASE).unwrap_or(url);
        let page = self.client.get(self.url(path)).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        page.text().await.unwrap()
    }
}

/// The summary's amount as the page renders it.
fn shown_amount(value: &str) -> String {
    format!(r#"id="amount"><span class="currency">USD</span> <span class="value">{value}</span>"#)
}

/// The credit line as the English page renders it.
fn credit_line(value: &str) -> String {
    format!(
        r#"id="credit-used">Paid from your account credit: <span class="currency">USD</span> <span class="value">{value}</span>"#
    )
}

both_backends! {
    async fn the_card_page_asks_for_the_card_part_and_says_the_card_will_be_saved(app: TestApp) {
        // 30.00 of which credit pays 14.90: the card is charged 15.10, and
        // the card page and the result page say so, never 30.00.
        let account = app.aps_account("14.90").await;
        let answer = app.aps_pay_ok(&account.aps_id, json!({"total": 30.00, "useAvailableCredit": true})).await;
        let url = answer["redirectData"]["redirectURL"].as_str().unwrap().to_owned();
        let html = app.page_html(&url).await;
        assert!(html.contains(&shown_amount("15.10")), "the card part: {html}");
        assert!(html.contains(&credit_line("14.90")), "the credit line: {html}");
        assert!(!html.contains("30.00"), "not the total: {html}");
        assert!(html.contains(r#"id="save-card">When this payment succeeds, this card is saved to your account for later payments."#), "{html}");

        let location = app.pay_on_page(&url, "4242 4242 4242 4242").await;
        assert!(location.ends_with("/result"), "payhub's result page: {location}");
        let result = app.page_html(&location).await;
        assert!(result.contains(r#"data-outcome="paid""#), "{result}");
        assert!(result.contains(&shown_amount("15.10")), "{result}");
        assert!(result.contains(&credit_line("14.90")), "{result}");
        assert!(!result.contains("30.00"), "{result}");
        assert!(!result.contains(r#"id="save-card""#), "{result}");

        // Without credit: the whole total, no credit line; the card is still saved.
        let answer = app.aps_pay_ok(&account.aps_id, json!({"total": 30.00})).await;
        let html = app.page_html(answer["redirectData"]["redirectURL"].as_str().unwrap()).await;
        assert!(html.contains(&shown_amount("30.00")), "{html}");
        assert!(!html.contains(r#"id="credit-used""#), "{html}");
        assert!(html.contains(r#"id="save-card""#), "{html}");

        // A declined card gives the credit back: the result page no longer
        // shows it as paid.
        app.store.add_aps_credit(&account.aps_id, 500, chrono::Utc::now()).await.unwrap();
        let answer = app.aps_pay_ok(&account.aps_id, json!({"total": 12.00, "useAvailableCredit": true})).await;
        let url = answer["redirectData"]["redirectURL"].as_str().unwrap().to_owned();
        assert!(app.page_html(&url).await.contains(&credit_line("5.00")));
        let (location, waiting) = app.decline_every_attempt(&url, &account.aps_id, 0).await;
        assert!(waiting.contains(&credit_line("5.00")), "still spent while another card may pay: {waiting}");
        let result = app.page_html(&location).await;
        assert!(result.contains(r#"data-outcome="declined""#), "{result}");
        assert!(result.contains(&shown_amount("7.00")), "{result}");
        assert!(!result.contains(r#"id="credit-used""#), "{result}");

        // Another dialect's card page (a retail sale) saves nothing and spends no credit.
        let sale = app.create_sale(crate::retail::sale("VMPAY", "page-1", 1234)).await;
        let html = app.page_html(sale["paymentUrl"].as_str().unwrap()).await;
        assert!(html.contains(r#"<span class="value">12.34</span>"#), "{html}");
        assert!(html.contains(r#"name="number""#), "the card form: {html}");
        assert!(!html.contains(r#"id="save-card""#), "{html}");
        assert!(!html.contains(r#"id="credit-used""#), "{html}");
    }
}

impl TestApp {
    /// A TMF676 refund of `value` USD of the APS payment `payment_id`; status and body.
    async fn aps_refund(
        &self,
        payment_id: &str,
        account: &ApsAccount,
        value: &str,
    ) -> (StatusCode, Value) {
        let body = format!(
            r#"{{"payment": {{"id": "{payment_id}"}}, "account": {{"id": "{}"}}, "paymentMethod": {{"@type": "VMPAY"}}, "totalAmount": {{"unit": "USD", "value": {value}}}}}"#,
            account.account_id
        );
        let response = self
            .client
            .post(self.tmf("/refund"))
            .bearer_auth(&self.merchant.api_key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let response = crate::conformance::checked("POST", response).await;
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    /// The refund `created` once it is no longer pending.
    async fn settled_refund(&self, created: &Value) -> Value {
        let path = format!("/refund/{}", created["id"].as_str().unwrap());
        for _ in 0..200 {
            let refund: Value = self.get(&path).await.json().await.unwrap();
            if refund["status"] != "pendingAuthorization" {
                return refund;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("refund {path} stays pending");
    }

    /// An APS payment of 30.00: 14.90 from credit, 15.10 charged to a stored card.
    async fn split_payment(&self) -> (ApsAccount, String) {
        let account = self.aps_account("14.90").await;
        let method = self.stored_card(&account, "4242 4242 4242 4242").await;
        let answer = self
            .aps_pay_ok(
                &account.aps_id,
                json!({
                    "total": 30.00, "useAvailableCredit": true, "paymentMethodId": method,
                }),
            )
            .await;
        let paid = self
            .aps_payment(&account.aps_id, &answer["paymentId"])
            .await;
        assert_eq!(paid["status"], "SUCCESS", "{paid}");
        assert_eq!(self.credit_of(&account.aps_id).await, 0);
        (account, answer["paymentId"].to_string())
    }
}

both_backends! {
    async fn a_refund_of_an_aps_payment_goes_to_the_card_first_then_to_the_credit(app: TestApp) {
        let (account, id) = app.split_payment().await;

        // 10.00: the card part covers it all; no credit moves.
        let (status, first) = app.aps_refund(&id, &account, "10.00").await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        assert_eq!(first["status"], "pendingAuthorization", "the card part is asynchronous: {first}");
        assert_eq!(first["aps"].to_string(), r#"{"methodAmount":10.00,"creditAmount":0.00}"#);
        assert_eq!(app.settled_refund(&first).await["status"], "done");
        assert_eq!(app.credit_of(&account.aps_id).await, 0);

        // 10.00 more: the card's last 5.10, then 4.90 of credit, which is back
        // on the account once the card part is refunded.
        let (status, second) = app.aps_refund(&id, &account, "10.00").await;
        assert_eq!(status, StatusCode::CREATED, "{second}");
        assert_eq!(second["aps"].to_string(), r#"{"methodAmount":5.10,"creditAmount":4.90}"#);
        assert_eq!(app.settled_refund(&second).await["status"], "done", "the card part was accepted");
        assert_eq!(app.credit_of(&account.aps_id).await, 490, "returned with the card part");

        // 10.00 more: credit alone, done at once.
        let (status, third) = app.aps_refund(&id, &account, "10.00").await;
        assert_eq!(status, StatusCode::CREATED, "{third}");
        assert_eq!(third["status"], "done", "{third}");
        assert_eq!(third["aps"].to_string(), r#"{"methodAmount":0.00,"creditAmount":10.00}"#);
        assert_eq!(app.credit_of(&account.aps_id).await, 1490, "all the credit is back");
        let refund_id = payhub_core::RefundId::from_i64(third["id"].as_str().unwrap().parse().unwrap()).unwrap();
        let split = app.store.find_aps_refund(refund_id).await.unwrap().unwrap();
        assert_eq!((split.card_minor, split.credit_minor), (0, 1000));

        // Nothing is left of either part: refused, and nothing moves.
        let (status, refused) = app.aps_refund(&id, &account, "0.01").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["code"], "refund_exceeds_payment", "{refused}");
        assert_eq!(app.credit_of(&account.aps_id).await, 1490);
        // The new credit can be spent again.
        let again = app.aps_pay_ok(&account.aps_id, json!({"total": 14.90, "useAvailableCredit": true})).await;
        assert_eq!(app.aps_payment(&account.aps_id, &again["paymentId"]).await["status"], "SUCCESS");
        assert_eq!(app.credit_of(&account.aps_id).await, 0);
    }
}

both_backends! {
    async fn a_refund_of_a_payment_covered_by_credit_returns_the_credit_at_once(app: TestApp) {
        let account = app.aps_account("25.00").await;
        let answer = app.aps_pay_ok(&account.aps_id, json!({"total": 10.10, "useAvailableCredit": true})).await;
        let id = answer["paymentId"].to_string();
        assert_eq!(app.credit_of(&account.aps_id).await, 1490);
        let (status, refund) = app.aps_refund(&id, &account, "4.00").await;
        assert_eq!(status, StatusCode::CREATED, "{refund}");
        assert_eq!(refund["status"], "done", "{refund}");
        assert_eq!(app.credit_of(&account.aps_id).await, 1890);
        let (status, refused) = app.aps_refund(&id, &account, "6.11").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "beyond the payment: {refused}");
        assert_eq!(app.credit_of(&account.aps_id).await, 1890, "a refused refund returns nothing");
        let (status, _) = app.aps_refund(&id, &account, "6.10").await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(app.credit_of(&account.aps_id).await, 2500);
        let listed = app.list("refund", &format!("payment.id={id}")).await.2;
        assert_eq!(listed.len(), 2, "{listed:?}");
        // Without an amount there is nothing to split: refused, nothing recorded.
        let response = app.post("/refund", &json!({
            "payment": {"id": id}, "account": {"id": account.account_id},
            "paymentMethod": {"@type": "CREDIT"}, "totalAmount": {},
        })).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "invalid_attribute", "{body}");
        assert_eq!(app.list("refund", &format!("payment.id={id}")).await.2.len(), 2);
    }
}

both_backends! {
    async fn concurrent_refunds_of_an_aps_payment_never_return_more_than_each_part_paid(app: TestApp) {
        // 30.00 = 15.10 card + 14.90 credit; fifteen refunds of 3.00 at once:
        // exactly ten fit, and together they give back exactly each part.
        let (account, id) = app.split_payment().await;
        let refunds = (0..15).map(|_| {
            let (client, url, key) = (app.client.clone(), app.tmf("/refund"), app.merchant.api_key.clone());
            let body = json!({
                "payment": {"id": id}, "account": {"id": account.account_id},
                "paymentMethod": {"@type": "VMPAY"}, "totalAmount": {"unit": "USD", "value": 3.00},
            });
            tokio::spawn(async move {
                let response = client.post(url).bearer_auth(key).json(&body).send().await.unwrap();
                (response.status(), response.json::<Value>().await.unwrap())
            })
        }).collect::<Vec<_>>();
        let mut accepted = Vec::new();
        for refund in refunds {
            let (status, body) = refund.await.unwrap();
            match status {
                StatusCode::CREATED => accepted.push(body),
                StatusCode::UNPROCESSABLE_ENTITY => {}
                other => panic!("{other}: {body}"),
            }
        }
        assert_eq!(accepted.len(), 10, "{accepted:?}");
        let (mut card, mut credit) = (0, 0);
        for refund in &accepted {
            assert_eq!(app.settled_refund(refund).await["status"], "done", "{refund}");
            let refund_id = payhub_core::RefundId::from_i64(refund["id"].as_str().unwrap().parse().unwrap()).unwrap();
            let split = app.store.find_aps_refund(refund_id).await.unwrap().unwrap();
            card += split.card_minor;
            credit += split.credit_minor;
        }
        assert_eq!((card, credit), (1510, 1490), "each part given back exactly");
        assert_eq!(app.credit_of(&account.aps_id).await, 1490);

        // A payment covered by credit alone, twenty refunds of 1.00 at once.
        let account = app.aps_account("10.00").await;
        let answer = app.aps_pay_ok(&account.aps_id, json!({"total": 10.00, "useAvailableCredit": true})).await;
        let id = answer["paymentId"].to_string();
        let refunds = (0..20).map(|_| {
            let (client, url, key) = (app.client.clone(), app.tmf("/refund"), app.merchant.api_key.clone());
            let body = json!({
                "payment": {"id": id}, "account": {"id": account.account_id},
                "paymentMethod": {"@type": "CREDIT"}, "totalAmount": {"unit": "USD", "value": 1.00},
            });
            tokio::spawn(async move {
                client.post(url).bearer_auth(key).json(&body).send().await.unwrap().status()
            })
        }).collect::<Vec<_>>();
        let mut created = 0;
        for refund in refunds {
            if refund.await.unwrap() == StatusCode::CREATED {
                created += 1;
            }
        }
        assert_eq!(created, 10);
        assert_eq!(app.credit_of(&account.aps_id).await, 1000, "never more than was spent");
    }
}

/// Settings whose gateway checks wait a minute, so that a refund whose
/// gateway timed out stays unknown while the test answers for the gateway.
fn slow_gateway_checks(database_url: &str) -> payhub_server::config::Settings {
    let mut settings = crate::helpers::test_settings(database_url);
    settings.gateways.check_base = Duration::from_secs(60);
    settings.gateways.check_max = Duration::from_secs(60);
    settings
}

both_backends! {
    /// A refund with a card part and a credit part gives the credit back only
    /// when the card part succeeds: when the gateway refuses the card part,
    /// the refund is denied and neither part was given back, so the whole
    /// amount can be refunded again.
    async fn a_refused_card_part_gives_back_no_credit_either(app: TestApp) {
        use payhub_core::{RefundId, RefundState};
        let app = app.restart_with(slow_gateway_checks).await;
        let (account, id) = app.split_payment().await;
        // 1.02 to the card first, so that the next refund's card part is
        // 14.08: an amount ending in 408 times the simulated gateway out.
        let (_, first) = app.aps_refund(&id, &account, "1.02").await;
        assert_eq!(app.settled_refund(&first).await["status"], "done");
        let (status, mixed) = app.aps_refund(&id, &account, "20.00").await;
        assert_eq!(status, StatusCode::CREATED, "{mixed}");
        assert_eq!(mixed["aps"].to_string(), r#"{"methodAmount":14.08,"creditAmount":5.92}"#);
        assert_eq!(app.credit_of(&account.aps_id).await, 0, "the credit part waits for the card part");

        // The gateway's answer, when it comes: refused.
        let refund_id = RefundId::from_i64(mixed["id"].as_str().unwrap().parse().unwrap()).unwrap();
        for _ in 0..100 {
            let gateway = app.store.find_gateway_refund(refund_id).await.unwrap().unwrap();
            if gateway.state == RefundState::Unknown {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let applied = app
            .store
            .apply_refund_update(refund_id, RefundState::Declined, None, None, chrono::Utc::now())
            .await
            .unwrap();
        assert!(applied, "the refund was still waiting for its gateway");
        assert_eq!(app.get(&format!("/refund/{}", refund_id)).await.json::<Value>().await.unwrap()["status"], "denied");
        assert_eq!(app.credit_of(&account.aps_id).await, 0, "a denied refund gives back no credit");

        // Neither part was given back: 28.98 is still refundable, 14.90 of it as credit.
        let (status, rest) = app.aps_refund(&id, &account, "28.98").await;
        assert_eq!(status, StatusCode::CREATED, "{rest}");
        assert_eq!(rest["aps"].to_string(), r#"{"methodAmount":14.08,"creditAmount":14.90}"#);
    }
}

both_backends! {
    /// Issue 9 item 7: APS documents and the payment context never carry a
    /// card number or a security code; such a pay is refused and spends nothing.
    async fn card_data_in_documents_or_context_is_refused(app: TestApp) {
        let account = app.aps_account("25.00").await;
        let payments_before = app.payment_ids().await;
        let cases = [
            (r#"{"total": 1, "documents": [{"docType": "ORDER", "docId": "5555555555554444"}]}"#, "documents[0].docId"),
            (r#"{"total": 1, "documents": [{"docType": "ORDER", "cvv": "687"}]}"#, "documents[0].cvv"),
            (r#"{"total": 1, "paymentContext": {"note": "4111 1111 1111 1111"}}"#, "paymentContext.note"),
        ];
        for (body, field) in cases {
            let (status, answer) = app.aps_pay_as(&app.merchant, &account.aps_id, body, None).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
            assert_eq!(answer["code"], "invalid_field", "{body}: {answer}");
            assert_eq!(answer["field"], field, "{body}: {answer}");
            let text = answer.to_string();
            assert!(!text.contains("5555") && !text.contains("4111") && !text.contains("687"), "{text}");
        }
        assert_eq!(app.payment_ids().await, payments_before);
        assert_eq!(app.credit_of(&account.aps_id).await, 2500);
    }
}
