//! A payhub process under test: started from the release binary on a fresh
//! database, observed through `/proc` (peak resident memory, CPU time).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Deserialize;

/// The release `payhub` binary, next to this benchmark's own executable.
pub fn payhub_binary() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let path = me.with_file_name("payhub");
    if !path.exists() {
        bail!(
            "{} not found: build it first with `cargo build --release --workspace`",
            path.display()
        );
    }
    Ok(path)
}

/// Credentials printed by `payhub merchant create --json`.
#[derive(Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Merchant {
    pub merchant_id: String,
    pub api_key: String,
}

/// Creates a merchant (and migrates the database) with the CLI, as an operator would.
pub fn create_merchant(
    binary: &Path,
    database_url: &str,
    data_dir: &Path,
) -> anyhow::Result<Merchant> {
    let output = Command::new(binary)
        .args([
            "merchant",
            "create",
            "bench",
            "--json",
            "--database-url",
            database_url,
            "--data-dir",
        ])
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .output()
        .context("running payhub merchant create")?;
    if !output.status.success() {
        bail!(
            "payhub merchant create failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// A running payhub.
pub struct Server {
    child: Child,
    pub base_url: String,
    /// From spawning the process to `/readyz` answering 200.
    pub startup: Duration,
}

/// CPU seconds (user + system) and peak resident memory of a process so far.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    pub cpu_s: f64,
    pub peak_rss_mb: f64,
}

impl Server {
    pub async fn start(
        binary: &Path,
        database_url: &str,
        data_dir: &Path,
        port: u16,
    ) -> anyhow::Result<Server> {
        let base_url = format!("http://127.0.0.1:{port}");
        let began = Instant::now();
        let child = Command::new(binary)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                database_url,
                "--data-dir",
            ])
            .arg(data_dir)
            .env("RUST_LOG", "warn")
            .env("PAYHUB_DB_MAX_CONNECTIONS", "16")
            // The benchmark measures payhub, not its rate limits: both off.
            .env("PAYHUB_RATE_LIMIT_ADDRESS_PER_S", "0")
            .env("PAYHUB_RATE_LIMIT_MERCHANT_PER_S", "0")
            // The write cases' listener runs on 127.0.0.1 (crate::listener).
            .env("PAYHUB_ALLOWED_CALLBACK_NETS", "127.0.0.1/32")
            // As the shipped Dockerfile and systemd unit run payhub
            // (docs/PERFORMANCE.md, "Memory").
            .env("MALLOC_ARENA_MAX", "2")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting payhub serve")?;
        let client = reqwest::Client::new();
        let mut server = Server {
            child,
            base_url,
            startup: Duration::ZERO,
        };
        for _ in 0..1000 {
            let ready = client
                .get(format!("{}/readyz", server.base_url))
                .send()
                .await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                server.startup = began.elapsed();
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                bail!("payhub exited during start-up: {status}");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        bail!("payhub did not become ready within 5 s")
    }

    pub fn usage(&self) -> Usage {
        process_usage(self.child.id()).unwrap_or_default()
    }

    pub fn stop(mut self) -> anyhow::Result<()> {
        // SIGTERM lets payhub finish in-flight work; then wait for it.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn process_usage(pid: u32) -> Option<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let hwm_kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(Usage {
        cpu_s: ticks / clock_ticks_per_second(),
        peak_rss_mb: hwm_kb / 1024.0,
    })
}
