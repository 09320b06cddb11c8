//! `payhub telco product-set | products | callback`.

use std::path::Path;

use clap::Subcommand;

use super::{find_merchant, settings};
use crate::config::DataInput;

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

/// Runs `payhub telco …`.
pub(super) async fn run(config: Option<&Path>, command: TelcoCommand) -> anyhow::Result<()> {
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
