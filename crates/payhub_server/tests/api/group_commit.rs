//! Group commit: concurrent creates share transactions, yet each is answered
//! only after it is durable and a failing one never takes its batch down.

use std::sync::Arc;

use chrono::Utc;
use payhub_core::{Document, EventKind, LedgerEvent, MerchantId, NewPayment, Payment};
use payhub_store::{ListFilter, Store, StoreError};

use crate::both_backends;

fn payment(merchant: &MerchantId, account: &str) -> (Payment, LedgerEvent) {
    let p = Payment::record(
        NewPayment {
            merchant_id: merchant.clone(),
            account_id: account.into(),
            correlator_id: None,
            total_amount: None,
            amount_decimals: None,
            status: None,
            payment_date: None,
            document: Document::new(
                r#"{"account":{"id":"x"},"paymentMethod":{},"totalAmount":{}}"#.into(),
            ),
            origin: payhub_core::Origin::new("tmf676"),
        },
        Utc::now(),
    );
    let e = LedgerEvent::new(
        merchant.clone(),
        EventKind::PaymentCreate,
        p.id.get(),
        p.status,
        p.created_at,
    );
    (p, e)
}

both_backends! {
    async fn a_colliding_create_fails_alone(app: TestApp) {
        let merchant = MerchantId::parse(&app.merchant.merchant_id).unwrap();
        let (existing, event) = payment(&merchant, "first");
        app.store.insert_payment(&existing, &event, None).await.unwrap();

        // One job reuses a taken id; forty good ones are queued beside it.
        let store: Arc<dyn Store> = app.store.clone();
        let mut tasks = tokio::task::JoinSet::new();
        let mut duplicate = payment(&merchant, "dup");
        duplicate.0.id = existing.id;
        tasks.spawn({
            let store = store.clone();
            async move { (true, store.insert_payment(&duplicate.0, &duplicate.1, None).await) }
        });
        for i in 0..40 {
            let (store, (p, e)) = (store.clone(), payment(&merchant, &format!("good-{i}")));
            tasks.spawn(async move { (false, store.insert_payment(&p, &e, None).await) });
        }
        let mut good = 0;
        while let Some(result) = tasks.join_next().await {
            match result.unwrap() {
                (true, outcome) => assert!(matches!(outcome, Err(StoreError::IdCollision)), "{outcome:?}"),
                (false, outcome) => {
                    outcome.unwrap();
                    good += 1;
                }
            }
        }
        assert_eq!(good, 40);
        let listed = app.store.list_payments(&merchant, &ListFilter::default(), None).await.unwrap();
        assert_eq!(listed.total, 41, "every acknowledged create is stored, the duplicate is not");
    }
}

both_backends! {
    async fn a_burst_of_creates_is_all_stored(app: TestApp) {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..200 {
            let (client, url, key) = (reqwest::Client::new(), app.tmf("/payment"), app.merchant.api_key.clone());
            let body = crate::helpers::payment_of(&format!("burst-{}", i % 7), "1.25", "EUR");
            tasks.spawn(async move { client.post(url).bearer_auth(key).json(&body).send().await.unwrap().json::<serde_json::Value>().await.unwrap() });
        }
        let mut ids = std::collections::HashSet::new();
        while let Some(created) = tasks.join_next().await {
            ids.insert(created.unwrap()["id"].as_str().unwrap().to_owned());
        }
        assert_eq!(ids.len(), 200);
        let (_, total, _) = app.list("payment", "limit=1").await;
        assert_eq!(total, 200);
        let (_, total, _) = app.list("payment", "account.id=burst-3").await;
        assert_eq!(total, 200 / 7 + i64::from(3 < 200 % 7));
    }
}
