//! Issue 11: merchants' connector accounts — the operator API and the CLI
//! that configure them, routing by priority and rules, the circuit breaker
//! that moves new payments off an account that stops answering (while the
//! payments it holds stay with it), and production mode, which has no
//! simulated gateway to fall back on.

use std::time::Duration;

use axum::http::StatusCode;
use payhub_core::PaymentId;
use payhub_server::config::{Mode, Settings};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use crate::both_backends;
use crate::cli::payhub;
use crate::gateway_wechatpay::{fake::FakeWechatPay, fake::Fault, wechatpay_account};
use crate::helpers::{test_settings, TestApp};
use crate::retail::sale;

const ACCOUNTS: &str = "/operator/v1/connector-accounts";

/// An operator of the console, as HTTP Basic credentials (name, password);
/// confined to `merchant` when given.
pub(crate) async fn operator(app: &TestApp, merchant: Option<&str>) -> (String, String) {
    let name = format!("ops-{}", rand::random::<u32>());
    let created = payhub_server::console::operators::create_operator(
        app.store.as_ref(),
        &name,
        merchant,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    (name, created.password.expose_secret().to_owned())
}

/// POSTs `body` to the operator API as `who`; answers (status, body).
async fn operator_post(
    app: &TestApp,
    who: &(String, String),
    path: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url(path))
        .basic_auth(&who.0, Some(&who.1))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn operator_get(app: &TestApp, who: &(String, String), path: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .get(app.url(path))
        .basic_auth(&who.0, Some(&who.1))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Adds an account through the operator API; it must be accepted.
pub(crate) async fn add_account(app: &TestApp, who: &(String, String), body: &Value) -> Value {
    let (status, account) = operator_post(app, who, ACCOUNTS, body).await;
    assert_eq!(status, StatusCode::CREATED, "{account}");
    account
}

async fn connector_account_of(app: &TestApp, rrn: &str) -> Option<String> {
    let id = app.tmf_payment_of(rrn).await["id"]
        .as_str()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    let row = app
        .store
        .find_gateway_payment(PaymentId::from_i64(id).unwrap())
        .await
        .unwrap()
        .unwrap();
    row.connector_account
}

both_backends! {
    async fn the_operator_api_checks_who_asks_and_what_is_configured(app: TestApp) {
        let wechat = FakeWechatPay::start().await;
        let body = wechatpay_account(&app, &wechat, 0);
        let anonymous = app.client.post(app.url(ACCOUNTS)).json(&body).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let ops = operator(&app, None).await;
        let wrong = (ops.0.clone(), "not the password".to_owned());
        assert_eq!(operator_post(&app, &wrong, ACCOUNTS, &body).await.0, StatusCode::UNAUTHORIZED);

        // Refusals name what is wrong and store nothing.
        let mut unknown = body.clone();
        unknown["connector"] = json!("paypal");
        let (status, error) = operator_post(&app, &ops, ACCOUNTS, &unknown).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(error["message"].as_str().unwrap().contains("wechatpay"), "{error}");
        let mut missing = body.clone();
        missing["credentials"].as_object_mut().unwrap().remove("api_v3_key");
        let (status, error) = operator_post(&app, &ops, ACCOUNTS, &missing).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(error["message"].as_str().unwrap().contains("api_v3_key"), "{error}");
        let mut card_type = body.clone();
        card_type["gatewayTypes"] = json!(["VMPAY"]);
        assert_eq!(operator_post(&app, &ops, ACCOUNTS, &card_type).await.0, StatusCode::BAD_REQUEST);
        let mut bad_key = body.clone();
        bad_key["credentials"]["private_key"] = json!("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----");
        assert_eq!(operator_post(&app, &ops, ACCOUNTS, &bad_key).await.0, StatusCode::BAD_REQUEST);
        assert_eq!(operator_get(&app, &ops, ACCOUNTS).await.1, json!([]));

        // Credentials go in and never come out: only their last four characters.
        let account = add_account(&app, &ops, &body).await;
        let text = account.to_string();
        for (name, value) in FakeWechatPay::credentials() {
            let value = value.expose_secret();
            if value.len() >= 12 {
                assert!(!text.contains(value), "{name} is shown: {text}");
                let last4: String = value.trim_end().chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
                assert_eq!(account["credentials"][&name], format!("…{last4}"), "{name}");
            }
        }
        let id = account["id"].as_str().unwrap().to_owned();
        let stored = app.store.list_connector_accounts(None).await.unwrap();
        assert!(!stored[0].sealed_credentials.contains("PRIVATE KEY"), "sealed at rest");

        // A merchant-scoped operator sees only its merchant's accounts.
        let other = app.other_merchant().await;
        let scoped = operator(&app, Some(&other.merchant_id)).await;
        assert_eq!(operator_get(&app, &scoped, &format!("{ACCOUNTS}/{id}")).await.0, StatusCode::NOT_FOUND);
        assert_eq!(operator_get(&app, &scoped, ACCOUNTS).await.1, json!([]));
        assert_eq!(operator_post(&app, &scoped, &format!("{ACCOUNTS}/{id}/disable"), &json!({})).await.0, StatusCode::NOT_FOUND);

        // Rotation replaces a credential under a new version.
        let (status, rotated) = operator_post(&app, &ops, &format!("{ACCOUNTS}/{id}/rotate"),
            &json!({"credentials": {"merchant_category_code": "5411"}})).await;
        assert_eq!(status, StatusCode::OK, "{rotated}");
        assert_eq!(rotated["credentialsVersion"], 2);
        assert_eq!(rotated["credentials"]["merchant_category_code"], "****");

        // The account serves WXPAY; disabled, the sandbox's simulator does again.
        app.create_sale(sale("WXPAY", "acc-1", 100)).await;
        assert_eq!(connector_account_of(&app, "acc-1").await.as_deref(), Some(id.as_str()));
        let (status, disabled) = operator_post(&app, &ops, &format!("{ACCOUNTS}/{id}/disable"), &json!({})).await;
        assert_eq!((status, disabled["enabled"].clone()), (StatusCode::OK, json!(false)));
        app.create_sale(sale("WXPAY", "acc-2", 100)).await;
        assert_eq!(connector_account_of(&app, "acc-2").await, None);
        assert!(wechat.order(app.tmf_payment_of("acc-2").await["id"].as_str().unwrap()).is_none());
    }
}

both_backends! {
    async fn rules_choose_the_account_and_an_unanswering_one_is_avoided_for_new_payments_only(app: TestApp) {
        let first = FakeWechatPay::start().await;
        let second = FakeWechatPay::start().await;
        let ops = operator(&app, None).await;
        let mut small = wechatpay_account(&app, &first, 0);
        small["maxAmountMinor"] = json!(10_000);
        let small = add_account(&app, &ops, &small).await["id"].as_str().unwrap().to_owned();
        let rest = add_account(&app, &ops, &wechatpay_account(&app, &second, 1)).await["id"].as_str().unwrap().to_owned();

        app.create_sale(sale("WXPAY", "rule-small", 10_000)).await;
        app.create_sale(sale("WXPAY", "rule-large", 10_001)).await;
        assert_eq!(connector_account_of(&app, "rule-small").await.as_deref(), Some(small.as_str()));
        assert_eq!(connector_account_of(&app, "rule-large").await.as_deref(), Some(rest.as_str()));

        // The first account stops answering (5xx to everything): its
        // payments' outcomes are unknown, and after five calls without an
        // answer new payments go to the next account.
        for _ in 0..200 {
            first.fail_next(Fault::ServerError);
        }
        let mut held = Vec::new();
        for n in 0..5 {
            let rrn = format!("down-{n}");
            let _ = app.retail("sales", sale("WXPAY", &rrn, 500)).await;
            if connector_account_of(&app, &rrn).await.as_deref() == Some(small.as_str()) {
                held.push(app.tmf_payment_of(&rrn).await["id"].as_str().unwrap().to_owned());
            }
        }
        assert!(!held.is_empty());
        let (_, shown) = operator_get(&app, &ops, &format!("{ACCOUNTS}/{small}")).await;
        assert_eq!(shown["health"]["state"], "unhealthy", "{shown}");
        app.create_sale(sale("WXPAY", "after", 500)).await;
        assert_eq!(connector_account_of(&app, "after").await.as_deref(), Some(rest.as_str()));

        // The payments the first account holds were never sent elsewhere,
        // and the checker keeps asking the first account about them.
        tokio::time::sleep(Duration::from_millis(500)).await;
        for id in &held {
            assert!(second.order(id).is_none(), "payment {id} was sent to a second gateway");
            let payment: Value = app.get(&format!("/payment/{id}")).await.json().await.unwrap();
            assert_eq!(payment["status"], "pendingAuthorization", "{payment}");
        }
    }
}

fn production(database_url: &str) -> Settings {
    let mut settings = test_settings(database_url);
    settings.mode = Mode::Production;
    settings
}

both_backends! {
    async fn production_refuses_a_type_no_live_account_serves(app: TestApp) {
        let app = app.restart_with(production).await;
        let refused = app.retail("sales", sale("WXPAY", "prod-1", 100)).await;
        assert_eq!(refused["errorCode"], "40007", "{refused}");
        assert!(refused["errorMessage"].as_str().unwrap_or_default().contains("connector"), "{refused}");
        let sandbox = app.client.post(app.url("/sandbox/v1/payments/1/outcome")).send().await.unwrap();
        assert_eq!(sandbox.status(), StatusCode::NOT_FOUND);

        let wechat = FakeWechatPay::start().await;
        let ops = operator(&app, None).await;
        let mut simulated = json!({"merchantId": app.merchant.merchant_id, "connector": "simulated", "gatewayTypes": ["WXPAY"]});
        add_account(&app, &ops, &simulated).await;
        add_account(&app, &ops, &wechatpay_account(&app, &wechat, 0)).await;
        let still = app.retail("sales", sale("WXPAY", "prod-2", 100)).await;
        assert_eq!(still["errorCode"], "40007", "neither a simulated nor a sandbox account serves production: {still}");

        let mut live = wechatpay_account(&app, &wechat, 1);
        live["live"] = json!(true);
        let live = add_account(&app, &ops, &live).await["id"].as_str().unwrap().to_owned();
        app.create_sale(sale("WXPAY", "prod-3", 100)).await;
        assert_eq!(connector_account_of(&app, "prod-3").await.as_deref(), Some(live.as_str()));
        simulated["live"] = json!(true);
        let _ = simulated;
    }
}

#[test]
fn the_cli_adds_lists_rotates_and_disables_accounts_without_showing_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let created = payhub(&[
        "merchant",
        "create",
        "Acme",
        "--json",
        "--data-dir",
        data_dir,
    ]);
    let merchant: Value = serde_json::from_slice(&created.stdout).unwrap();
    let merchant = merchant["merchantId"].as_str().unwrap();
    let key_file = dir.path().join("private_key.pem");
    std::fs::write(
        &key_file,
        "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();

    let refused = payhub(&[
        "connector",
        "add",
        "--merchant",
        merchant,
        "--connector",
        "paypal",
        "--types",
        "WXPAY",
        "--data-dir",
        data_dir,
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("unknown connector"));

    let added = payhub(&[
        "connector",
        "add",
        "--merchant",
        merchant,
        "--connector",
        "simulated",
        "--types",
        "WXPAY,ALIPAY",
        "--priority",
        "2",
        "--data-dir",
        data_dir,
    ]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let account: Value = serde_json::from_slice(&added.stdout).unwrap();
    let id = account["id"].as_str().unwrap();
    assert_eq!(account["gatewayTypes"], json!(["WXPAY", "ALIPAY"]));

    let listed =
        String::from_utf8(payhub(&["connector", "list", "--data-dir", data_dir]).stdout).unwrap();
    assert!(
        listed.contains(id) && listed.contains("healthy") && listed.contains("enabled"),
        "{listed}"
    );
    let disabled = payhub(&["connector", "disable", id, "--data-dir", data_dir]);
    let disabled: Value = serde_json::from_slice(&disabled.stdout).unwrap();
    assert_eq!(disabled["enabled"], false);
    let rotate = payhub(&[
        "connector",
        "rotate",
        id,
        "--credential",
        &format!("private_key=@{}", key_file.display()),
        "--data-dir",
        data_dir,
    ]);
    assert!(
        !rotate.status.success(),
        "a simulated account has no credentials"
    );
    let shown = payhub(&[
        "connector",
        "show",
        "ca_0000000000000000",
        "--data-dir",
        data_dir,
    ]);
    assert!(!shown.status.success());
}
