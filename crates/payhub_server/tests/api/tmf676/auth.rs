//! Every TMF676 call authenticates, by bearer key or HTTP Basic.

use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;

use crate::both_backends;

both_backends! {
    async fn calls_without_valid_credentials_are_refused(app: TestApp) {
        let url = app.tmf("/payment");
        let basic = |user: &str, pass: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}")));
        let refused = [
            None,
            Some("Bearer phk_not-a-real-key".to_owned()),
            Some("Bearer".to_owned()),
            Some("Token abc".to_owned()),
            Some(basic("mer_0000000000000000", &app.merchant.api_key)),
            Some(basic(&app.merchant.merchant_id, "wrong")),
            Some("Basic !!!".to_owned()),
        ];
        for header in refused {
            let mut request = app.client.get(&url);
            if let Some(h) = &header {
                request = request.header("Authorization", h);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header:?}");
            assert!(response.headers().contains_key("www-authenticate"));
            let error: Value = response.json().await.unwrap();
            assert_eq!(error["code"], "unauthorized");
        }
        let ok = app.client.get(&url).header("Authorization", basic(&app.merchant.merchant_id, &app.merchant.api_key))
            .send().await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        let ok = app.client.get(&url).bearer_auth(&app.merchant.api_key).send().await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        // Writes are refused too, and create nothing.
        let response = app.client.post(&url).json(&crate::helpers::kit_payment()).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let (_, total, _) = app.list("payment", "").await;
        assert_eq!(total, 0);
    }
}
