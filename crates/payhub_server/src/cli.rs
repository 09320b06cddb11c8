//! The command line: `payhub serve | migrate | merchant create | list | show |
//! gateways | deliveries list | resend | aps account-create | credit | show`.
//!
//! These spellings are a contract that scripts rely on; see README.md.
//! `payhub operator create | list` lives in [`crate::console::operators`].

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;

use crate::app::Application;
use crate::config::{DataInput, Settings, SettingsInput};
use crate::demo;
use crate::merchants;
use crate::merchants::{MODE_SHA1, MODE_SHA256};
use payhub_app::secrets::{check_cluster_master_key, MasterKey};
use payhub_core::MerchantId;
use payhub_store::{Merchant, Store};

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
    /// Administer operator accounts of the web console (docs/CONSOLE.md).
    #[command(subcommand)]
    Operator(crate::console::operators::OperatorCommand),
}

/// Telco payment service administration (operators).
#[derive(Subcommand, Debug)]
pub enum TelcoCommand {
    /// Add a product to a service's catalogue, or replace it.
    ProductSet {
        /// The service's merchant id (mer_…).
        merchant: String,
        /// The product id that itemList entries name, e.g. 50.
        product: String,
        /// The product's name, shown on the consent page.
        name: String,
        /// The unit price, an exact decimal, e.g. 19.99.
        price: String,
        /// The price's currency, e.g. TRY.
        currency: String,
        #[command(flatten)]
        settings: DataInput,
    },
    /// List a service's catalogue.
    Products {
        merchant: String,
        #[command(flatten)]
        settings: DataInput,
    },
    /// Set (or with no URL, clear) the URL a service is notified at.
    Callback {
        merchant: String,
        url: Option<String>,
        #[command(flatten)]
        settings: DataInput,
    },
}

/// APS account administration (operators).
#[derive(Subcommand, Debug)]
pub enum ApsCommand {
    /// Create a customer account (an APS PaymentManagement resource) of a merchant.
    AccountCreate {
        /// The merchant id (mer_…).
        merchant: String,
        /// The account's ISO 4217 currency; every payment of it is in this currency.
        #[arg(long)]
        currency: String,
        /// Credit available at once, e.g. 25.00.
        #[arg(long)]
        credit: Option<String>,
        /// The APS resource id to use (a UUID); a fresh one when absent.
        #[arg(long)]
        aps_id: Option<String>,
        /// The customer account UUID (APSPayment.accountId); a fresh one when absent.
        #[arg(long)]
        account_id: Option<String>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        settings: DataInput,
    },
    /// Add credit to an account, e.g. `payhub aps credit APS_ID 10.00`.
    Credit {
        /// The APS resource id.
        aps_id: String,
        /// The amount to add, in the account's currency.
        amount: String,
        #[command(flatten)]
        settings: DataInput,
    },
    /// Store a wallet agreement as a payment method of an account, e.g.
    /// `payhub aps wallet-add APS_ID ALIPAY` (charged later without the customer).
    WalletAdd {
        /// The APS resource id.
        aps_id: String,
        /// The wallet gateway: WXPAY, ALIPAY, ALIPAYOS or FPSPAY.
        gateway: String,
        #[command(flatten)]
        settings: DataInput,
    },
    /// Show an account: its credit and stored payment methods.
    Show {
        /// The APS resource id.
        aps_id: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        settings: DataInput,
    },
}

/// Delivery administration (operators).
#[derive(Subcommand, Debug)]
pub enum DeliveriesCommand {
    /// List recent deliveries with every attempt (newest first).
    List {
        /// Only this merchant's.
        #[arg(long)]
        merchant: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[command(flatten)]
        settings: DataInput,
    },
    /// Send a delivery again (pending now, with a fresh set of attempts).
    Resend {
        /// The delivery id.
        id: i64,
        #[command(flatten)]
        settings: DataInput,
    },
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
        Command::Serve(input) => serve(settings(config, *input)?).await,
        Command::Operator(command) => {
            crate::console::operators::run(command, |input| settings(config, input)).await
        }
        Command::Migrate(input) => {
            let settings = settings(config, input)?;
            let (store, applied) =
                payhub_store::connect_and_migrate(&settings.database_url, 1).await?;
            let url = payhub_store::redact_url(&settings.database_url);
            if applied.is_empty() {
                println!(
                    "database at {url} ({}): nothing to apply, it is up to date",
                    store.backend_name()
                );
            } else {
                println!("database at {url} ({}): applied", store.backend_name());
                for migration in &applied {
                    println!("  {:04} {}", migration.version, migration.description);
                }
            }
            Ok(())
        }
        Command::Merchant(MerchantCommand::Create {
            name,
            json,
            settings: input,
        }) => {
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
        Command::Merchant(MerchantCommand::Show {
            id,
            settings: input,
        }) => {
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
        Command::Merchant(MerchantCommand::Gateways {
            id,
            gateways,
            signature,
            settings: input,
        }) => {
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
        Command::Deliveries(DeliveriesCommand::List {
            merchant,
            limit,
            settings: input,
        }) => {
            let settings = settings(config, input)?;
            let store = payhub_store::connect(&settings.database_url, 1).await?;
            let merchant = match merchant {
                Some(id) => Some(find_merchant(store.as_ref(), &id).await?.id),
                None => None,
            };
            let filter = payhub_store::DeliveryFilter {
                merchant,
                limit: limit.clamp(1, 1000),
                ..Default::default()
            };
            let mut rendered = Vec::new();
            for delivery in store.list_deliveries(&filter).await? {
                rendered.push(
                    crate::deliveries::describe(
                        store.as_ref(),
                        &settings.public_base_url,
                        Some(&crate::api_tmf676::hub::HubListeners),
                        &delivery,
                    )
                    .await?,
                );
            }
            println!("{}", serde_json::to_string_pretty(&rendered)?);
            Ok(())
        }
        Command::Deliveries(DeliveriesCommand::Resend {
            id,
            settings: input,
        }) => {
            let settings = settings(config, input)?;
            let store = payhub_store::connect(&settings.database_url, 1).await?;
            if !store.resend_delivery(None, id, chrono::Utc::now()).await? {
                anyhow::bail!("no delivery {id}");
            }
            println!("delivery {id} is pending again; a running payhub sends it within a second");
            Ok(())
        }
        Command::Telco(command) => telco_command(config, command).await,
        Command::Aps(command) => aps(config, command).await,
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

/// `payhub aps …`.
async fn aps(config: Option<&Path>, command: ApsCommand) -> anyhow::Result<()> {
    use crate::api_aps::accounts;
    match command {
        ApsCommand::AccountCreate {
            merchant,
            currency,
            credit,
            aps_id,
            account_id,
            json,
            settings: input,
        } => {
            let settings = settings(config, input)?;
            let store = payhub_store::connect(&settings.database_url, 1).await?;
            let merchant = find_merchant(store.as_ref(), &merchant).await?;
            let currency = payhub_core::Currency::parse(&currency)?;
            let credit = credit
                .map(|text| accounts::parse_amount(&text, currency))
                .transpose()?;
            let account = accounts::create_account(
                store.as_ref(),
                &merchant.id,
                currency,
                credit,
                aps_id.as_deref(),
                account_id.as_deref(),
            )
            .await?;
            print_account(store.as_ref(), &account, json).await
        }
        ApsCommand::Credit {
            aps_id,
            amount,
            settings: input,
        } => {
            let settings = settings(config, input)?;
            let store = payhub_store::connect(&settings.database_url, 1).await?;
            let account = store
                .find_aps_account(&aps_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no APS account {aps_id}"))?;
            let amount = accounts::parse_amount(&amount, account.currency)?;
            let account = store
                .add_aps_credit(&aps_id, amount.amount_minor(), chrono::Utc::now())
                .await?;
            print_account(store.as_ref(), &account, false).await
        }
        ApsCommand::WalletAdd {
            aps_id,
            gateway,
            settings: input,
        } => {
            let settings = settings(config, input)?;
            let store = payhub_store::connect(&settings.database_url, 1).await?;
            let account = store
                .find_aps_account(&aps_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no APS account {aps_id}"))?;
            let kind = payhub_app::gateways::GatewayKind::parse(&gateway)
                .filter(|k| k.method() != payhub_app::gateways::PayMethod::Card)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "'{gateway}' is not a wallet gateway (WXPAY, ALIPAY, ALIPAYOS, FPSPAY)"
                    )
                })?;
            let now = chrono::Utc::now();
            let method = payhub_store::ApsPaymentMethod {
                id: payhub_core::ids::generate_id(now),
                aps_id: account.aps_id.clone(),
                kind: payhub_store::MethodKind::Wallet,
                gateway: kind.code().to_owned(),
                token: format!(
                    "wal_{}",
                    payhub_app::card::card_token().trim_start_matches("tok_")
                ),
                brand: None,
                first6: None,
                last4: None,
                created_at: now,
            };
            store.insert_aps_payment_method(&method).await?;
            println!("paymentMethodId {} (wallet {})", method.id, method.gateway);
            Ok(())
        }
        ApsCommand::Show {
            aps_id,
            json,
            settings: input,
        } => {
            let settings = settings(config, input)?;
            let store = payhub_store::connect(&settings.database_url, 1).await?;
            let account = store
                .find_aps_account(&aps_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no APS account {aps_id}"))?;
            print_account(store.as_ref(), &account, json).await
        }
    }
}

async fn print_account(
    store: &dyn Store,
    account: &payhub_store::ApsAccount,
    json: bool,
) -> anyhow::Result<()> {
    let credit = payhub_core::Money::from_minor(account.available_credit_minor, account.currency)?;
    let methods = store.list_aps_payment_methods(&account.aps_id).await?;
    if json {
        let methods: Vec<_> = methods
            .iter()
            .map(|m| {
                serde_json::json!({
                    "paymentMethodId": m.id, "kind": m.kind.as_str(), "gateway": m.gateway,
                    "brand": m.brand, "first6": m.first6, "last4": m.last4,
                })
            })
            .collect();
        let view = serde_json::json!({
            "apsId": account.aps_id,
            "merchantId": account.merchant_id.as_str(),
            "accountId": account.account_id,
            "currency": account.currency.code(),
            "availableCredit": crate::api_aps::view::number(credit),
            "paymentMethods": methods,
        });
        println!("{view}");
        return Ok(());
    }
    println!(
        "APS account {} of merchant {}",
        account.aps_id, account.merchant_id
    );
    println!("account id: {}", account.account_id);
    println!(
        "available credit: {} {}",
        credit.to_decimal(),
        account.currency.code()
    );
    if methods.is_empty() {
        println!("payment methods: none");
    }
    for method in &methods {
        println!(
            "payment method {}: {}",
            method.id,
            crate::api_aps::pay::method_label(method)
        );
    }
    Ok(())
}

async fn find_merchant(store: &dyn Store, id: &str) -> anyhow::Result<Merchant> {
    let parsed = MerchantId::parse(id)
        .ok_or_else(|| anyhow::anyhow!("'{id}' is not a merchant id (mer_…)"))?;
    store
        .find_merchant(&parsed)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no merchant {id}"))
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings.clone()).await?;
    let state = app.state();
    let store = state.store.clone();
    let demo =
        demo::ensure_demo_merchant(store.as_ref(), &settings.data_dir, &state.master_key).await?;
    demo::print_banner(
        &settings,
        store.backend_name(),
        crate::api_tmf676::BASE_PATH,
        demo.as_ref(),
    );
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

async fn telco_command(config: Option<&Path>, command: TelcoCommand) -> anyhow::Result<()> {
    match command {
        TelcoCommand::ProductSet {
            merchant,
            product,
            name,
            price,
            currency,
            settings: input,
        } => {
            let settings = settings(config, input)?;
            let store = payhub_store::connect(&settings.database_url, 1).await?;
            let merchant = find_merchant(store.as_ref(), &merchant).await?;
            let currency = payhub_core::Currency::parse(&currency)?;
            let unit_price = payhub_core::Money::parse_decimal(&price, currency)?;
            let product = payhub_store::TelcoProduct {
                merchant_id: merchant.id.clone(),
                product_id: product,
                name,
                unit_price,
            };
            store
                .upsert_telco_product(&product, chrono::Utc::now())
                .await?;
            println!("{}", crate::api_telco::catalogue::render(&product));
            Ok(())
        }
        TelcoCommand::Products {
            merchant,
            settings: input,
        } => {
            let settings = settings(config, input)?;
            let store = payhub_store::connect(&settings.database_url, 1).await?;
            let merchant = find_merchant(store.as_ref(), &merchant).await?;
            for product in store.list_telco_products(&merchant.id).await? {
                println!("{}", crate::api_telco::catalogue::render(&product));
            }
            Ok(())
        }
        TelcoCommand::Callback {
            merchant,
            url,
            settings: input,
        } => {
            let settings = settings(config, input)?;
            let store = payhub_store::connect(&settings.database_url, 1).await?;
            let merchant = find_merchant(store.as_ref(), &merchant).await?;
            if let Some(url) = &url {
                settings.callback_policy.check_url(url).await?;
            }
            store
                .set_telco_callback_url(&merchant.id, url.as_deref())
                .await?;
            match url {
                Some(url) => println!("merchant {}: telco callbacks go to {url}", merchant.id),
                None => println!("merchant {}: no telco callbacks", merchant.id),
            }
            Ok(())
        }
    }
}
