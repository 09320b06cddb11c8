//! TMF630 filtering, attribute selection and paging on lists.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{payment_of, TestApp};

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Three payments: (acct-1, 10 USD), (acct-2, 50 USD, correlator c-2), (acct-1, 99.99 EUR).
async fn three_payments(app: &TestApp) -> Vec<Value> {
    let a = app.create_payment(&payment_of("acct-1", "10", "USD")).await;
    let mut body = payment_of("acct-2", "50", "USD");
    body["correlatorId"] = json!("c-2");
    body["channel"] = json!({"id": "web", "name": "Web shop"});
    let b = app.create_payment(&body).await;
    let c = app
        .create_payment(&payment_of("acct-1", "99.99", "EUR"))
        .await;
    vec![a, b, c]
}

both_backends! {
    async fn equality_dot_paths_or_and(app: TestApp) {
        let p = three_payments(&app).await;
        let (status, total, items) = app.list("payment", "account.id=acct-1").await;
        assert_eq!((status, total), (StatusCode::OK, 2));
        assert_eq!(ids(&items), vec![ids(&p)[2].clone(), ids(&p)[0].clone()], "newest first");
        let (_, _, items) = app.list("payment", "account.id=acct-2,acct-1").await;
        assert_eq!(items.len(), 3, "comma is OR");
        let (_, _, items) = app.list("payment", "account.id=acct-1&totalAmount.unit=EUR").await;
        assert_eq!(ids(&items), vec![ids(&p)[2].clone()], "parameters are AND");
        let (_, _, items) = app.list("payment", "correlatorId=c-2").await;
        assert_eq!(ids(&items), vec![ids(&p)[1].clone()]);
        let (_, _, items) = app.list("payment", "channel.name=Web%20shop").await;
        assert_eq!(ids(&items), vec![ids(&p)[1].clone()], "equality on any attribute");
        let (_, _, items) = app.list("payment", "status=captured").await;
        assert_eq!(items.len(), 3);
    }
}

both_backends! {
    async fn unknown_attributes_give_an_empty_list(app: TestApp) {
        three_payments(&app).await;
        let (status, total, items) = app.list("payment", "noSuchThing=1").await;
        assert_eq!((status, total, items.len()), (StatusCode::OK, 0, 0));
        let (status, _, items) = app.list("payment", "id=not-a-number").await;
        assert_eq!((status, items.len()), (StatusCode::OK, 0));
    }
}

both_backends! {
    async fn operators_on_numbers_and_dates(app: TestApp) {
        let p = three_payments(&app).await;
        let (_, _, items) = app.list("payment", "totalAmount.value.gt=10").await;
        assert_eq!(items.len(), 2);
        let (_, _, items) = app.list("payment", "totalAmount.value.gte=10").await;
        assert_eq!(items.len(), 3);
        let (_, _, items) = app.list("payment", "totalAmount.value.lt=50").await;
        assert_eq!(ids(&items), vec![ids(&p)[0].clone()]);
        let (_, _, items) = app.list("payment", "totalAmount.value%3C=50").await;
        assert_eq!(items.len(), 2, "URL-encoded <=");
        let (_, _, items) = app.list("payment", "totalAmount.value%3E50").await;
        assert_eq!(ids(&items), vec![ids(&p)[2].clone()], "URL-encoded >");
        let (_, _, items) = app.list("payment", "totalAmount.value.eq=99.990").await;
        assert_eq!(items.len(), 1, "numbers compare by value");

        let second_date = p[1]["statusDate"].as_str().unwrap().to_owned();
        let (_, _, items) = app.list("payment", &format!("statusDate.gte={second_date}")).await;
        assert_eq!(ids(&items), vec![ids(&p)[2].clone(), ids(&p)[1].clone()]);
        let (_, _, items) = app.list("payment", &format!("statusDate.lt=%22{second_date}%22")).await;
        assert_eq!(ids(&items), vec![ids(&p)[0].clone()], "quoted date-times");
        let (_, _, items) = app.list("payment", "statusDate%3E=2000-01-01").await;
        assert_eq!(items.len(), 3);
        let (_, _, items) = app.list("payment", "statusDate.lt=2000-01-01T00:00:00%2B08:00").await;
        assert!(items.is_empty());
    }
}

both_backends! {
    async fn paging_counts_and_206(app: TestApp) {
        let p = three_payments(&app).await;
        let all = ids(&p).into_iter().rev().collect::<Vec<_>>();
        let (status, total, items) = app.list("payment", "limit=2").await;
        assert_eq!((status, total), (StatusCode::PARTIAL_CONTENT, 3));
        assert_eq!(ids(&items), all[..2].to_vec());
        let response = app.get("/payment?offset=2&limit=2").await;
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(response.headers()["x-total-count"], "3");
        assert_eq!(response.headers()["x-result-count"], "1");
        let items: Vec<Value> = response.json().await.unwrap();
        assert_eq!(ids(&items), all[2..].to_vec(), "a stable order across pages");
        let (status, total, items) = app.list("payment", "offset=10&limit=2").await;
        assert_eq!((total, items.len()), (3, 0), "past the end: nothing, but the count still");
        assert_eq!(status, StatusCode::PARTIAL_CONTENT);
        let (status, total, items) = app.list("payment", "limit=10").await;
        assert_eq!((status, total, items.len()), (StatusCode::OK, 3, 3));
        // Pages longer than 100 are read another way on SQLite (through the
        // pool, not on the request's thread): the same answers.
        let (status, total, items) = app.list("payment", "limit=200").await;
        assert_eq!((status, total, ids(&items)), (StatusCode::OK, 3, all.clone()));
        let (status, total, items) = app.list("payment", "offset=1&limit=200").await;
        assert_eq!((status, total, ids(&items)), (StatusCode::PARTIAL_CONTENT, 3, all[1..].to_vec()));
        let (status, total, items) = app.list("payment", "offset=10&limit=200").await;
        assert_eq!((status, total, items.len()), (StatusCode::PARTIAL_CONTENT, 3, 0));
        // Paging also applies after filters evaluated outside the indexes.
        let (status, total, items) = app.list("payment", "totalAmount.value.gte=10&limit=1&offset=1").await;
        assert_eq!((status, total), (StatusCode::PARTIAL_CONTENT, 3));
        assert_eq!(ids(&items), all[1..2].to_vec());
        for bad in ["limit=-1", "offset=x", "limit=1.5"] {
            let response = app.get(&format!("/payment?{bad}")).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(response.json::<Value>().await.unwrap()["code"], "invalid_query");
        }
    }
}

both_backends! {
    async fn field_selection(app: TestApp) {
        three_payments(&app).await;
        let (_, _, items) = app.list("payment", "fields=none").await;
        assert!(items.iter().all(|p| p.as_object().unwrap().keys().collect::<Vec<_>>() == vec!["id", "href"]));
        let (_, _, items) = app.list("payment", "fields=status,totalAmount").await;
        for p in &items {
            let keys: Vec<&String> = p.as_object().unwrap().keys().collect();
            assert_eq!(keys, vec!["id", "href", "totalAmount", "status"]);
        }
        let id = items[0]["id"].as_str().unwrap();
        let one: Value = app.get(&format!("/payment/{id}?fields=status")).await.json().await.unwrap();
        assert_eq!(one.as_object().unwrap().len(), 3);
    }
}

both_backends! {
    /// A filter no index serves reads the rows in batches (of 100) and keeps
    /// only the page: the matches and their count are the same as reading
    /// everything at once, across batch boundaries.
    async fn unindexed_filters_page_correctly_across_batches(app: TestApp) {
        let mut tagged = Vec::new();
        for i in 0..230 {
            let mut body = payment_of("acct-scan", "1", "USD");
            if i % 3 == 0 {
                body["name"] = json!("tagged");
            }
            let created = app.create_payment(&body).await;
            if i % 3 == 0 {
                tagged.push(created["id"].as_str().unwrap().to_owned());
            }
        }
        tagged.reverse(); // newest first
        assert_eq!(tagged.len(), 77);
        let (status, total, items) = app.list("payment", "name=tagged&limit=1000").await;
        assert_eq!((status, total), (StatusCode::OK, 77));
        assert_eq!(ids(&items), tagged);
        let (status, total, items) = app.list("payment", "name=tagged&offset=30&limit=40").await;
        assert_eq!((status, total), (StatusCode::PARTIAL_CONTENT, 77));
        assert_eq!(ids(&items), tagged[30..70].to_vec(), "a page that spans two batches");
        let (status, total, items) = app.list("payment", "name=nothing-matches&limit=1").await;
        assert_eq!((status, total, items.len()), (StatusCode::OK, 0, 0));
    }
}

/// Settings whose lists read at most 50 rows to evaluate unindexed filters.
fn small_scans(database_url: &str) -> payhub_server::config::Settings {
    let mut settings = crate::helpers::test_settings(database_url);
    settings.list_max_scanned_rows = 50;
    settings
}

both_backends! {
    /// A list whose unindexed filter would read more rows than allowed is
    /// refused with a clear TMF error naming what narrows it; narrowed by an
    /// indexed attribute, the same filter is answered.
    async fn a_filter_that_would_read_too_much_is_refused(app: TestApp) {
        let app = app.restart_with(small_scans).await;
        for i in 0..60 {
            let account = if i < 10 { "acct-few" } else { "acct-many" };
            app.create_payment(&payment_of(account, "1", "USD")).await;
        }
        let response = app.get("/payment?name=x").await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["code"], "invalid_query", "{error}");
        assert!(error["reason"].as_str().unwrap_or_default().contains("account.id")
            || error.to_string().contains("account.id"), "{error}");
        let (status, total, _) = app.list("payment", "account.id=acct-few&name=x").await;
        assert_eq!((status, total), (StatusCode::OK, 0));
    }
}

both_backends! {
    /// A filter lists at most 100 values and a query is at most 8 KiB; beyond
    /// either the request is refused with `invalid_query`, and nothing is read.
    async fn filter_values_and_query_length_are_bounded(app: TestApp) {
        let hundred = vec!["1"; 100].join(",");
        let (status, _, _) = app.list("payment", &format!("id={hundred}")).await;
        assert_eq!(status, StatusCode::OK);
        let many = vec!["1"; 101].join(",");
        let response = app.get(&format!("/payment?id={many}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.json::<Value>().await.unwrap()["code"], "invalid_query");
        let thirty_thousand = vec!["1"; 30_000].join(",");
        let response = app.get(&format!("/refund?id={thirty_thousand}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.json::<Value>().await.unwrap()["code"], "invalid_query");
        let long = "x".repeat(9000);
        let response = app.get(&format!("/payment?name={long}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.json::<Value>().await.unwrap()["code"], "invalid_query");
        let response = app.post("/hub", &json!({"callback": "http://127.0.0.1:9/cb", "query": format!("eventType={many}")})).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "a hub query is bounded alike");
    }
}
