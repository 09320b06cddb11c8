//! The merchant's side of a sale: its web site, where the customer is sent
//! back (`returnUrl`) and payhub posts the result (`webhookUrl`), and the
//! retail API call (seed 003) that creates the sale.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::Html;
use axum::routing::{get, post};
use axum::{Json, Router};
use payhub_server::api_retail::signature::sha1_sign;
use serde_json::{json, Value};
use url::Url;

use crate::helpers::{TestApp, PUBLIC_BASE, TMF};

/// The `txDateTime` every sale here carries; payhub echoes it back.
pub const TX_DATE_TIME: &str = "2021-06-09T13:10:33+0800";
/// The sale's `extendParam` parts, shown on the page.
pub const SUBJECT: &str = "Water";
pub const SELLER: &str = "Watsons HK";

/// The merchant's web site on a loopback port.
pub struct Shop {
    base: String,
    webhooks: Received,
}

/// The webhook bodies the shop received, in order.
type Received = Arc<Mutex<Vec<Value>>>;

impl Shop {
    pub async fn start() -> Shop {
        let webhooks = Received::default();
        let app = Router::new()
            .route("/orders/{order}/done", get(order_done))
            .route("/payhub/webhook", post(receive_webhook))
            .route("/framed", get(framing_page))
            .with_state(webhooks.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Shop { base, webhooks }
    }

    /// `host:port` of the site, as a browser's address shows it.
    pub fn authority(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// Where the customer of order `order` is sent back to.
    pub fn return_url(&self, order: &str) -> String {
        format!("{}/orders/{order}/done", self.base)
    }

    /// Where payhub posts the results of this shop's sales.
    pub fn webhook_url(&self) -> String {
        format!("{}/payhub/webhook", self.base)
    }

    /// Waits (bounded) for payhub's webhook about sale `rrn`.
    pub async fn wait_for_webhook(&self, rrn: &str) -> Value {
        for _ in 0..200 {
            let found = self
                .webhooks
                .lock()
                .expect("lock")
                .iter()
                .find(|body| body["rrn"] == json!(rrn))
                .cloned();
            if let Some(body) = found {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no webhook about {rrn} within 10 s; received {:?}",
            self.webhooks.lock().expect("lock")
        );
    }

    /// A page of this site that puts `url` in an `<iframe id="framed">`
    /// (what a click-jacking site would do with payhub's card page).
    pub fn framing_url(&self, url: &str) -> String {
        let mut framing = Url::parse(&format!("{}/framed", self.base)).expect("shop URL");
        framing.query_pairs_mut().append_pair("src", url);
        framing.to_string()
    }

    /// Whether `url` is this site's return page for `order`.
    pub fn is_return_page(&self, url: &Url, order: &str) -> bool {
        url.authority() == self.authority() && url.path() == format!("/orders/{order}/done")
    }
}

async fn order_done(Path(order): Path<String>) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><html><head><title>Order {order}</title></head>\
         <body><h1 id=\"shop-thanks\">Thank you for your order</h1></body></html>"
    ))
}

async fn framing_page(
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Html<String> {
    let src = query
        .get("src")
        .cloned()
        .unwrap_or_default()
        .replace('"', "%22");
    Html(format!(
        "<!DOCTYPE html><html><head><title>framing</title></head>\
         <body><iframe id=\"framed\" src=\"{src}\" width=\"600\" height=\"600\"></iframe></body></html>"
    ))
}

/// Acknowledges a webhook as seed 003 asks: `{"errorCode":"0"}`.
async fn receive_webhook(State(webhooks): State<Received>, Json(body): Json<Value>) -> Json<Value> {
    webhooks.lock().expect("lock").push(body);
    Json(json!({"errorCode": "0"}))
}

/// A sale as the merchant sees it after creating it.
pub struct Sale {
    pub rrn: String,
    pub amt: i64,
    /// The hosted page, on the address the test payhub really listens on.
    pub page_url: String,
}

/// What the merchant asks for in a sale (in English, in HKD).
pub struct NewSale<'a> {
    /// The retail `type`: `WXPAY`, `VMPAY`, ...
    pub gateway: &'a str,
    /// HKD cents.
    pub amt: i64,
    pub return_url: Option<String>,
    pub webhook_url: Option<String>,
}

/// Creates a sale through the retail API and checks payhub accepted it.
pub async fn create_sale(app: &TestApp, new: NewSale<'_>) -> Sale {
    let NewSale {
        gateway,
        amt,
        return_url,
        webhook_url,
    } = new;
    let rrn = format!("BRW{:016x}", rand::random::<u64>());
    let timestamp = chrono::Utc::now().timestamp_millis().to_string();
    let mut body = json!({
        "apiKey": app.merchant.retail_api_key,
        "timestamp": timestamp,
        "sign": sha1_sign(&app.merchant.retail_secret, &timestamp),
        "type": gateway,
        "rrn": rrn,
        "storeCode": "ST01",
        "tillId": "01",
        "salesman": "9999",
        "txDateTime": TX_DATE_TIME,
        "amt": amt,
        "ccy": "HKD",
        "lang": "en",
        "extendParam": json!({"subject": SUBJECT, "seller": SELLER}).to_string(),
    });
    if let Some(return_url) = return_url {
        body["returnUrl"] = json!(return_url);
    }
    if let Some(webhook_url) = webhook_url {
        body["webhookUrl"] = json!(webhook_url);
    }
    let response = app
        .client
        .post(app.url("/tt-pms-ws/rest/online/sales"))
        .json(&body)
        .send()
        .await
        .expect("request");
    let answer: Value = response.json().await.expect("json");
    assert_eq!(
        answer["errorCode"],
        json!("0"),
        "creating the sale: {answer}"
    );
    let payment_url = answer["paymentUrl"].as_str().expect("paymentUrl");
    // Links are built on the public base URL; the browser reaches this
    // payhub on its bound address, as a proxy in front of it would.
    let path = payment_url
        .strip_prefix(PUBLIC_BASE)
        .unwrap_or_else(|| panic!("paymentUrl {payment_url} is not on {PUBLIC_BASE}"));
    assert!(path.starts_with("/pay/"), "{payment_url}");
    Sale {
        rrn,
        amt,
        page_url: app.url(path),
    }
}

/// The TMF676 payment of sale `rrn`, and its JSON text as served.
pub async fn tmf_payment(app: &TestApp, rrn: &str) -> (Value, String) {
    let response = app.get(&format!("/payment?correlatorId={rrn}")).await;
    assert_eq!(response.status(), 200, "listing payment {rrn}");
    let text = response.text().await.expect("body");
    let list: Value = serde_json::from_str(&text).expect("json");
    let items = list.as_array().expect("a list");
    assert_eq!(items.len(), 1, "one payment for {rrn}: {text}");
    let payment = items[0].clone();
    let id = payment["id"].as_str().expect("id");
    let single = app.get(&format!("/payment/{id}")).await;
    assert_eq!(single.status(), 200, "{TMF}/payment/{id}");
    let single_text = single.text().await.expect("body");
    (payment, format!("{text}\n{single_text}"))
}

/// The return URL's query parameters, by name.
pub fn query_of(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}
