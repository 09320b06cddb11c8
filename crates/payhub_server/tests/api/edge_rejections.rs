//! Issue 9, items 13, 16 and 17: what the framework or the database would
//! refuse is refused first, in each dialect's own envelope, the same way on
//! SQLite and PostgreSQL, and changes nothing.
//!
//! - control characters (NUL above all: PostgreSQL cannot store or compare
//!   it, SQLite can) in bodies, paths and query strings;
//! - path ids that are not UTF-8, bodies over the limit, bad query strings;
//! - filters with too many values and over-long query strings.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{kit_payment, Credentials, TestApp};

impl TestApp {
    fn basic_auth(&self, who: &Credentials) -> String {
        use base64::Engine;
        let pair = format!("{}:{}", who.merchant_id, who.api_key);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }

    /// Sends a request with the merchant's credentials; status, content type and body.
    async fn send_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
    ) -> (StatusCode, String, Value) {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("authorization", self.basic_auth(&self.merchant));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{path}: not JSON ({status} {content_type}): {text}"));
        (status, content_type, body)
    }

    async fn payment_total(&self) -> i64 {
        let (status, total, _) = self.list("payment", "fields=id").await;
        assert_eq!(status, StatusCode::OK);
        total
    }
}

const TMF: &str = "/tmf-api/paymentManagement/v4";

both_backends! {
    async fn tmf676_refuses_control_characters_in_bodies_and_queries(app: TestApp) {
        let mut nul_account = kit_payment();
        nul_account["account"]["id"] = json!("acct\u{0}1");
        let mut nul_correlator = kit_payment();
        nul_correlator["correlatorId"] = json!("c\u{0}");
        let mut escape_in_item = kit_payment();
        escape_in_item["description"] = json!("bell \u{7}");
        for (what, body) in [
            ("NUL in account.id", nul_account),
            ("NUL in correlatorId", nul_correlator),
            ("BEL in description", escape_in_item),
        ] {
            let response = app.post("/payment", &body).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
            let error: Value = response.json().await.unwrap();
            assert_eq!(error["code"], "invalid_attribute", "{what}: {error}");
        }
        assert_eq!(app.payment_total().await, 0, "nothing was recorded");

        let mut two_lines = kit_payment();
        two_lines["description"] = json!("two\nlines\tstay allowed");
        app.create_payment(&two_lines).await;

        let hub = app
            .post("/hub", &json!({"callback": "http://127.0.0.1:9/cb\u{0}"}))
            .await;
        assert_eq!(hub.status(), StatusCode::BAD_REQUEST);
        let error: Value = hub.json().await.unwrap();
        assert_eq!(error["code"], "invalid_attribute", "{error}");

        for query in ["correlatorId=%00", "account.id=a%00b", "name=%1B", "%FF=1"] {
            let (status, _, error) = app
                .send_raw(reqwest::Method::GET, &format!("{TMF}/payment?{query}"), None)
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(error["code"], "invalid_query", "{query}: {error}");
        }
    }
}

both_backends! {
    async fn tmf676_path_ids_that_are_not_text_are_not_found(app: TestApp) {
        for path in ["/payment/%FF", "/refund/%FF", "/hub/%FF", "/payment/%00", "/hub/1%00"] {
            let (status, content_type, error) = app
                .send_raw(reqwest::Method::GET, &format!("{TMF}{path}"), None)
                .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(content_type.starts_with("application/json"), "{path}");
            assert_eq!(error["code"], "not_found", "{path}: {error}");
        }
        let (status, _, error) = app
            .send_raw(reqwest::Method::DELETE, &format!("{TMF}/hub/%FF"), None)
            .await;
        assert_eq!((status, error["code"].clone()), (StatusCode::NOT_FOUND, json!("not_found")));
    }
}

both_backends! {
    async fn tmf676_caps_filter_values_and_query_length(app: TestApp) {
        app.create_payment(&kit_payment()).await;
        let hundred = vec!["1"; 100].join(",");
        let (status, total, _) = app.list("payment", &format!("id={hundred}")).await;
        assert_eq!((status, total), (StatusCode::OK, 0), "100 values are fine");
        let too_many = vec!["1"; 101].join(",");
        let long_value = "x".repeat(9 * 1024);
        for query in [format!("id={too_many}"), format!("name={long_value}")] {
            let (status, _, error) = app
                .send_raw(reqwest::Method::GET, &format!("{TMF}/payment?{query}"), None)
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{}", &query[..20]);
            assert_eq!(error["code"], "invalid_query", "{error}");
        }
        let thirty_thousand = vec!["1"; 30_000].join(",");
        let (status, _, error) = app
            .send_raw(reqwest::Method::GET, &format!("{TMF}/payment?id={thirty_thousand}"), None)
            .await;
        assert_eq!((status, error["code"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_query")));
    }
}

both_backends! {
    async fn deliveries_and_sandbox_answer_query_mistakes_in_the_tmf_envelope(app: TestApp) {
        for path in ["/v1/deliveries?limit=abc", "/v1/deliveries?limit=%00", "/sandbox/v1/sms?msisdn=%FF"] {
            let (status, _, error) = app.send_raw(reqwest::Method::GET, path, None).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
            assert_eq!(error["code"], "invalid_query", "{path}: {error}");
        }
        let (status, _, error) = app
            .send_raw(reqwest::Method::POST, "/v1/deliveries/%FF/resend", None)
            .await;
        assert_eq!((status, error["code"].clone()), (StatusCode::NOT_FOUND, json!("not_found")));
    }
}

both_backends! {
    async fn retail_refusals_come_in_the_retail_envelope(app: TestApp) {
        let nul_key = json!({"apiKey": "k\u{0}", "timestamp": 1, "sign": "x"}).to_string();
        let too_large = format!("{{\"apiKey\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
        for (what, body, code) in [("NUL apiKey", nul_key, "40016"), ("3 MiB body", too_large, "40015")] {
            let (status, _, answer) = app
                .send_raw(reqwest::Method::POST, "/tt-pms-ws/rest/online/sales", Some(body))
                .await;
            assert_eq!(status, StatusCode::OK, "{what}: the dialect answers in its body");
            assert_eq!(answer["errorCode"], code, "{what}: {answer}");
        }
    }
}

both_backends! {
    async fn telco_refusals_come_in_the_telco_envelope(app: TestApp) {
        for path in ["/pgw/paymentService/%FF", "/pgw/paymentService/%00", "/pgw/paymentService/1%00/commit"] {
            let method = if path.ends_with("commit") { reqwest::Method::POST } else { reqwest::Method::GET };
            let (status, _, answer) = app.send_raw(method, path, None).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
            assert_eq!(answer["resultCode"], 2002, "{path}: {answer}");
        }
        let nul_language = json!({"transactionId": "t1", "msisdn": "905321234567", "channelId": 11,
            "paymentMethod": "reserve", "language": "t\u{0}r", "itemList": [{"id": "1", "count": 1}]});
        let (status, _, answer) = app
            .send_raw(reqwest::Method::POST, "/pgw/paymentService", Some(nul_language.to_string()))
            .await;
        assert_eq!((status, answer["resultCode"].clone()), (StatusCode::BAD_REQUEST, json!(2002)), "{answer}");
        let nul_name = json!({"name": "pack\u{0}", "price": "1.00", "currency": "TRY"}).to_string();
        let (status, _, answer) = app
            .send_raw(reqwest::Method::PUT, "/pgw/catalogue/50", Some(nul_name))
            .await;
        assert_eq!((status, answer["resultCode"].clone()), (StatusCode::BAD_REQUEST, json!(2002)), "{answer}");
        let too_large = format!("{{\"transactionId\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
        let (status, _, answer) = app
            .send_raw(reqwest::Method::POST, "/pgw/paymentService", Some(too_large))
            .await;
        assert_eq!((status, answer["resultCode"].clone()), (StatusCode::PAYLOAD_TOO_LARGE, json!(2013)), "{answer}");
    }
}

both_backends! {
    async fn aps_refusals_come_in_the_aps_envelope(app: TestApp) {
        for (method, path) in [
            (reqwest::Method::POST, "/aps/2/resources/%FF/payment"),
            (reqwest::Method::GET, "/aps/2/resources/%00/payments?paymentIds=1"),
            (reqwest::Method::GET, "/aps/2/resources/a/payments?paymentIds=%00"),
        ] {
            let (status, _, error) = app.send_raw(method, path, Some("{}".into())).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
            assert_eq!(error["code"], "invalid_request", "{path}: {error}");
        }
        let too_large = format!("{{\"total\": \"{}\"}}", "1".repeat(3 * 1024 * 1024));
        let (status, _, error) = app
            .send_raw(reqwest::Method::POST, "/aps/2/resources/a/payment", Some(too_large))
            .await;
        assert_eq!((status, error["code"].clone()), (StatusCode::PAYLOAD_TOO_LARGE, json!("payload_too_large")));
        let nul = json!({"total": "1.00", "notifyUrl": "http://127.0.0.1:9/\u{0}"}).to_string();
        let (status, _, error) = app
            .send_raw(reqwest::Method::POST, "/aps/2/resources/a/payment", Some(nul))
            .await;
        assert_eq!((status, error["code"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_field")), "{error}");
        assert_eq!(error["field"], "notifyUrl");
    }
}
