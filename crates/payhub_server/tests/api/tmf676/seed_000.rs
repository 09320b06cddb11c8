//! Replays the request sequence of the official TMF676 conformance kit as seed
//! 000's report shows it: two creates, list, get by id, `fields=href`,
//! `fields=id`, `?id=`, `?href=`, and the 404 for an unknown (UUID) id. The kit
//! sends `…/v4//payment` with a double slash and `Content-Type` on GETs.

use reqwest::StatusCode;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{kit_payment, payment_of, TestApp, PUBLIC_BASE, TMF};

/// Every check the kit's report lists for one payment instance.
fn assert_kit_instance(p: &Value, expected: &Value) {
    for attr in ["href", "id", "account", "paymentMethod"] {
        assert!(p.get(attr).is_some(), "missing {attr} in {p}");
    }
    assert_eq!(p["id"], expected["id"]);
    assert_eq!(p["href"], expected["href"]);
    assert_eq!(p["account"]["id"], expected["account"]["id"]);
    assert_eq!(p["totalAmount"], expected["totalAmount"]);
}

async fn kit_get(app: &TestApp, path_and_query: &str) -> reqwest::Response {
    app.client
        .get(app.url(&format!("{TMF}/{path_and_query}")))
        .bearer_auth(&app.merchant.api_key)
        .header("Content-Type", "application/json")
        .send()
        .await
        .unwrap()
}

both_backends! {
    async fn conformance_kit_sequence(app: TestApp) {
        // N1: create (the kit's own body, then one like the report's instance).
        let response = app.client.post(app.url(&format!("{TMF}//payment"))).bearer_auth(&app.merchant.api_key)
            .json(&kit_payment()).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let first: Value = response.json().await.unwrap();
        assert_eq!(location, first["href"]);
        assert_eq!(first["paymentMethod"], serde_json::json!({}));
        assert_eq!(first["totalAmount"], serde_json::json!({}));
        assert_eq!(first["account"]["id"], "15463151");
        let second = app.create_payment(&payment_of("54996919", "50", "USD")).await;
        assert_eq!(second["totalAmount"]["value"], 50);
        assert_eq!(second["totalAmount"]["unit"], "USD");
        let id = second["id"].as_str().unwrap();
        assert!(id.parse::<i64>().unwrap() > 0, "ids are numeric strings");
        assert_eq!(second["href"], format!("{PUBLIC_BASE}{TMF}/payment/{id}"));

        // N1: list returns both, with every attribute.
        let response = kit_get(&app, "/payment").await;
        assert_eq!(response.status(), StatusCode::OK);
        let list: Vec<Value> = response.json().await.unwrap();
        assert_eq!(list.len(), 2);
        let listed = list.iter().find(|p| p["id"] == second["id"]).unwrap();
        assert_kit_instance(listed, &second);

        // N1: get by id.
        let response = kit_get(&app, &format!("/payment/{id}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_kit_instance(&response.json::<Value>().await.unwrap(), &second);

        // N2: fields=href and fields=id keep id and href only.
        for fields in ["href", "id"] {
            let response = kit_get(&app, &format!("/payment?fields={fields}")).await;
            assert_eq!(response.status(), StatusCode::OK);
            let list: Vec<Value> = response.json().await.unwrap();
            assert_eq!(list.len(), 2);
            for p in &list {
                let keys: Vec<&String> = p.as_object().unwrap().keys().collect();
                assert_eq!(keys, vec!["id", "href"], "fields={fields}");
            }
            assert!(list.iter().any(|p| p["href"] == second["href"]));
        }

        // N2: ?id= and ?href= find exactly that payment.
        for query in [format!("id={id}"), format!("href={}", second["href"].as_str().unwrap())] {
            let response = kit_get(&app, &format!("/payment?{query}")).await;
            assert_eq!(response.status(), StatusCode::OK);
            let list: Vec<Value> = response.json().await.unwrap();
            assert_eq!(list.len(), 1, "{query}");
            assert_kit_instance(&list[0], &second);
        }

        // E1: an unknown id, as the kit sends it, is a 404.
        let response = kit_get(&app, "payment/45d7aa75-8458-4b33-b659-c3c1d6278c4c").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["code"], "not_found");
        assert_eq!(error["status"], "404");
    }
}
