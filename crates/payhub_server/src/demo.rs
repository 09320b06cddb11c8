//! The demo merchant that makes a fresh `payhub serve` usable at once.
//!
//! On a database with no merchant, `serve` creates one named `demo` and writes
//! its credentials to `DATA_DIR/demo-merchant.json` (readable by the owner
//! only). Its id and keys are derived from the master key, so every node of a
//! cluster creates and prints the same demo merchant, and every later start
//! prints them again. The database itself holds only the key's hash. Remove the file, or create real merchants with
//! `payhub merchant create`, for anything beyond a trial.

use std::path::{Path, PathBuf};

use payhub_store::{Store, StoreError};
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::merchants::{demo_merchant_credentials, hash_api_key};
use payhub_app::secrets::MasterKey;
use secrecy::ExposeSecret;

/// The demo merchant's credentials as read back and printed.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DemoCredentials {
    pub merchant_id: String,
    pub api_key: String,
    /// Derived secrets (written to the file beside the key, recomputed when read).
    #[serde(skip)]
    pub derived: Option<DerivedCredentials>,
}

/// The demo merchant's retail credentials and webhook secret.
#[derive(Clone, Debug)]
pub struct DerivedCredentials {
    pub retail_api_key: String,
    pub retail_secret: String,
    pub webhook_secret: String,
}

fn credentials_path(data_dir: &Path) -> PathBuf {
    data_dir.join("demo-merchant.json")
}

/// Returns the demo merchant's credentials, creating the merchant when the
/// database has none; `None` when other merchants exist and no demo merchant.
///
/// The demo merchant is derived from the master key (see
/// [`crate::merchants::demo_merchant_credentials`]), so its creation is
/// atomic across nodes: two nodes starting at once on an empty database both
/// try to insert the same row, one succeeds, the other finds its id taken,
/// and both print the same credentials; a node started later finds it too.
pub async fn ensure_demo_merchant(
    store: &dyn Store,
    data_dir: &Path,
    master_key: &MasterKey,
) -> anyhow::Result<Option<DemoCredentials>> {
    let path = credentials_path(data_dir);
    if let Some(saved) = saved_credentials(store, &path, master_key).await? {
        // Rewritten each start, so a file from before it held the retail
        // credentials gains them.
        write_credentials(&path, &saved)?;
        return Ok(Some(saved));
    }
    let demo = demo_merchant_credentials(master_key);
    if store.find_merchant(&demo.merchant.id).await?.is_none() {
        if store.list_merchants().await?.is_empty() {
            match store.insert_merchant(&demo.merchant).await {
                // Another node inserted the same merchant first: the same credentials.
                Ok(()) | Err(StoreError::IdCollision) => {}
                Err(error) => return Err(error.into()),
            }
        } else if store.find_merchant(&demo.merchant.id).await?.is_none() {
            // Merchants exist, and (asked again, since another node may have
            // created it since the first look) the demo merchant is not one.
            return Ok(None);
        }
    }
    let view = demo.view(master_key);
    let saved = DemoCredentials {
        merchant_id: view.merchant_id,
        api_key: view.api_key,
        derived: Some(derived(&demo.merchant, master_key)),
    };
    write_credentials(&path, &saved)?;
    Ok(Some(saved))
}

/// `demo-merchant.json`: every credential a trial needs, readable by the
/// owner only (the file holds the API key already; the others derive from
/// the master key beside it).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CredentialsFile<'a> {
    merchant_id: &'a str,
    api_key: &'a str,
    retail_api_key: Option<&'a str>,
    retail_secret: Option<&'a str>,
    webhook_secret: Option<&'a str>,
}

fn write_credentials(path: &Path, saved: &DemoCredentials) -> anyhow::Result<()> {
    let derived = saved.derived.as_ref();
    let file = CredentialsFile {
        merchant_id: &saved.merchant_id,
        api_key: &saved.api_key,
        retail_api_key: derived.map(|d| d.retail_api_key.as_str()),
        retail_secret: derived.map(|d| d.retail_secret.as_str()),
        webhook_secret: derived.map(|d| d.webhook_secret.as_str()),
    };
    payhub_app::secrets::write_private(path, &serde_json::to_string_pretty(&file)?)?;
    Ok(())
}

/// The credentials in `DATA_DIR/demo-merchant.json` when their merchant
/// still exists (a demo merchant created before they were derived included).
async fn saved_credentials(
    store: &dyn Store,
    path: &Path,
    master_key: &MasterKey,
) -> anyhow::Result<Option<DemoCredentials>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(None);
    };
    let Ok(mut saved) = serde_json::from_str::<DemoCredentials>(&text) else {
        return Ok(None);
    };
    let merchant = store
        .find_merchant_by_api_key_hash(&hash_api_key(&saved.api_key))
        .await?;
    Ok(merchant.map(|merchant| {
        saved.derived = Some(derived(&merchant, master_key));
        saved
    }))
}

fn derived(merchant: &payhub_store::Merchant, master_key: &MasterKey) -> DerivedCredentials {
    let retail = crate::merchants::retail_credentials(merchant, master_key);
    DerivedCredentials {
        retail_api_key: retail.api_key,
        retail_secret: retail.secret,
        webhook_secret: master_key
            .webhook_secret(merchant.id.as_str())
            .expose_secret()
            .to_owned(),
    }
}

/// Prints where payhub listens and how to call it (stdout, not the log);
/// `tmf_path` is where the TMF676 API lives (the composition root knows).
pub fn print_banner(
    settings: &Settings,
    backend: &str,
    tmf_path: &str,
    demo: Option<&DemoCredentials>,
) {
    let base = &settings.public_base_url;
    println!(
        "payhub listening on {} (database: {backend})",
        settings.listen
    );
    println!("  TMF676 Payment Management v4: {base}{tmf_path}/");
    println!("  health: {base}/healthz   readiness: {base}/readyz");
    match demo {
        Some(demo) => {
            println!("  demo merchant: {}", demo.merchant_id);
            println!("  demo API key:  {}", demo.api_key);
            println!("  try: curl -H 'Authorization: Bearer {}' {base}{tmf_path}/payment", demo.api_key);
            if let Some(derived) = &demo.derived {
                println!("  retail online API: {base}/tt-pms-ws/rest/online/  apiKey: {}  secret: {}", derived.retail_api_key, derived.retail_secret);
                println!("  webhook signing secret: {}", derived.webhook_secret);
            }
            println!("  APS PaymentManagement: {base}/aps/2/resources/APS_ID/payment (accounts: payhub aps account-create {} --currency USD)", demo.merchant_id);
            if settings.mode == crate::config::Mode::Sandbox {
                println!("  sandbox mode: settle simulated payments with POST {base}/sandbox/v1/payments/ID/outcome");
            }
        }
        None => println!("  merchants: see `payhub merchant list`; create one with `payhub merchant create NAME`"),
    }
}
