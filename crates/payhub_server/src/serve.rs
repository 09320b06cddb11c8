//! The HTTP server loop: the router behind hyper, with the connection time
//! limits that `axum::serve` cannot set.
//!
//! Without them a client that opens connections and sends nothing, or half a
//! request head, holds a socket and a task for ever; enough of them exhaust
//! the server for every merchant. Two limits close such connections:
//!
//! - the **header-read timeout** (hyper's own): an HTTP/1 request head must
//!   arrive in full within it, counted from when payhub starts waiting for it
//!   (so it also ends an HTTP/1 keep-alive connection that sends nothing);
//! - the **idle timeout**: a connection with no request in progress for that
//!   long is shut down gracefully. It also covers what hyper's timer does not:
//!   a fresh connection that has not yet sent enough bytes to tell HTTP/1
//!   from HTTP/2, and idle HTTP/2 connections.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::{Service, ServiceExt};

/// How long connections may take or sit idle (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// The longest an HTTP/1 request head may take to arrive.
    pub header_read_timeout: Duration,
    /// The longest a connection may stay open with no request in progress.
    pub idle_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting,
/// lets every open connection finish its requests and returns.
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_connection(stream, peer, app.clone(), limits, stopping.clone()));
                }
                // Out of file descriptors and the like: wait a little, as axum::serve does.
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Serves one connection until it ends, is idle too long, or the server stops.
async fn serve_connection<S>(
    stream: TcpStream,
    peer: SocketAddr,
    app: S,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<bool>,
) where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let service = {
        let activity = Arc::clone(&activity);
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let busy = activity.begin();
            let app = app.clone();
            async move {
                let mut request = request.map(Body::new);
                // The peer, as `axum::serve` gives it (the rate limits key on it).
                request.extensions_mut().insert(ConnectInfo(peer));
                let response = app.oneshot(request).await;
                drop(busy);
                response
            }
        })
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let mut closing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended");
                }
                return;
            }
            _ = stopping.changed(), if !closing => {
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
            () = activity.idle_for(limits.idle_timeout), if !closing => {
                tracing::debug!("closing an idle connection");
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Whether a connection has a request in progress, and since when it has not.
struct Activity {
    in_progress: AtomicUsize,
    last_request_end: Mutex<Instant>,
}

/// Marks a request as in progress while it lives.
struct Busy(Arc<Activity>);

impl Activity {
    fn new() -> Self {
        Self {
            in_progress: AtomicUsize::new(0),
            last_request_end: Mutex::new(Instant::now()),
        }
    }

    fn begin(self: &Arc<Self>) -> Busy {
        self.in_progress.fetch_add(1, Ordering::SeqCst);
        Busy(Arc::clone(self))
    }

    fn idle_since(&self) -> Instant {
        *self
            .last_request_end
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Resolves once no request has been in progress for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let deadline = self.idle_since() + limit;
            tokio::time::sleep_until(deadline).await;
            let busy = self.in_progress.load(Ordering::SeqCst) > 0;
            if !busy && self.idle_since() + limit <= Instant::now() {
                return;
            }
            if busy {
                // Look again one limit later; the end of the request moves the deadline.
                tokio::time::sleep(limit).await;
            }
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        *self
            .0
            .last_request_end
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
        self.0.in_progress.fetch_sub(1, Ordering::SeqCst);
    }
}
