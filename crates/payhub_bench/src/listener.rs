//! The one listener the write cases fan out to: a hub subscriber on
//! 127.0.0.1 that takes every notification payhub posts (answering `201`,
//! as a TMF listener does) and counts them, so "drained" means delivered to
//! a listener, not only dispatched.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;

/// A running listener and how many notifications it has taken.
pub struct Listener {
    /// The callback URL to subscribe.
    pub url: String,
    received: Arc<AtomicU64>,
}

impl Listener {
    pub async fn start() -> anyhow::Result<Listener> {
        let received = Arc::new(AtomicU64::new(0));
        let app = Router::new()
            .route("/listener", post(take))
            .with_state(received.clone());
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/listener", socket.local_addr()?);
        tokio::spawn(async move {
            let _ = axum::serve(socket, app).await;
        });
        Ok(Listener { url, received })
    }

    /// Notifications taken so far.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Subscribes the listener to every event of the benchmark's merchant
    /// (TMF676 `POST /hub`).
    pub async fn subscribe(
        &self,
        client: &reqwest::Client,
        hub_url: &str,
        api_key: &str,
    ) -> anyhow::Result<()> {
        let response = client
            .post(hub_url)
            .bearer_auth(api_key)
            .json(&serde_json::json!({"callback": self.url}))
            .send()
            .await
            .context("subscribing the listener")?;
        anyhow::ensure!(
            response.status().is_success(),
            "the hub refused the listener: {} {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
        Ok(())
    }
}

async fn take(State(received): State<Arc<AtomicU64>>, _body: axum::body::Bytes) -> StatusCode {
    received.fetch_add(1, Ordering::Relaxed);
    StatusCode::CREATED
}
