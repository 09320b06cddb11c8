//! `payhub merchant create | show | gateways | list`.

use std::path::Path;

use clap::Subcommand;
use secrecy::ExposeSecret;

use super::{find_merchant, settings};
use crate::config::DataInput;
use crate::merchants;
use crate::merchants::{MODE_SHA1, MODE_SHA256};
use payhub_app::secrets::{check_cluster_master_key, MasterKey};

/// Merchant administration.
#[derive(Subcommand, Debug)]
pub enum MerchantCommand {
    /// Create a merchant and print its credentials (shown this once only).
    Create {
        /// The merchant's display name.
        name: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        settings: DataInput,
    },
    /// Show a merchant's retail apiKey and secret, webhook signing secret and gateways.
    Show {
        /// The merchant id (mer_…).
        id: String,
        #[command(flatten)]
        settings: DataInput,
    },
    /// Set which gateways a merchant may use, and its retail signature mode.
    Gateways {
        /// The merchant id (mer_…).
        id: String,
        /// Comma-separated gateway codes, e.g. WXPAY,FPSPAY,VMPAY.
        gateways: String,
        /// hmac-sha1 (the retail API's `sign`, default) or hmac-sha256 (covers the body).
        #[arg(long, default_value = "hmac-sha1")]
        signature: String,
        #[command(flatten)]
        settings: DataInput,
    },
    /// List merchants (ids and names; keys are never shown again).
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        settings: DataInput,
    },
}

/// Runs `payhub merchant …`.
pub(super) async fn run(config: Option<&Path>, command: MerchantCommand) -> anyhow::Result<()> {
    match command {
        MerchantCommand::Create {
            name,
            json,
            settings: input,
        } => {
            let settings = settings(config, input)?;
            let store = payhub_store::connect(&settings.database_url, 1).await?;
            let master_key =
                MasterKey::configured(settings.master_key.as_ref(), &settings.data_dir)?;
            check_cluster_master_key(store.as_ref(), &master_key).await?;
            let created = merchants::create_merchant(store.as_ref(), &name).await?;
            let view = created.view(&master_key);
            if json {
                println!("{}", serde_json::to_string(&view)?);
            } else {
                println!("merchant {} ({name}) created", created.merchant.id);
                println!("API key (shown once): {}", created.api_key.expose_secret());
                println!(
                    "retail apiKey: {}  secret: {}",
                    view.retail.api_key, view.retail.secret
                );
                println!("webhook signing secret: {}", view.webhook_secret);
            }
            Ok(())
        }
        MerchantCommand::Show {
            id,
            settings: input,
        } => {
            let settings = settings(config, input)?;
            let store = payhub_store::connect(&settings.database_url, 1).await?;
            let master_key =
                MasterKey::configured(settings.master_key.as_ref(), &settings.data_dir)?;
            check_cluster_master_key(store.as_ref(), &master_key).await?;
            let merchant = find_merchant(store.as_ref(), &id).await?;
            let retail = merchants::retail_credentials(&merchant, &master_key);
            println!("merchant {} ({})", merchant.id, merchant.name);
            println!(
                "retail apiKey: {}  secret: {}  signature: {}",
                retail.api_key, retail.secret, merchant.retail_signature
            );
            println!(
                "webhook signing secret: {}",
                master_key
                    .webhook_secret(merchant.id.as_str())
                    .expose_secret()
            );
            println!("gateways: {}", merchant.gateways.join(","));
            Ok(())
        }
        MerchantCommand::Gateways {
            id,
            gateways,
            signature,
            settings: input,
        } => {
            let settings = settings(config, input)?;
            let store = payhub_store::connect(&settings.database_url, 1).await?;
            let merchant = find_merchant(store.as_ref(), &id).await?;
            let codes = merchants::parse_gateway_list(&gateways)?;
            if signature != MODE_SHA1 && signature != MODE_SHA256 {
                anyhow::bail!("--signature must be {MODE_SHA1} or {MODE_SHA256}");
            }
            store
                .update_merchant_gateways(&merchant.id, &codes, &signature)
                .await?;
            println!(
                "merchant {}: gateways {}, signature {signature}",
                merchant.id,
                codes.join(",")
            );
            Ok(())
        }
        MerchantCommand::List {
            json,
            settings: input,
        } => {
            let settings = settings(config, input)?;
            let store = payhub_store::connect(&settings.database_url, 1).await?;
            let list = store.list_merchants().await?;
            if json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|m| serde_json::json!({"merchantId": m.id.as_str(), "name": m.name, "createdAt": m.created_at}))
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                for m in list {
                    println!("{}\t{}\t{}", m.id, m.name, m.created_at.to_rfc3339());
                }
            }
            Ok(())
        }
    }
}
