//! `Idempotency-Key`: retries replay, conflicts are refused, nothing is done twice.

use chrono::Utc;
use payhub_core::MerchantId;
use reqwest::StatusCode;
use serde_json::Value;

use crate::both_backends;

const BODY: &str =
    r#"{"account":{"id":"acct"},"paymentMethod":{},"totalAmount":{"unit":"USD","value":12.5}}"#;

both_backends! {
    async fn a_retry_replays_the_first_response(app: TestApp) {
        let first = app.post_raw("/payment", BODY, Some("order-1")).await;
        assert_eq!(first.status(), StatusCode::CREATED);
        let location = first.headers()["location"].clone();
        let first_body = first.text().await.unwrap();
        let retry = app.post_raw("/payment", BODY, Some("order-1")).await;
        assert_eq!(retry.status(), StatusCode::CREATED);
        assert_eq!(retry.headers()["location"], location);
        assert_eq!(retry.text().await.unwrap(), first_body);
        let (_, total, _) = app.list("payment", "").await;
        assert_eq!(total, 1, "the work was done once");
        // The same key on another endpoint is a different request.
        let refund = app.post_raw("/refund", BODY, Some("order-1")).await;
        assert_eq!(refund.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refund.json::<Value>().await.unwrap()["code"], "idempotency_key_reused");
    }
}

both_backends! {
    async fn the_same_key_with_another_body_is_refused(app: TestApp) {
        assert_eq!(app.post_raw("/payment", BODY, Some("k")).await.status(), StatusCode::CREATED);
        let other = BODY.replace("12.5", "13");
        let response = app.post_raw("/payment", &other, Some("k")).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(response.json::<Value>().await.unwrap()["code"], "idempotency_key_reused");
        let (_, total, _) = app.list("payment", "").await;
        assert_eq!(total, 1);
    }
}

both_backends! {
    async fn a_key_still_in_progress_is_a_conflict(app: TestApp) {
        let merchant = MerchantId::parse(&app.merchant.merchant_id).unwrap();
        let fingerprint = payhub_server::idempotency::fingerprint(
            &axum::http::Method::POST, "/tmf-api/paymentManagement/v4/payment", BODY.as_bytes());
        // Another request holds the key and has not answered yet.
        app.store.begin_idempotent(&merchant, "busy", &fingerprint, "another node", Utc::now(), Utc::now()).await.unwrap();
        let response = app.post_raw("/payment", BODY, Some("busy")).await;
        assert_eq!(response.status(), StatusCode::CONFLICT);
        assert_eq!(response.headers()["retry-after"], "1");
        assert_eq!(response.json::<Value>().await.unwrap()["code"], "idempotency_request_in_progress");
        let (_, total, _) = app.list("payment", "").await;
        assert_eq!(total, 0);
    }
}

both_backends! {
    async fn keys_belong_to_one_merchant(app: TestApp) {
        let other = app.other_merchant().await;
        assert_eq!(app.post_raw("/payment", BODY, Some("shared")).await.status(), StatusCode::CREATED);
        let response = app.client.post(app.tmf("/payment")).bearer_auth(&other.api_key)
            .header("Idempotency-Key", "shared").header("content-type", "application/json").body(BODY).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let listed: Vec<Value> = app.get_as(&other, "/payment").await.json().await.unwrap();
        assert_eq!(listed.len(), 1);
    }
}

both_backends! {
    async fn client_errors_are_replayed_and_bad_keys_refused(app: TestApp) {
        let first = app.post_raw("/payment", "{oops", Some("bad-body")).await;
        assert_eq!(first.status(), StatusCode::BAD_REQUEST);
        let first_body = first.text().await.unwrap();
        let again = app.post_raw("/payment", "{oops", Some("bad-body")).await;
        assert_eq!(again.status(), StatusCode::BAD_REQUEST);
        assert_eq!(again.text().await.unwrap(), first_body);
        for key in ["x".repeat(256), "has space".to_owned()] {
            let response = app.post_raw("/payment", BODY, Some(&key)).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{key}");
            assert_eq!(response.json::<Value>().await.unwrap()["code"], "invalid_idempotency_key");
        }
        assert_eq!(app.post_raw("/payment", BODY, Some(&"x".repeat(255))).await.status(), StatusCode::CREATED);
    }
}

both_backends! {
    /// Ten identical requests race with one key: one payment, and every answer
    /// is either that payment or "in progress".
    async fn concurrent_retries_create_one_payment(app: TestApp) {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let (client, url, key) = (reqwest::Client::new(), app.tmf("/payment"), app.merchant.api_key.clone());
            tasks.spawn(async move {
                let r = client.post(url).bearer_auth(key).header("Idempotency-Key", "race")
                    .header("content-type", "application/json").body(BODY).send().await.unwrap();
                (r.status(), r.text().await.unwrap())
            });
        }
        let mut bodies = Vec::new();
        while let Some(result) = tasks.join_next().await {
            let (status, body) = result.unwrap();
            match status {
                StatusCode::CREATED => bodies.push(body),
                StatusCode::CONFLICT => {}
                other => panic!("unexpected {other}: {body}"),
            }
        }
        assert!(!bodies.is_empty());
        assert!(bodies.iter().all(|b| b == &bodies[0]), "every 201 is the same payment");
        let (_, total, _) = app.list("payment", "").await;
        assert_eq!(total, 1);
    }
}

both_backends! {
    /// Issue 9 item 20: a node took the key and died (its claim was last
    /// renewed 30 s ago, longer than the 10 s lease): the client's retry runs
    /// at once instead of waiting a minute, and only once.
    async fn a_key_held_by_a_dead_node_is_taken_over_once_its_lease_ran_out(app: TestApp) {
        let merchant = MerchantId::parse(&app.merchant.merchant_id).unwrap();
        let fingerprint = payhub_server::idempotency::fingerprint(
            &axum::http::Method::POST, "/tmf-api/paymentManagement/v4/payment", BODY.as_bytes());
        let crashed_at = Utc::now() - chrono::Duration::seconds(30);
        let claimed = app.store
            .begin_idempotent(&merchant, "lost", &fingerprint, "the dead node", crashed_at, crashed_at)
            .await
            .unwrap();
        assert_eq!(claimed, payhub_store::IdempotencyBegin::Proceed);

        let retry = app.post_raw("/payment", BODY, Some("lost")).await;
        assert_eq!(retry.status(), StatusCode::CREATED);
        let created: Value = retry.json().await.unwrap();
        let again = app.post_raw("/payment", BODY, Some("lost")).await;
        assert_eq!(again.status(), StatusCode::CREATED);
        assert_eq!(again.json::<Value>().await.unwrap()["id"], created["id"], "replayed, not redone");
        let (_, total, _) = app.list("payment", "").await;
        assert_eq!(total, 1);
    }
}

both_backends! {
    /// Issue 9 item 20: a claim that is renewed (its request still runs) is
    /// not taken over, however old the claim is.
    async fn a_renewed_claim_is_not_taken_over(app: TestApp) {
        let merchant = MerchantId::parse(&app.merchant.merchant_id).unwrap();
        let fingerprint = payhub_server::idempotency::fingerprint(
            &axum::http::Method::POST, "/tmf-api/paymentManagement/v4/payment", BODY.as_bytes());
        let claimed_at = Utc::now() - chrono::Duration::seconds(30);
        app.store.begin_idempotent(&merchant, "alive", &fingerprint, "a live node", claimed_at, claimed_at).await.unwrap();
        assert!(app.store.renew_idempotent(&merchant, "alive", "a live node", Utc::now()).await.unwrap());
        assert!(!app.store.renew_idempotent(&merchant, "alive", "someone else", Utc::now()).await.unwrap(),
            "only the holder renews");

        let retry = app.post_raw("/payment", BODY, Some("alive")).await;
        assert_eq!(retry.status(), StatusCode::CONFLICT);
        let (_, total, _) = app.list("payment", "").await;
        assert_eq!(total, 0);
    }
}

both_backends! {
    /// Issue 9 item 20: the claim belongs to the request that holds it. A
    /// request whose lease ran out and whose key another request took over can
    /// neither keep its answer (so its work, committed in the same
    /// transaction, rolls back) nor release the key: the work is done once.
    async fn a_request_whose_claim_was_taken_over_cannot_keep_its_answer(app: TestApp) {
        use payhub_store::{IdempotencyBegin, IdempotentResponse, SavedResponse};
        let merchant = MerchantId::parse(&app.merchant.merchant_id).unwrap();
        let now = Utc::now();
        let lease_ago = now - chrono::Duration::seconds(10);
        let answer = |claim: &str| IdempotentResponse {
            merchant_id: merchant.clone(),
            key: "slow".into(),
            claim: claim.into(),
            response: SavedResponse { status: 201, location: None, body: format!("{{\"by\":\"{claim}\"}}") },
        };
        let begin = |claim: &'static str| {
            let store = app.store.clone();
            let merchant = merchant.clone();
            async move { store.begin_idempotent(&merchant, "slow", "fp", claim, Utc::now(), lease_ago).await.unwrap() }
        };
        let stalled_since = now - chrono::Duration::seconds(30);
        assert_eq!(app.store.begin_idempotent(&merchant, "slow", "fp", "A", stalled_since, stalled_since).await.unwrap(),
            IdempotencyBegin::Proceed);
        assert_eq!(begin("B").await, IdempotencyBegin::Proceed, "A's lease ran out: B takes the key over");

        assert!(app.store.complete_idempotent(&answer("A"), Utc::now()).await.is_err(), "A no longer holds the key");
        app.store.abandon_idempotent(&merchant, "slow", "A").await.unwrap();
        assert_eq!(begin("C").await, IdempotencyBegin::InProgress, "A's release did not free B's key");

        app.store.complete_idempotent(&answer("B"), Utc::now()).await.unwrap();
        match begin("D").await {
            IdempotencyBegin::Replay(saved) => assert_eq!(saved.body, r#"{"by":"B"}"#),
            other => panic!("expected B's answer, got {other:?}"),
        }
    }
}
