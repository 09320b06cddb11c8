//! Issue 13: `/metrics` answers only to its token, and carries the HTTP,
//! gateway and outbox series (docs/METRICS.md).
//!
//! The recorder is process-wide and every test of this binary shares it, so
//! the assertions use counters that only increase (read before and after)
//! and series only this file produces (a 404 path it alone asks for).

use axum::http::StatusCode;
use payhub_server::config::MetricsSettings;
use payhub_server::config::Settings;

use crate::helpers::{test_settings, Backend, TestApp};
use crate::retail::sale;

const TOKEN: &str = "metrics-test-token-0123456789";

fn with_metrics_token(database_url: &str) -> Settings {
    let mut settings = test_settings(database_url);
    settings.metrics = MetricsSettings::resolve(Some(TOKEN), None).expect("metrics settings");
    settings
}

impl TestApp {
    async fn scrape(&self) -> String {
        let response = self
            .client
            .get(self.url("/metrics"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.expect("text")
    }
}

/// The value of the series `name` whose labels include every one of `labels`
/// (summed over the other labels); 0 when absent.
fn value_of(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|line| {
            labels
                .iter()
                .all(|(k, v)| line.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn metrics_are_scraped_with_the_token(backend: Backend) {
    let app = TestApp::spawn_with_settings(backend, with_metrics_token).await;

    // Refused without the token, and with a wrong one.
    let anonymous = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let wrong = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(!wrong.text().await.unwrap().contains("payhub_"));

    let before = app.scrape().await;
    let healthz = [
        ("route", "/healthz"),
        ("status", "200"),
        ("dialect", "other"),
    ];
    for _ in 0..3 {
        let response = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    // A path only this test asks for: counted as "unmatched", its text never a label.
    let unmatched = app
        .client
        .get(app.url("/metrics-test/4111111111111111?x=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(unmatched.status(), StatusCode::NOT_FOUND);
    let start = [
        ("gateway", "WXPAY"),
        ("operation", "start"),
        ("outcome", "ok"),
    ];
    app.create_sale(sale("WXPAY", "metrics-1", 100)).await;
    let after = app.scrape().await;

    let requests = "payhub_http_requests_total";
    assert!(
        value_of(&after, requests, &healthz) >= value_of(&before, requests, &healthz) + 3.0,
        "{after}"
    );
    let latency = "payhub_http_request_duration_seconds_count";
    let healthz_route = [("route", "/healthz")];
    assert!(
        value_of(&after, latency, &healthz_route)
            >= value_of(&before, latency, &healthz_route) + 3.0,
        "{after}"
    );
    assert!(
        value_of(
            &after,
            requests,
            &[("route", "unmatched"), ("status", "404")]
        ) >= 1.0
    );
    assert!(
        !after.contains("4111111111111111") && !after.contains("metrics-test"),
        "{after}"
    );
    assert!(
        value_of(
            &after,
            requests,
            &[("dialect", "retail"), ("status", "200")]
        ) >= 1.0
    );

    let calls = "payhub_gateway_calls_total";
    assert!(
        value_of(&after, calls, &start) >= value_of(&before, calls, &start) + 1.0,
        "{after}"
    );
    assert!(
        value_of(
            &after,
            "payhub_gateway_call_duration_seconds_count",
            &start[..2]
        ) >= 1.0
    );

    // A TMF676 payment (captured as recorded) is counted by its origin once
    // its event is fanned out.
    let outcome = [
        ("origin", "tmf676"),
        ("resource", "payment"),
        ("status", "captured"),
    ];
    let outcomes = "payhub_ledger_outcomes_total";
    let counted_before = value_of(&after, outcomes, &outcome);
    app.create_payment(&crate::helpers::kit_payment()).await;
    let mut counted = counted_before;
    for _ in 0..100 {
        counted = value_of(&app.scrape().await, outcomes, &outcome);
        if counted > counted_before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        counted >= counted_before + 1.0,
        "{outcomes} did not count the payment"
    );

    // The payment's write went through group commit, and on SQLite through
    // the committer's turn to write, each timed.
    let written = app.scrape().await;
    let waits = "payhub_group_commit_wait_seconds_count";
    assert!(
        value_of(&written, waits, &[]) >= value_of(&after, waits, &[]) + 1.0,
        "{written}"
    );
    if backend == Backend::Sqlite {
        let committer = [("writer", "group_commit")];
        for held in [
            "payhub_sqlite_write_hold_seconds_count",
            "payhub_sqlite_write_wait_seconds_count",
        ] {
            assert!(
                value_of(&written, held, &committer) >= value_of(&after, held, &committer) + 1.0,
                "{held}: {written}"
            );
        }
    }

    // The database gauges are there (their values are whatever the last scrape saw).
    for gauge in [
        "payhub_outbox_backlog ",
        "payhub_outbox_oldest_age_seconds ",
        "payhub_db_pool_connections ",
        "payhub_unknown_outcomes{",
    ] {
        assert!(after.contains(gauge), "{gauge} missing: {after}");
    }
}

/// Without a token or a listen address, `/metrics` is like any unknown path.
async fn metrics_are_absent_unless_configured(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_scraped_with_the_token_sqlite() {
    metrics_are_scraped_with_the_token(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_scraped_with_the_token_postgres() {
    metrics_are_scraped_with_the_token(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_absent_unless_configured_sqlite() {
    metrics_are_absent_unless_configured(Backend::Sqlite).await;
}

fn with_metrics_listener(database_url: &str) -> Settings {
    let mut settings = test_settings(database_url);
    settings.metrics =
        MetricsSettings::resolve(None, Some("127.0.0.1:0")).expect("metrics settings");
    settings
}

/// `PAYHUB_METRICS_LISTEN`: `/metrics` on its own address without a token,
/// and still absent from the API listener.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_on_their_own_listener() {
    let db = crate::helpers::TestDb::create(Backend::Sqlite).await;
    let app = payhub_server::app::Application::build(with_metrics_listener(db.url()))
        .await
        .expect("payhub starts");
    let (api_port, metrics_port) = (app.port(), app.metrics_port().expect("metrics listener"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();

    let scraped = client
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(scraped
        .text()
        .await
        .unwrap()
        .contains("payhub_outbox_backlog "));
    let on_api = client
        .get(format!("http://127.0.0.1:{api_port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(on_api.status(), StatusCode::NOT_FOUND);

    let _ = stop.send(());
    let _ = server.await;
}
