//! Issue 9, item 14: slow or silent clients cannot hold connections open.
//!
//! Method: open a raw TCP connection, send half a request head (or nothing),
//! and wait for the server to close it. The settings make the limit under
//! test short and the other one an hour, so only the limit under test can
//! close the connection; the outer bound only stops a failing test.

use std::time::Duration;

use payhub_server::config::Settings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{test_settings, Backend, TestApp};

/// How long the test waits for the close before declaring it never came.
const GIVE_UP: Duration = Duration::from_secs(20);
const HOUR: Duration = Duration::from_secs(3600);

fn short_header_read_timeout(url: &str) -> Settings {
    let mut settings = test_settings(url);
    settings.header_read_timeout = Duration::from_millis(300);
    settings.idle_timeout = HOUR;
    settings
}

fn short_idle_timeout(url: &str) -> Settings {
    let mut settings = test_settings(url);
    settings.header_read_timeout = HOUR;
    settings.idle_timeout = Duration::from_millis(300);
    settings
}

/// Reads until the server closes the connection; false if it never does.
async fn server_closes(mut stream: TcpStream) -> bool {
    let mut sink = Vec::new();
    tokio::time::timeout(GIVE_UP, stream.read_to_end(&mut sink))
        .await
        .is_ok()
}

#[tokio::test]
async fn a_request_head_that_never_ends_is_closed_after_the_header_read_timeout() {
    let app = TestApp::spawn_with_settings(Backend::Sqlite, short_header_read_timeout).await;
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: payhub.test\r\nX-Slow: ")
        .await
        .unwrap();
    assert!(server_closes(stream).await, "the connection stayed open");
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_idle_timeout() {
    let app = TestApp::spawn_with_settings(Backend::Sqlite, short_idle_timeout).await;
    let stream = TcpStream::connect(app.address).await.unwrap();
    assert!(server_closes(stream).await, "the connection stayed open");
}

#[tokio::test]
async fn a_kept_alive_connection_serves_requests_then_closes_when_idle() {
    let app = TestApp::spawn_with_settings(Backend::Sqlite, short_idle_timeout).await;
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: payhub.test\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 12];
    stream.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    assert!(
        server_closes(stream).await,
        "the idle connection stayed open"
    );
}
