//! The command line: `payhub serve | migrate | merchant create | list | show |
//! gateways | deliveries list | resend | aps account-create | credit | show |
//! connector add | list | show | rotate | disable | enable`.
//!
//! These spellings are a contract that scripts rely on; see README.md.
//! `payhub operator create | list` lives in [`crate::console::operators`].

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::config::{DataInput, Settings, SettingsInput};
use payhub_core::MerchantId;
use payhub_store::{Merchant, Store};

mod aps;
mod connector;
mod deliveries;
mod merchant;
mod migrate;
mod serve;
mod telco;

pub use aps::ApsCommand;
pub use connector::ConnectorCommand;
pub use deliveries::DeliveriesCommand;
pub use merchant::MerchantCommand;
pub use telco::TelcoCommand;

/// payhub: one ledger of payments and refunds for web shops, apps, tills and
/// partner services, reached through TMF676 Payment Management, a retail
/// online-payment API, a telco payment service and APS PaymentManagement.
///
/// Start it with `payhub serve` (SQLite in ./payhub-data, no setup); the other
/// commands administer merchants, accounts, catalogues and deliveries over
/// the same database. Every option is also a PAYHUB_… environment variable
/// and a key of the --config file.
#[derive(Parser, Debug)]
#[command(name = "payhub", version)]
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
    Serve(#[command(flatten)] Box<SettingsInput>),
    /// Apply pending database migrations, then exit.
    Migrate(#[command(flatten)] DataInput),
    /// Administer merchants.
    #[command(subcommand)]
    Merchant(MerchantCommand),
    /// Inspect and resend webhook and hub deliveries.
    #[command(subcommand)]
    Deliveries(DeliveriesCommand),
    /// Administer the telco payment service: catalogues and callback URLs.
    #[command(subcommand)]
    Telco(TelcoCommand),
    /// Administer APS accounts: credit and stored payment methods.
    #[command(subcommand)]
    Aps(ApsCommand),
    /// Administer merchants' connector accounts: which gateway integration
    /// serves which type (docs/GATEWAYS.md).
    #[command(subcommand)]
    Connector(ConnectorCommand),
    /// Administer operator accounts of the web console (docs/CONSOLE.md).
    #[command(subcommand)]
    Operator(crate::console::operators::OperatorCommand),
}

/// A command's settings: its flags and environment over the config file
/// (`--config`, else `./payhub.toml` when present), then resolved.
fn settings(config: Option<&Path>, input: impl Into<SettingsInput>) -> anyhow::Result<Settings> {
    let default_file = Path::new("payhub.toml");
    let file = match config {
        Some(path) => SettingsInput::from_file(path)?,
        None if default_file.exists() => SettingsInput::from_file(default_file)?,
        None => SettingsInput::default(),
    };
    Ok(input.into().over(file).resolve()?)
}

/// The error and its causes on one line, each said once: a cause whose text
/// its parent already quotes (as sqlx's and the store's errors do) is left
/// out, so a missing database is not reported three times.
pub fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config.as_deref();
    match cli.command {
        Command::Serve(input) => serve::serve(settings(config, *input)?).await,
        Command::Operator(command) => {
            crate::console::operators::run(command, |input| settings(config, input)).await
        }
        Command::Migrate(input) => migrate::run(settings(config, input)?).await,
        Command::Merchant(command) => merchant::run(config, command).await,
        Command::Deliveries(command) => deliveries::run(config, command).await,
        Command::Telco(command) => telco::run(config, command).await,
        Command::Aps(command) => aps::run(config, command).await,
        Command::Connector(command) => connector::run(config, command).await,
    }
}

/// The merchant a command names, or an error saying why there is none.
async fn find_merchant(store: &dyn Store, id: &str) -> anyhow::Result<Merchant> {
    let parsed = MerchantId::parse(id)
        .ok_or_else(|| anyhow::anyhow!("'{id}' is not a merchant id (mer_…)"))?;
    store
        .find_merchant(&parsed)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no merchant {id}"))
}
