//! `payhub deliveries list | resend`.

use std::path::Path;

use clap::Subcommand;

use super::{find_merchant, settings};
use crate::config::DataInput;

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

/// Runs `payhub deliveries …`.
pub(super) async fn run(config: Option<&Path>, command: DeliveriesCommand) -> anyhow::Result<()> {
    match command {
        DeliveriesCommand::List {
            merchant,
            limit,
            settings: input,
        } => {
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
        DeliveriesCommand::Resend {
            id,
            settings: input,
        } => {
            let settings = settings(config, input)?;
            let store = payhub_store::connect(&settings.database_url, 1).await?;
            if !store.resend_delivery(None, id, chrono::Utc::now()).await? {
                anyhow::bail!("no delivery {id}");
            }
            println!("delivery {id} is pending again; a running payhub sends it within a second");
            Ok(())
        }
    }
}
