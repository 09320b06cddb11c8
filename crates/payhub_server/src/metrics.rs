//! Prometheus metrics at `/metrics`: every series is listed in docs/METRICS.md.
//!
//! Counters and histograms are recorded where things happen (the access log
//! middleware, the gateway call wrapper, the delivery worker, the SQLite
//! write lock) through the `metrics` facade; gauges that live in the database
//! (outbox backlog, unknown outcomes, pool use) are read at each scrape with
//! indexed counts. The recorder is process-wide and installed once, so the
//! many apps a test binary starts share it.
//!
//! `/metrics` is closed unless configured: with `PAYHUB_METRICS_TOKEN` it
//! answers on the API listener to `Authorization: Bearer <token>`; with
//! `PAYHUB_METRICS_LISTEN` it answers without a token on that address only
//! (meant for a private network). Without either it is a 404 like any
//! unknown path.

use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::state::AppState;
use payhub_app::gateways::GatewayKind;

use crate::config::MetricsSettings;

/// Latency buckets in seconds: 1 ms to 30 s, enough for requests, gateway
/// calls and SQLite queueing alike.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder (once) and returns its renderer;
/// `None` if another recorder was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .as_ref()
}

/// The dialect a route belongs to, from its prefix.
pub fn dialect_of(route: &str) -> &'static str {
    const PREFIXES: &[(&str, &str)] = &[
        ("/tmf-api/", "tmf676"),
        ("/tt-pms-ws/", "retail"),
        ("/v1/deliveries", "retail"),
        ("/aps/", "aps"),
        ("/pgw/", "telco"),
        ("/pay/", "page"),
        ("/consent/", "page"),
        ("/gateways/", "gateway"),
        ("/sandbox/", "sandbox"),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| route.starts_with(prefix))
        .map_or("other", |(_, dialect)| dialect)
}

/// One finished HTTP request (called by the access log middleware).
pub fn record_request(method: &str, route: &str, status: u16, latency: Duration) {
    let dialect = dialect_of(route);
    metrics::counter!("payhub_http_requests_total",
        "dialect" => dialect, "method" => method.to_owned(),
        "route" => route.to_owned(), "status" => status.to_string())
    .increment(1);
    metrics::histogram!("payhub_http_request_duration_seconds",
        "dialect" => dialect, "route" => route.to_owned())
    .record(latency.as_secs_f64());
}

/// `/metrics` on the API listener, behind the bearer token; absent without one.
pub fn router(settings: &MetricsSettings) -> Router<AppState> {
    match settings.token {
        Some(_) => Router::new().route("/metrics", get(scrape_with_token)),
        None => Router::new(),
    }
}

/// `/metrics` alone, for the separate listener (no token).
pub fn listener_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

async fn scrape_with_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = &state.settings.metrics.token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !bearer_matches(&headers, token.expose_secret()) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a metrics token is required\n",
        )
            .into_response();
    }
    scrape(State(state)).await
}

fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or("");
    !presented.is_empty() && bool::from(presented.as_bytes().ct_eq(token.as_bytes()))
}

async fn scrape(State(state): State<AppState>) -> Response {
    let Some(handle) = install() else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    refresh_gauges(&state).await;
    handle.run_upkeep();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}

/// Sets the database gauges; on a database error they keep their last value
/// and the error is logged (the scrape still answers).
async fn refresh_gauges(state: &AppState) {
    let gauges = match state.store.read_gauges().await {
        Ok(gauges) => gauges,
        Err(error) => {
            tracing::warn!(error.cause_chain = ?error, "metrics: database gauges not read");
            return;
        }
    };
    metrics::gauge!("payhub_outbox_backlog").set(as_f64(gauges.outbox_backlog));
    let oldest_age = gauges.outbox_oldest_micros.map_or(0.0, |oldest| {
        as_f64(Utc::now().timestamp_micros().saturating_sub(oldest).max(0)) / 1e6
    });
    metrics::gauge!("payhub_outbox_oldest_age_seconds").set(oldest_age);
    set_unknown("payment", &gauges.unknown_payments);
    set_unknown("refund", &gauges.unknown_refunds);
    metrics::gauge!("payhub_db_pool_connections").set(f64::from(gauges.pool_size));
    metrics::gauge!("payhub_db_pool_idle_connections")
        .set(as_f64(i64::try_from(gauges.pool_idle).unwrap_or(i64::MAX)));
}

/// Every gateway gets a value, so a count that fell to zero shows zero.
fn set_unknown(kind: &'static str, counts: &[(String, i64)]) {
    for gateway in GatewayKind::ALL {
        let count = counts
            .iter()
            .find(|(code, _)| code == gateway.code())
            .map_or(0, |(_, n)| *n);
        metrics::gauge!("payhub_unknown_outcomes", "kind" => kind, "gateway" => gateway.code())
            .set(as_f64(count));
    }
}

/// Counts far below 2^53 convert exactly; a gauge is a float by definition.
fn as_f64(count: i64) -> f64 {
    #[expect(
        clippy::as_conversions,
        reason = "gauge values are floats; counts are small"
    )]
    let value = count as f64;
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialects_come_from_the_route_prefix() {
        let table = [
            ("/tmf-api/paymentManagement/v4/payment/{id}", "tmf676"),
            ("/tt-pms-ws/rest/online/payments", "retail"),
            ("/aps/2/resources/{aps_id}/payment", "aps"),
            ("/healthz", "other"),
            ("unmatched", "other"),
        ];
        for (route, dialect) in table {
            assert_eq!(dialect_of(route), dialect, "{route}");
        }
    }

    #[test]
    fn only_the_exact_bearer_token_opens_metrics() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            if let Ok(value) = value.parse() {
                headers.insert(header::AUTHORIZATION, value);
            }
            headers
        };
        assert!(bearer_matches(&with("Bearer s3cret"), "s3cret"));
        assert!(!bearer_matches(&with("Bearer s3cre"), "s3cret"));
        assert!(!bearer_matches(&with("s3cret"), "s3cret"));
        assert!(!bearer_matches(&HeaderMap::new(), "s3cret"));
    }
}
