//! The command line: `payhub serve | migrate | merchant create | merchant list`.
//!
//! These spellings are a contract that scripts rely on; see README.md.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;

use crate::app::Application;
use crate::config::{Settings, SettingsInput};
use crate::demo;
use crate::merchants;

/// payhub: one ledger of payments and refunds behind several payment API dialects.
#[derive(Parser, Debug)]
#[command(name = "payhub", version, about)]
pub struct Cli {
    /// TOML config file; `./payhub.toml` is read when present and this is not given.
    #[arg(long, env = "PAYHUB_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start the server (creates and migrates the database if needed).
    Serve(#[command(flatten)] SettingsInput),
    /// Apply pending database migrations, then exit.
    Migrate(#[command(flatten)] SettingsInput),
    /// Administer merchants.
    #[command(subcommand)]
    Merchant(MerchantCommand),
}

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
        settings: SettingsInput,
    },
    /// List merchants (ids and names; keys are never shown again).
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        settings: SettingsInput,
    },
}

fn settings(config: Option<&Path>, input: SettingsInput) -> anyhow::Result<Settings> {
    let default_file = Path::new("payhub.toml");
    let file = match config {
        Some(path) => SettingsInput::from_file(path)?,
        None if default_file.exists() => SettingsInput::from_file(default_file)?,
        None => SettingsInput::default(),
    };
    Ok(input.over(file).resolve()?)
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config.as_deref();
    match cli.command {
        Command::Serve(input) => serve(settings(config, input)?).await,
        Command::Migrate(input) => {
            let settings = settings(config, input)?;
            let store = payhub_store::connect(&settings.database_url, 1).await?;
            println!(
                "database at {} is up to date ({})",
                payhub_store::redact_url(&settings.database_url),
                store.backend_name()
            );
            Ok(())
        }
        Command::Merchant(MerchantCommand::Create {
            name,
            json,
            settings: input,
        }) => {
            let settings = settings(config, input)?;
            let store = payhub_store::connect(&settings.database_url, 1).await?;
            let created = merchants::create_merchant(store.as_ref(), &name).await?;
            if json {
                println!("{}", serde_json::to_string(&created.view())?);
            } else {
                println!("merchant {} ({name}) created", created.merchant.id);
                println!("API key (shown once): {}", created.api_key.expose_secret());
            }
            Ok(())
        }
        Command::Merchant(MerchantCommand::List {
            json,
            settings: input,
        }) => {
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

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings.clone()).await?;
    let store = app.state().store;
    let demo = demo::ensure_demo_merchant(store.as_ref(), &settings.data_dir).await?;
    demo::print_banner(&settings, store.backend_name(), demo.as_ref());
    tracing::info!(listen = %settings.listen, database = store.backend_name(), "payhub started");
    app.run_until_stopped(shutdown_signal()).await?;
    tracing::info!("payhub stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
