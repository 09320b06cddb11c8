//! The webhook verifiers in `examples/webhook-verify/` (Python, Node, Go),
//! run on a hub notification payhub really sent: each accepts it, and
//! refuses it with one byte of the body changed, under another secret, and
//! when its timestamp is older than their 5-minute tolerance.
//! `scripts/test` installs Node and Go when they are missing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::Utc;
use serde_json::json;

use crate::helpers::{kit_payment, Backend, Listener, Received, TestApp};

/// A delivery as a verifier sees it.
struct Delivery {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
}

impl Delivery {
    fn of(received: &Received) -> Delivery {
        let header = |name: &str| received.headers[name].to_str().unwrap().to_owned();
        Delivery {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            body: received.raw.clone().into_bytes(),
        }
    }
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/webhook-verify")
}

/// The command that runs one verifier with `secret`.
fn verifier(language: &str, secret: &str) -> Command {
    let dir = examples();
    let mut command = match language {
        "python" => {
            let mut c = Command::new("python3");
            c.arg(dir.join("verify.py"));
            c
        }
        "node" => {
            let mut c = Command::new("node");
            c.arg(dir.join("verify.mjs"));
            c
        }
        "go" => {
            let mut c = Command::new("go");
            c.arg("run").arg(dir.join("verify.go"));
            c
        }
        other => panic!("no verifier for {other}"),
    };
    command.arg(secret);
    command
}

/// Whether `language`'s verifier accepts `delivery` under `secret`.
fn accepts(language: &str, secret: &str, delivery: &Delivery) -> bool {
    let mut child = verifier(language, secret)
        .env("WEBHOOK_ID", &delivery.id)
        .env("WEBHOOK_TIMESTAMP", &delivery.timestamp)
        .env("WEBHOOK_SIGNATURE", &delivery.signature)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run the {language} verifier ({e}); scripts/test installs Node and Go")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&delivery.body)
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let printed = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(
        printed == "valid" || printed == "invalid",
        "{language} verifier printed {printed:?}; stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        output.status.success(),
        printed == "valid",
        "{language}: exit code and verdict agree"
    );
    printed == "valid"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_verifiers_accept_payhubs_signature_and_nothing_else() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let listener = Listener::start().await;
    let response = app.post("/hub", &json!({"callback": listener.url})).await;
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    app.post("/payment", &kit_payment()).await;
    listener
        .wait_until("a hub notification", |got| !got.is_empty())
        .await;
    let received = listener.received_all().remove(0);
    let secret = app.merchant.webhook_secret.clone();
    assert!(received.signature_verifies(&secret), "payhub signed it");

    let sent = Delivery::of(&received);
    let mut altered = Delivery::of(&received);
    let last = altered.body.len() - 2;
    altered.body[last] ^= 0x01;
    let other_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    // Signed correctly, but 10 minutes ago: a replay.
    let stale_time = Utc::now().timestamp() - 600;
    let stale_signed =
        payhub_app::webhook_signing::sign(&secret, &sent.id, stale_time, &sent.body).unwrap();
    let stale = Delivery {
        id: stale_signed.id,
        timestamp: stale_signed.timestamp,
        signature: stale_signed.signature,
        body: sent.body.clone(),
    };

    for language in ["python", "node", "go"] {
        assert!(
            accepts(language, &secret, &sent),
            "{language} accepts what payhub sent"
        );
        assert!(
            !accepts(language, &secret, &altered),
            "{language} refuses an altered body"
        );
        assert!(
            !accepts(language, other_secret, &sent),
            "{language} refuses another secret"
        );
        assert!(
            !accepts(language, &secret, &stale),
            "{language} refuses a stale timestamp"
        );
    }
}
