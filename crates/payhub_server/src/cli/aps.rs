//! `payhub aps account-create | credit | wallet-add | show`.

use std::path::Path;

use clap::Subcommand;
use payhub_store::Store;

use super::{find_merchant, settings};
use crate::config::DataInput;

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

/// `payhub aps …`.
pub(super) async fn run(config: Option<&Path>, command: ApsCommand) -> anyhow::Result<()> {
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
                gateway_token: None,
                connector_account: None,
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
            "availableCredit": crate::api_aps::wire::number(credit),
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
