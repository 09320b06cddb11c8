//! Recording and reading payments through TMF676.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{kit_payment, payment_of};

both_backends! {
    async fn every_response_has_the_server_attributes(app: TestApp) {
        let p = app.create_payment(&kit_payment()).await;
        for attr in ["id", "href", "status", "statusDate", "paymentDate", "@type"] {
            assert!(p[attr].is_string(), "{attr} missing in {p}");
        }
        assert_eq!(p["status"], "captured", "the documented default status");
        assert_eq!(p["@type"], "Payment");
        assert_eq!(p["paymentDate"], p["statusDate"], "server sets paymentDate when the client does not");
    }
}

both_backends! {
    async fn extension_attributes_round_trip_unchanged(app: TestApp) {
        // Parsed from text so that the numbers keep their exact spelling (10.10, 3.0).
        let body: Value = serde_json::from_str(r#"{
            "@type": "CardPayment", "@baseType": "Payment", "@schemaLocation": "https://example.com/card.json",
            "account": {"id": "A-1", "@referredType": "BillingAccount", "name": "Alice"},
            "paymentMethod": {"@type": "BankCard", "brand": "Visa", "lastFourDigits": "4242"},
            "totalAmount": {"unit": "EUR", "value": 10.10},
            "correlatorId": "order-77", "description": "two things", "name": "checkout",
            "paymentItem": [{"item": {"id": "inv-1"}, "amount": {"unit": "EUR", "value": 10.10}}],
            "customExtension": {"nested": [1, "two", {"three": 3.0}], "flag": true},
            "paymentDate": "2020-11-17T14:53:14+08:00"
        }"#).unwrap();
        let created = app.create_payment(&body).await;
        let fetched: Value = app.get(&format!("/payment/{}", created["id"].as_str().unwrap())).await.json().await.unwrap();
        for (name, value) in body.as_object().unwrap() {
            assert_eq!(&created[name], value, "{name} changed on create");
            assert_eq!(&fetched[name], value, "{name} changed on read");
        }
        // The number's exact text comes back, not a float's rendering.
        let text = app.get(&format!("/payment/{}", created["id"].as_str().unwrap())).await.text().await.unwrap();
        assert!(text.contains(r#""value":10.10"#), "{text}");
    }
}

both_backends! {
    async fn the_amount_is_kept_only_in_the_ledger_columns_and_answered_as_written(app: TestApp) {
        // Spellings a client may use, each answered back byte for byte, in
        // the place and among the members the client gave it.
        for (sent, minor) in [
            (r#"{"@type":"Money","value":10.1,"unit":"EUR"}"#, 1010),
            (r#"{"unit":"EUR","value":10}"#, 1000),
            (r#"{"unit":"EUR","value":10.100}"#, 1010),
            (r#"{"unit":"JPY","value":500.0}"#, 500),
        ] {
            let body = format!(
                r#"{{"account":{{"id":"A-9"}},"totalAmount":{sent},"paymentMethod":{{}}}}"#
            );
            let response = app.post_raw("/payment", &body, None).await;
            assert_eq!(response.status(), StatusCode::CREATED, "{sent}");
            let created: Value = response.json().await.unwrap();
            let id = created["id"].as_str().unwrap();
            let text = app.get(&format!("/payment/{id}")).await.text().await.unwrap();
            assert!(text.contains(&format!(r#""totalAmount":{sent}"#)), "{sent}: {text}");

            let merchant = payhub_core::MerchantId::parse(&app.merchant.merchant_id).unwrap();
            let stored = app.store.find_payment(&merchant, id.parse().unwrap()).await.unwrap().unwrap();
            assert_eq!(stored.total_amount.map(|m| m.amount_minor()), Some(minor), "{sent}");
            let document: Value = serde_json::from_str(stored.document.as_str()).unwrap();
            assert!(document["totalAmount"]["value"].is_null(), "{sent}: the document keeps no amount");
            assert!(document["totalAmount"]["unit"].is_null(), "{sent}: the document keeps no currency");
        }
    }
}

both_backends! {
    async fn a_recorded_status_is_kept(app: TestApp) {
        let mut body = kit_payment();
        body["status"] = json!("pendingAuthorization");
        body["id"] = json!("client-chosen");
        let p = app.create_payment(&body).await;
        assert_eq!(p["status"], "pendingAuthorization");
        assert_ne!(p["id"], "client-chosen", "the server owns ids");
    }
}

both_backends! {
    async fn invalid_bodies_are_refused_and_change_nothing(app: TestApp) {
        let cases: Vec<(&str, &str, &str)> = vec![
            ("not JSON", "{", "invalid_json"),
            ("an array", "[]", "invalid_json"),
            ("no account", r#"{"paymentMethod":{},"totalAmount":{}}"#, "invalid_attribute"),
            ("account without id", r#"{"account":{},"paymentMethod":{},"totalAmount":{}}"#, "invalid_attribute"),
            ("numeric account id", r#"{"account":{"id":5},"paymentMethod":{},"totalAmount":{}}"#, "invalid_attribute"),
            ("no paymentMethod", r#"{"account":{"id":"a"},"totalAmount":{}}"#, "invalid_attribute"),
            ("paymentMethod not an object", r#"{"account":{"id":"a"},"paymentMethod":"card","totalAmount":{}}"#, "invalid_attribute"),
            ("no totalAmount", r#"{"account":{"id":"a"},"paymentMethod":{}}"#, "invalid_attribute"),
            ("more decimals than USD has", r#"{"account":{"id":"a"},"paymentMethod":{},"totalAmount":{"unit":"USD","value":0.001}}"#, "invalid_attribute"),
            ("decimals on JPY", r#"{"account":{"id":"a"},"paymentMethod":{},"totalAmount":{"unit":"JPY","value":1.5}}"#, "invalid_attribute"),
            ("unknown currency", r#"{"account":{"id":"a"},"paymentMethod":{},"totalAmount":{"unit":"XYZ","value":1}}"#, "invalid_attribute"),
            ("value as text", r#"{"account":{"id":"a"},"paymentMethod":{},"totalAmount":{"unit":"USD","value":"1"}}"#, "invalid_attribute"),
            ("negative value", r#"{"account":{"id":"a"},"paymentMethod":{},"totalAmount":{"unit":"USD","value":-1}}"#, "invalid_attribute"),
            ("value without unit", r#"{"account":{"id":"a"},"paymentMethod":{},"totalAmount":{"value":1}}"#, "invalid_attribute"),
            ("bad taxAmount", r#"{"account":{"id":"a"},"paymentMethod":{},"totalAmount":{},"taxAmount":{"unit":"USD","value":0.001}}"#, "invalid_attribute"),
            ("unknown status", r#"{"account":{"id":"a"},"paymentMethod":{},"totalAmount":{},"status":"paid"}"#, "invalid_attribute"),
            ("bad paymentDate", r#"{"account":{"id":"a"},"paymentMethod":{},"totalAmount":{},"paymentDate":"yesterday"}"#, "invalid_attribute"),
            ("numeric correlatorId", r#"{"account":{"id":"a"},"paymentMethod":{},"totalAmount":{},"correlatorId":7}"#, "invalid_attribute"),
        ];
        for (what, body, code) in cases {
            let response = app.post_raw("/payment", body, None).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
            let error: Value = response.json().await.unwrap();
            assert_eq!(error["code"], code, "{what}: {error}");
            assert_eq!(error["status"], "400", "{what}");
            assert_eq!(error["@type"], "Error", "{what}");
            assert!(error["reason"].is_string() && error["message"].is_string(), "{what}");
        }
        let (_, total, _) = app.list("payment", "").await;
        assert_eq!(total, 0, "no invalid request created anything");
    }
}

both_backends! {
    async fn money_is_exact(app: TestApp) {
        let p = app.create_payment(&payment_of("a", "1234567.89", "EUR")).await;
        assert_eq!(p["totalAmount"]["value"].to_string(), "1234567.89");
        let kwd = app.create_payment(&payment_of("a", "1.234", "KWD")).await;
        assert_eq!(kwd["totalAmount"]["value"].to_string(), "1.234");
    }
}

both_backends! {
    async fn trailing_slashes_and_unknown_routes(app: TestApp) {
        let response = app.client.post(app.tmf("/payment/")).bearer_auth(&app.merchant.api_key)
            .json(&kit_payment()).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(app.get("/payment/").await.status(), StatusCode::OK);
        let response = app.get("/nothing-here").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.json::<Value>().await.unwrap()["@type"], "Error");
        let response = app.client.delete(app.tmf("/payment")).bearer_auth(&app.merchant.api_key).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.json::<Value>().await.unwrap()["code"], "method_not_allowed");
    }
}

both_backends! {
    async fn merchants_see_only_their_own_payments(app: TestApp) {
        let mine = app.create_payment(&payment_of("shared-account", "5", "USD")).await;
        let other = app.other_merchant().await;
        let id = mine["id"].as_str().unwrap();
        assert_eq!(app.get_as(&other, &format!("/payment/{id}")).await.status(), StatusCode::NOT_FOUND);
        let listed: Vec<Value> = app.get_as(&other, "/payment?account.id=shared-account").await.json().await.unwrap();
        assert!(listed.is_empty());
        let listed: Vec<Value> = app.get_as(&other, &format!("/payment?id={id}")).await.json().await.unwrap();
        assert!(listed.is_empty());
    }
}

both_backends! {
    async fn health_and_readiness(app: TestApp) {
        let health = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), StatusCode::OK);
        let ready: Value = app.client.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
        assert_eq!(ready["status"], "ready");
        assert!(ready["database"].is_string());
    }
}

both_backends! {
    /// Issue 9 item 7: a TMF676 body carrying a full card number or a
    /// security code (in paymentMethod or any extension attribute) is refused
    /// with 400 invalid_attribute naming the place, never echoing the number,
    /// and nothing is stored; brand, BIN and last four are fine.
    async fn card_numbers_and_security_codes_are_refused_and_never_stored(app: TestApp) {
        let with_method = |method: Value| {
            let mut body = kit_payment();
            body["paymentMethod"] = method;
            body
        };
        let cases = [
            ("issue 9's example", with_method(json!({"@type": "BankCard", "cardNumber": "5555555555554444", "cvv": "687"})), "paymentMethod.cardNumber"),
            ("a security code alone", with_method(json!({"@type": "BankCard", "brand": "Mastercard", "cvv": "687"})), "paymentMethod.cvv"),
            ("spaced number in an extension", {
                let mut body = kit_payment();
                body["description"] = json!("card 5555 5555 5555 4444");
                body
            }, "description"),
            ("a number in an extension object", {
                let mut body = kit_payment();
                body["x_card"] = json!({"pan": 4111111111111111_u64});
                body
            }, "x_card.pan"),
        ];
        for (what, body, path) in cases {
            let response = app.post("/payment", &body).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
            let text = response.text().await.unwrap();
            let error: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(error["code"], "invalid_attribute", "{what}: {text}");
            assert!(error["message"].as_str().unwrap().contains(path), "{what}: {text}");
            assert!(!text.contains("5555") && !text.contains("4111") && !text.contains("687"), "{what} echoes card data: {text}");
        }
        let (_, total, _) = app.list("payment", "").await;
        assert_eq!(total, 0, "nothing was stored");

        let masked = with_method(json!({"@type": "BankCard", "brand": "Mastercard", "bin": "555555", "lastFourDigits": "4444"}));
        assert_eq!(app.post("/payment", &masked).await.status(), StatusCode::CREATED);
    }
}
