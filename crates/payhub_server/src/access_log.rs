//! The access log: one INFO line per finished request.
//!
//! The line names the route *template* (`/tmf-api/paymentManagement/v4/payment/{id}`),
//! never the raw path, so ids stay out of it, and carries no query string, body
//! or header value: what a client sends may hold a card number, a code or a
//! key (docs/LOGGING.md). The request id and, once authentication has run,
//! `merchant.id` come from the enclosing `http` span.
//!
//! The same place feeds the HTTP series of [`crate::metrics`], so a request is
//! timed once for both.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// The route label of a request no route matched (a 404 from the fallback):
/// the raw path could be anything a client typed.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Logs (and counts) each request once its response head is ready.
pub async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let response = next.run(request).await;
    let latency = started.elapsed();
    let route = route.as_ref().map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
    let status = response.status().as_u16();
    emit(method.as_str(), route, status, latency, &request_id);
    crate::metrics::record_request(method.as_str(), route, status, latency);
    response
}

/// The line itself, apart so that its fields are listed in one place.
fn emit(method: &str, route: &str, status: u16, latency: Duration, request_id: &str) {
    tracing::info!(
        http.method = method,
        http.route = route,
        http.status = status,
        latency_ms = latency_ms(latency),
        request_id = request_id,
        "request finished"
    );
}

/// Milliseconds with microsecond precision, for a field a person reads.
fn latency_ms(latency: Duration) -> f64 {
    latency.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// Collects everything written by the fmt layer of a test subscriber.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut buffer) = self.0.lock() {
                buffer.extend_from_slice(bytes);
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            self.0
                .lock()
                .map(|buffer| String::from_utf8_lossy(&buffer).into_owned())
                .unwrap_or_default()
        }
    }

    async fn logged_lines_for(uri: &str) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_writer(move || writer.clone()),
        );
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = Router::new()
            .route("/v1/payments/{id}", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn(log_request));
        let request = Request::builder()
            .uri(uri)
            .header("x-request-id", "00000000000000aa")
            .header("authorization", "Bearer sk_secret_value")
            .body(Body::empty())
            .unwrap_or_default();
        let _ = app.oneshot(request).await;
        captured.text()
    }

    /// Goal: one line per request with the route template, status and
    /// request id, and nothing of the raw path, the query or the headers.
    #[tokio::test]
    async fn access_line_names_the_route_template_not_the_path_or_query() {
        let text =
            logged_lines_for("/v1/payments/4111111111111111?cardNumber=4242424242424242").await;
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("payhub_server::access_log"))
            .collect();
        assert_eq!(lines.len(), 1, "one access line: {text}");
        let line: serde_json::Value = serde_json::from_str(lines[0]).unwrap_or_default();
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["http.route"], "/v1/payments/{id}");
        assert_eq!(line["http.method"], "GET");
        assert_eq!(line["http.status"], 200);
        assert_eq!(line["request_id"], "00000000000000aa");
        assert!(line["latency_ms"].is_number(), "{line}");
        for secret in [
            "4111111111111111",
            "4242424242424242",
            "cardNumber",
            "sk_secret_value",
        ] {
            assert!(!text.contains(secret), "{secret} logged: {text}");
        }
    }

    #[tokio::test]
    async fn an_unmatched_path_is_logged_without_the_path() {
        let text = logged_lines_for("/no/such/4111111111111111").await;
        assert!(text.contains(r#""http.route":"unmatched""#), "{text}");
        assert!(text.contains(r#""http.status":404"#), "{text}");
        assert!(!text.contains("4111111111111111"), "{text}");
    }
}
