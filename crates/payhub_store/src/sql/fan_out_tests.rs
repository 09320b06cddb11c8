//! A dispatch round's deliveries and a delivery round's outcomes, each
//! written in a few statements (`outbox::complete_dispatch`,
//! `deliveries::record_delivery_outcomes`), on both backends: an event
//! dispatched twice adds no delivery twice, each outcome lands on its own
//! delivery with one attempt, and a delivery no longer pending takes none.
//! The PostgreSQL test needs a server (`PAYHUB_TEST_POSTGRES_URL`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{Duration, Utc};
use payhub_core::{MerchantId, SubscriptionId};
use sqlx::{AnyPool, Row};

use super::group_commit_tests::{add_merchant, remove_sqlite, sqlite_file};
use super::postgres_reads_tests::TestDb;
use super::{Backend, SqlStore};
use crate::records::{DeliveryKind, DeliveryOutcome, FanOut, NewWebhook, Subscription};
use crate::traits::{DeliveryStore, LedgerStore, OutboxStore, SubscriptionStore};

const MERCHANT: &str = "mer_00000000000000d4";

fn outcome(delivered: bool, status: i64, retry: bool) -> DeliveryOutcome {
    DeliveryOutcome {
        delivered,
        status_code: Some(status),
        error: (!delivered).then(|| format!("status {status}")),
        response: Some(format!("answer {status}")),
        retry_at: retry.then(|| Utc::now() + Duration::minutes(5)),
    }
}

async fn state_and_attempts(pool: &AnyPool, id: i64) -> (String, i64, Option<i64>) {
    let row = sqlx::query("SELECT state, attempts, last_status FROM hub_deliveries WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap();
    (
        row.try_get("state").unwrap(),
        row.try_get("attempts").unwrap(),
        row.try_get("last_status").unwrap(),
    )
}

async fn deliveries_fan_out_and_take_their_outcomes(store: &SqlStore, pool: &AnyPool) {
    add_merchant(pool, MERCHANT).await;
    let merchant = MerchantId::parse(MERCHANT).unwrap();
    let subscription = Subscription {
        id: SubscriptionId::from_i64(77).unwrap(),
        merchant_id: merchant.clone(),
        callback: "http://127.0.0.1:9/listener".into(),
        query: None,
        created_at: Utc::now(),
    };
    store.insert_subscription(&subscription).await.unwrap();
    // Three payments, so three events to fan out: each to the listener
    // and to a merchant webhook.
    for i in 0..3 {
        let (payment, event) = payhub_core::Payment::record_with_event(
            payhub_core::NewPayment {
                merchant_id: merchant.clone(),
                account_id: format!("acct-{i}"),
                correlator_id: None,
                total_amount: None,
                amount_decimals: None,
                status: None,
                payment_date: None,
                document: payhub_core::Document::new("{}".into()),
                origin: payhub_core::Origin::new("tmf676"),
            },
            Utc::now(),
        );
        store.insert_payment(&payment, &event, None).await.unwrap();
    }
    let now = Utc::now();
    let claimed = store
        .claim_undispatched_events(now, now + Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    let fan_out: Vec<FanOut> = claimed
        .iter()
        .map(|claimed| FanOut {
            event: claimed.event.id,
            subscriptions: vec![subscription.clone()],
            listener_body: Some(format!("{{\"event\":{}}}", claimed.event.id.get())),
            webhooks: vec![NewWebhook {
                kind: DeliveryKind::RetailWebhook,
                merchant_id: merchant.clone(),
                url: "http://127.0.0.1:9/webhook".into(),
                body: "{\"sale\":1}".into(),
            }],
        })
        .collect();
    store.complete_dispatch(&fan_out, now).await.unwrap();
    // Dispatched again (its lease ran out midway): nothing is added twice.
    store.complete_dispatch(&fan_out, now).await.unwrap();
    let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM hub_deliveries")
        .fetch_one(pool)
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(count, 6);

    let due = store
        .claim_due_deliveries(now, now + Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 6);
    let listener = due.iter().find(|d| d.kind == DeliveryKind::TmfHub).unwrap();
    assert_eq!(
        listener.body.as_deref(),
        Some(format!("{{\"event\":{}}}", listener.event_id.get()).as_str())
    );
    let webhooks: Vec<_> = due
        .iter()
        .filter(|d| d.kind == DeliveryKind::RetailWebhook)
        .collect();
    assert_eq!(webhooks.len(), 3);
    assert_eq!(webhooks[0].subscription_id, None);

    // One round's outcomes: delivered, retried later, given up.
    let (a, b, c) = (due[0].id, due[1].id, due[2].id);
    let round = vec![
        (a, outcome(true, 201, false)),
        (b, outcome(false, 503, true)),
        (c, outcome(false, 410, false)),
    ];
    store.record_delivery_outcomes(&round, now).await.unwrap();
    assert_eq!(
        state_and_attempts(pool, a).await,
        ("delivered".into(), 1, Some(201))
    );
    assert_eq!(
        state_and_attempts(pool, b).await,
        ("pending".into(), 1, Some(503))
    );
    assert_eq!(
        state_and_attempts(pool, c).await,
        ("dead".into(), 1, Some(410))
    );
    // A late outcome for deliveries no longer pending changes nothing; the
    // retried one takes its second attempt.
    let late = vec![
        (a, outcome(false, 500, true)),
        (c, outcome(true, 200, false)),
        (b, outcome(true, 204, false)),
    ];
    store.record_delivery_outcomes(&late, now).await.unwrap();
    assert_eq!(
        state_and_attempts(pool, a).await,
        ("delivered".into(), 1, Some(201))
    );
    assert_eq!(
        state_and_attempts(pool, c).await,
        ("dead".into(), 1, Some(410))
    );
    assert_eq!(
        state_and_attempts(pool, b).await,
        ("delivered".into(), 2, Some(204))
    );
    let attempts = store.list_delivery_attempts(b).await.unwrap();
    let mut codes: Vec<_> = attempts.iter().map(|a| a.status_code).collect();
    codes.sort();
    assert_eq!(codes, vec![Some(204), Some(503)]);
    assert_eq!(store.list_delivery_attempts(a).await.unwrap().len(), 1);
    let b_failure = attempts
        .iter()
        .find(|a| a.status_code == Some(503))
        .unwrap();
    assert_eq!(b_failure.error.as_deref(), Some("status 503"));
    assert_eq!(b_failure.response.as_deref(), Some("answer 503"));
}

#[tokio::test]
async fn a_round_of_deliveries_is_written_together_on_sqlite() {
    let (path, pool) = sqlite_file().await;
    let store = SqlStore::new(pool.clone(), Backend::Sqlite).with_sqlite_file(path.clone());
    deliveries_fan_out_and_take_their_outcomes(&store, &pool).await;
    remove_sqlite(&path);
}

#[tokio::test]
async fn a_round_of_deliveries_is_written_together_on_postgres() {
    let (db, pool) = TestDb::create().await;
    let store = SqlStore::new(pool.clone(), Backend::Postgres).with_postgres_url(&db.url);
    deliveries_fan_out_and_take_their_outcomes(&store, &pool).await;
}

/// The same writes through sqlx's `Any` transaction on SQLite (a store not
/// given its file has no writer thread), so both `StatementTx` drivers run
/// them on SQLite.
#[tokio::test]
async fn a_round_of_deliveries_is_written_together_on_the_sqlite_pool() {
    let (path, pool) = sqlite_file().await;
    let store = SqlStore::new(pool.clone(), Backend::Sqlite);
    deliveries_fan_out_and_take_their_outcomes(&store, &pool).await;
    remove_sqlite(&path);
}
