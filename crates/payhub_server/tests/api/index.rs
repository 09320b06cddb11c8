//! What a newcomer reaches first: `/` lists what payhub serves, and the
//! TMF676 base URL the start-up banner prints answers.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Backend, TestApp, PUBLIC_BASE, TMF};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_root_and_the_tmf676_base_answer_without_credentials() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let root = app
        .client
        .get(format!("http://{}/", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(root.status(), StatusCode::OK);
    let index: Value = root.json().await.unwrap();
    let urls: Vec<&str> = index["apis"]
        .as_array()
        .unwrap()
        .iter()
        .map(|api| api["url"].as_str().unwrap())
        .collect();
    for path in [
        TMF,
        "/tt-pms-ws/rest/online",
        "/pgw/paymentService",
        "/aps/2/resources",
    ] {
        assert!(
            urls.contains(&format!("{PUBLIC_BASE}{path}").as_str()),
            "{path} in {urls:?}"
        );
    }

    for base in [TMF.to_string(), format!("{TMF}/")] {
        let response = app
            .client
            .get(format!("http://{}{base}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{base}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["payment"], format!("{PUBLIC_BASE}{TMF}/payment"));
    }
}
