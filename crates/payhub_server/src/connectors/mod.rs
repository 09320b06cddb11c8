//! Merchants' connector accounts on the server: the operator API that
//! configures them ([`api`]) and the start-up summary of which connector
//! serves which gateway type ([`print_routing`]).

pub mod api;

use payhub_app::gateways::GatewayKind;
use payhub_store::ConnectorAccount;

use crate::config::Mode;
use crate::state::AppState;

/// Merchants listed one by one at start-up; above this, counts only.
const LISTED_MERCHANTS: usize = 20;

/// Prints which connector serves which gateway type for each merchant (or
/// counts, for many merchants). In production a type with no live account
/// is said to be refused.
pub async fn print_routing(state: &AppState, mode: Mode) -> anyhow::Result<()> {
    let merchants = state.store.list_merchants().await?;
    let accounts = state.store.list_connector_accounts(None).await?;
    let fallback = match mode {
        Mode::Sandbox => "simulated",
        Mode::Production => "refused (no live connector account)",
    };
    if merchants.len() > LISTED_MERCHANTS {
        let configured = merchants
            .iter()
            .filter(|m| accounts.iter().any(|a| a.merchant_id == m.id && a.enabled))
            .count();
        println!(
            "  connectors: {} connector accounts; {configured} of {} merchants have one; other types: {fallback}",
            accounts.len(),
            merchants.len()
        );
        return Ok(());
    }
    for merchant in &merchants {
        let line: Vec<String> = merchant
            .gateways
            .iter()
            .filter_map(|code| GatewayKind::parse(code))
            .map(|kind| {
                let serving = serving(&accounts, &merchant.id, kind, mode);
                let text = if serving.is_empty() {
                    fallback.to_owned()
                } else {
                    serving.join(" then ")
                };
                format!("{} → {text}", kind.code())
            })
            .collect();
        println!("  connectors of {}: {}", merchant.id, line.join("; "));
    }
    Ok(())
}

/// The accounts that may serve `kind` for a merchant, in routing order.
fn serving(
    accounts: &[ConnectorAccount],
    merchant: &payhub_core::MerchantId,
    kind: GatewayKind,
    mode: Mode,
) -> Vec<String> {
    accounts
        .iter()
        .filter(|a| &a.merchant_id == merchant && a.enabled)
        .filter(|a| a.gateway_types.iter().any(|t| t == kind.code()))
        .filter(|a| mode == Mode::Sandbox || (a.live && a.connector != "simulated"))
        .map(|a| format!("{} ({})", a.id, a.connector))
        .collect()
}
