//! `payhub connector add | list | show | rotate | disable | enable`: a
//! merchant's connector accounts (docs/GATEWAYS.md).
//!
//! Credentials are given as `--credential NAME=VALUE`, `NAME=@FILE` (a key
//! file, read whole) or `NAME=env:VARIABLE`; the last two keep secrets out
//! of the shell's history and the process list. They are sealed with the
//! master key before they reach the database and are never printed: every
//! command shows an account with its credentials' last four characters only.

use std::collections::BTreeMap;
use std::path::Path;

use clap::{Args, Subcommand};
use payhub_app::gateways::admin::{self, NewAccount};
use payhub_app::gateways::connector_types;
use payhub_app::secrets::{check_cluster_master_key, MasterKey};
use payhub_store::{RoutingRules, Store};
use secrecy::SecretString;

use super::{find_merchant, settings};
use crate::config::{DataInput, Settings};

/// Connector accounts: which gateway integration serves a merchant's types.
#[derive(Subcommand, Debug)]
pub enum ConnectorCommand {
    /// Add a connector account to a merchant.
    Add(Box<AddArgs>),
    /// List connector accounts (a merchant's, or every merchant's), with
    /// their circuit breaker's state.
    List {
        /// Only this merchant's (mer_…).
        #[arg(long)]
        merchant: Option<String>,
        #[command(flatten)]
        settings: DataInput,
    },
    /// Show one account (credentials masked).
    Show {
        /// The account id (ca_…).
        id: String,
        #[command(flatten)]
        settings: DataInput,
    },
    /// Replace some of an account's credentials; the others stay.
    Rotate {
        id: String,
        /// NAME=VALUE, NAME=@FILE or NAME=env:VARIABLE; repeat for each.
        #[arg(long = "credential", required = true)]
        credentials: Vec<String>,
        #[command(flatten)]
        settings: DataInput,
    },
    /// Stop routing new payments to an account (those it serves finish there).
    Disable {
        id: String,
        #[command(flatten)]
        settings: DataInput,
    },
    /// Route new payments to an account again.
    Enable {
        id: String,
        #[command(flatten)]
        settings: DataInput,
    },
}

/// `payhub connector add`.
#[derive(Args, Debug)]
pub struct AddArgs {
    /// The merchant (mer_…).
    #[arg(long)]
    merchant: String,
    /// simulated, or a real connector (docs/GATEWAYS.md lists them).
    #[arg(long)]
    connector: String,
    /// The gateway types it serves, comma-separated: WXPAY,ALIPAY.
    #[arg(long, value_delimiter = ',', required = true)]
    types: Vec<String>,
    /// The gateway API's base URL (not for `simulated`).
    #[arg(long)]
    base_url: Option<String>,
    /// Real money: the only accounts production routes to.
    #[arg(long)]
    live: bool,
    /// A name for people.
    #[arg(long)]
    label: Option<String>,
    /// NAME=VALUE, NAME=@FILE or NAME=env:VARIABLE; repeat for each.
    #[arg(long = "credential")]
    credentials: Vec<String>,
    /// Lower is tried first.
    #[arg(long, default_value_t = 0)]
    priority: i64,
    /// Share among the accounts of one priority (an A/B split).
    #[arg(long, default_value_t = 1)]
    weight: i64,
    /// Only payments of at least this many minor units.
    #[arg(long)]
    min_amount_minor: Option<i64>,
    /// Only payments of at most this many minor units.
    #[arg(long)]
    max_amount_minor: Option<i64>,
    /// Only payments in this currency.
    #[arg(long)]
    currency: Option<String>,
    #[command(flatten)]
    settings: DataInput,
}

/// Runs `payhub connector …`.
pub(super) async fn run(config: Option<&Path>, command: ConnectorCommand) -> anyhow::Result<()> {
    match command {
        ConnectorCommand::Add(args) => {
            let args = *args;
            let (settings, store, key) = open(config, args.settings).await?;
            drop(settings);
            let merchant = find_merchant(store.as_ref(), &args.merchant).await?;
            let new = NewAccount {
                merchant_id: merchant.id,
                connector: args.connector,
                label: args.label,
                gateway_types: args.types,
                base_url: args.base_url,
                live: args.live,
                credentials: parse_credentials(&args.credentials)?,
                rules: RoutingRules {
                    priority: args.priority,
                    weight: args.weight,
                    min_amount_minor: args.min_amount_minor,
                    max_amount_minor: args.max_amount_minor,
                    currency: args.currency,
                },
            };
            let account = admin::add_account(store.as_ref(), &key, &connector_types(), new).await?;
            print_json(&admin::view(&account))
        }
        ConnectorCommand::List {
            merchant,
            settings: input,
        } => {
            let settings = settings(config, input)?;
            let store = payhub_store::connect(&settings.database_url, 1).await?;
            let merchant = match merchant {
                Some(id) => Some(find_merchant(store.as_ref(), &id).await?.id),
                None => None,
            };
            let accounts = store.list_connector_accounts(merchant.as_ref()).await?;
            if accounts.is_empty() {
                println!("no connector accounts: every type is served by the simulated gateway in sandbox mode");
            }
            for account in accounts {
                let view = admin::view(&account);
                println!(
                    "{}  {}  {}  {}  priority {} weight {}  {}  {}  {}",
                    account.id,
                    account.merchant_id,
                    account.connector,
                    account.gateway_types.join(","),
                    account.rules.priority,
                    account.rules.weight,
                    if account.live { "live" } else { "sandbox" },
                    if account.enabled {
                        "enabled"
                    } else {
                        "disabled"
                    },
                    view["health"]["state"].as_str().unwrap_or("healthy"),
                );
            }
            Ok(())
        }
        ConnectorCommand::Show {
            id,
            settings: input,
        } => {
            let settings = settings(config, input)?;
            let store = payhub_store::connect(&settings.database_url, 1).await?;
            print_json(&admin::view(&admin::find(store.as_ref(), &id).await?))
        }
        ConnectorCommand::Rotate {
            id,
            credentials,
            settings: input,
        } => {
            let (_, store, key) = open(config, input).await?;
            let replacing = parse_credentials(&credentials)?;
            let account =
                admin::rotate_credentials(store.as_ref(), &key, &connector_types(), &id, replacing)
                    .await?;
            print_json(&admin::view(&account))
        }
        ConnectorCommand::Disable {
            id,
            settings: input,
        } => enable(config, input, &id, false).await,
        ConnectorCommand::Enable {
            id,
            settings: input,
        } => enable(config, input, &id, true).await,
    }
}

async fn enable(
    config: Option<&Path>,
    input: DataInput,
    id: &str,
    enabled: bool,
) -> anyhow::Result<()> {
    let settings = settings(config, input)?;
    let store = payhub_store::connect(&settings.database_url, 1).await?;
    print_json(&admin::view(
        &admin::set_enabled(store.as_ref(), id, enabled).await?,
    ))
}

/// The settings, the store and the master key (checked against the cluster's).
async fn open(
    config: Option<&Path>,
    input: DataInput,
) -> anyhow::Result<(Settings, std::sync::Arc<dyn Store>, MasterKey)> {
    let settings = settings(config, input)?;
    let store = payhub_store::connect(&settings.database_url, 1).await?;
    let key = MasterKey::configured(settings.master_key.as_ref(), &settings.data_dir)?;
    check_cluster_master_key(store.as_ref(), &key).await?;
    Ok((settings, store, key))
}

fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Reads `NAME=VALUE`, `NAME=@FILE` and `NAME=env:VARIABLE` arguments.
fn parse_credentials(given: &[String]) -> anyhow::Result<BTreeMap<String, SecretString>> {
    let mut credentials = BTreeMap::new();
    for argument in given {
        let (name, value) = argument.split_once('=').ok_or_else(|| {
            anyhow::anyhow!("a credential is NAME=VALUE, NAME=@FILE or NAME=env:VARIABLE")
        })?;
        let value = if let Some(path) = value.strip_prefix('@') {
            std::fs::read_to_string(path).map_err(|error| {
                anyhow::anyhow!("cannot read the credential file {path}: {error}")
            })?
        } else if let Some(variable) = value.strip_prefix("env:") {
            std::env::var(variable)
                .map_err(|_| anyhow::anyhow!("the environment has no variable {variable}"))?
        } else {
            value.to_owned()
        };
        credentials.insert(name.to_owned(), SecretString::from(value));
    }
    Ok(credentials)
}
