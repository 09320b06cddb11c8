//! Which connector serves a payment: a merchant's connector accounts, built
//! into connectors on demand, routed by the core's rule, with the circuit
//! breaker's state kept in the database.
//!
//! - A new payment is routed ([`route_new`]): the merchant's enabled
//!   accounts that serve its gateway type, chosen by
//!   [`payhub_core::gateway::routing::choose`]. With no account, the
//!   simulated gateway serves it in sandbox mode; production refuses it.
//! - Every later call of a payment goes to the account its gateway row
//!   names ([`bound_to`]), never to another: an unknown outcome stays with
//!   its gateway until the checker knows.
//! - Each call's outcome feeds the account's breaker ([`record_outcome`]).
//!
//! Accounts are read through a short cache (two seconds) so a busy node
//! does not read them for every payment; a change made through this node
//! (the operator API) is seen at once, one made elsewhere within the cache's
//! life. Built connectors are kept per account, credentials version and type.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use payhub_core::gateway::routing::{choose, Candidate, Health};
use payhub_core::{MerchantId, Money};
use payhub_store::{AccountHealth, ConnectorAccount};
use url::Url;

use super::account::{AccountConfig, AccountError};
use super::{Connector, GatewayKind};
use crate::{AppError, Services};

/// How long a read of a merchant's accounts is reused.
const CACHE_LIFE: Duration = Duration::from_secs(2);

/// Builds a connector of one kind from an account: one per connector name.
pub type Factory = fn(GatewayKind, &AccountConfig) -> Result<Arc<dyn Connector>, AccountError>;

/// A connector payhub knows how to build from an account.
#[derive(Clone, Copy)]
pub struct ConnectorType {
    /// The name accounts use (`stripe`).
    pub name: &'static str,
    /// The credential names it reads (docs/GATEWAYS.md); the required ones first.
    pub credentials: &'static [&'static str],
    /// How many of `credentials` are required.
    pub required: usize,
    /// The gateway types it can serve.
    pub serves: &'static [GatewayKind],
    pub build: Factory,
}

impl std::fmt::Debug for ConnectorType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorType")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A connector and the account it was built from (`None`: the simulator).
#[derive(Clone)]
pub struct Bound {
    pub connector: Arc<dyn Connector>,
    pub account: Option<String>,
    /// The account's connector name (`wechatpay`); `None` for the simulator.
    pub connector_name: Option<String>,
}

/// The accounts' side of [`super::Gateways`]: the connector types, the
/// cache, and whether the simulated gateway may serve a payment.
pub struct AccountConnectors {
    types: Vec<ConnectorType>,
    /// Sandbox mode: a type with no account is served by the simulator, and
    /// sandbox (not live) accounts may be used.
    sandbox: bool,
    http: reqwest::Client,
    lists: Mutex<HashMap<MerchantId, CachedList>>,
    built: Mutex<HashMap<BuiltKey, Arc<dyn Connector>>>,
}

/// A merchant's accounts and when they were read.
type CachedList = (Instant, Arc<Vec<ConnectorAccount>>);
/// A built connector's account, credentials version and type.
type BuiltKey = (String, i64, GatewayKind);

impl AccountConnectors {
    pub fn new(types: Vec<ConnectorType>, sandbox: bool) -> AccountConnectors {
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap_or_default();
        AccountConnectors {
            types,
            sandbox,
            http,
            lists: Mutex::default(),
            built: Mutex::default(),
        }
    }

    /// Whether a type with no account falls back to the simulated gateway.
    pub fn sandbox(&self) -> bool {
        self.sandbox
    }

    /// The connector type named `name`.
    pub fn connector_type(&self, name: &str) -> Option<&ConnectorType> {
        self.types.iter().find(|t| t.name == name)
    }

    pub fn connector_types(&self) -> &[ConnectorType] {
        &self.types
    }

    /// Forgets what is cached of a merchant's accounts (after a change).
    pub fn forget(&self, merchant: &MerchantId) {
        lock(&self.lists).remove(merchant);
    }

    fn cached(&self, merchant: &MerchantId) -> Option<Arc<Vec<ConnectorAccount>>> {
        let lists = lock(&self.lists);
        let (read_at, accounts) = lists.get(merchant)?;
        (read_at.elapsed() < CACHE_LIFE).then(|| accounts.clone())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A merchant's accounts, through the cache.
async fn accounts_of(
    state: &Services,
    merchant: &MerchantId,
) -> Result<Arc<Vec<ConnectorAccount>>, AppError> {
    let registry = &state.gateways.accounts;
    if let Some(accounts) = registry.cached(merchant) {
        return Ok(accounts);
    }
    let accounts = Arc::new(state.store.list_connector_accounts(Some(merchant)).await?);
    lock(&registry.lists).insert(merchant.clone(), (Instant::now(), accounts.clone()));
    Ok(accounts)
}

/// The connector a new payment of `merchant` through `kind` goes to.
/// `split_key` (the payment's id) keeps an A/B split stable per payment.
pub async fn route_new(
    state: &Services,
    merchant: &MerchantId,
    kind: GatewayKind,
    amount: Money,
    split_key: u64,
) -> Result<Bound, AppError> {
    let registry = &state.gateways.accounts;
    let accounts = accounts_of(state, merchant).await?;
    let usable: Vec<&ConnectorAccount> = accounts
        .iter()
        .filter(|account| takes_new_payments(registry, account, kind))
        .collect();
    let candidates: Vec<Candidate<'_>> = usable.iter().map(|a| candidate(a)).collect();
    if usable.is_empty() && registry.sandbox {
        return simulator(state, kind);
    }
    let chosen = choose(&candidates, amount, Utc::now(), split_key)
        .and_then(|index| usable.get(index))
        .ok_or(AppError::NoConnector(kind))?;
    let connector = build(state, chosen, kind)?;
    Ok(Bound {
        connector,
        account: Some(chosen.id.clone()),
        connector_name: Some(chosen.connector.clone()),
    })
}

/// Whether `account` takes new payments of `kind`: enabled, serving the
/// type, and (in production) a live account of a real connector.
fn takes_new_payments(
    registry: &AccountConnectors,
    account: &ConnectorAccount,
    kind: GatewayKind,
) -> bool {
    account.enabled
        && account.gateway_types.iter().any(|t| t == kind.code())
        && (registry.sandbox || (account.live && account.connector != "simulated"))
}

/// The connector a new charge of a stored method goes to when the method
/// names the connector account that saved it: that account and no other,
/// since the gateway's reference of the card is valid there only. It must
/// belong to `merchant` and take new payments of `kind` (enabled, serving
/// the type, live in production); otherwise the charge is refused
/// ([`AppError::NoConnector`]) rather than sent where the card is unknown.
/// Its breaker is not consulted: no other account could charge the card.
pub async fn route_saved(
    state: &Services,
    merchant: &MerchantId,
    kind: GatewayKind,
    account_id: &str,
) -> Result<Bound, AppError> {
    let registry = &state.gateways.accounts;
    let accounts = accounts_of(state, merchant).await?;
    let account = accounts
        .iter()
        .find(|account| account.id == account_id)
        .filter(|account| takes_new_payments(registry, account, kind))
        .ok_or(AppError::NoConnector(kind))?;
    Ok(Bound {
        connector: build(state, account, kind)?,
        account: Some(account.id.clone()),
        connector_name: Some(account.connector.clone()),
    })
}

/// The connector a recorded payment's gateway row is bound to.
pub async fn bound_to(
    state: &Services,
    gateway: &str,
    account: Option<&str>,
) -> Result<Bound, AppError> {
    let kind = GatewayKind::parse(gateway).ok_or(AppError::GatewayUnavailable)?;
    let Some(account_id) = account else {
        return simulator(state, kind);
    };
    let account = find_account(state, account_id).await?;
    Ok(Bound {
        connector: build(state, &account, kind)?,
        account: Some(account.id),
        connector_name: Some(account.connector),
    })
}

/// An account by id: from its merchant's cached list when there, else read.
pub async fn find_account(state: &Services, id: &str) -> Result<ConnectorAccount, AppError> {
    state
        .store
        .find_connector_account(id)
        .await?
        .ok_or(AppError::GatewayUnavailable)
}

/// The connector an account's notifications are read with.
pub fn notification_connector(
    state: &Services,
    account: &ConnectorAccount,
) -> Result<Arc<dyn Connector>, AppError> {
    let kind = account
        .gateway_types
        .iter()
        .find_map(|code| GatewayKind::parse(code))
        .ok_or(AppError::GatewayUnavailable)?;
    build(state, account, kind)
}

fn simulator(state: &Services, kind: GatewayKind) -> Result<Bound, AppError> {
    if !state.gateways.accounts.sandbox {
        return Err(AppError::NoConnector(kind));
    }
    let connector = state
        .gateways
        .simulator(kind)
        .ok_or(AppError::NoConnector(kind))?;
    Ok(Bound {
        connector,
        account: None,
        connector_name: None,
    })
}

fn candidate(account: &ConnectorAccount) -> Candidate<'_> {
    Candidate {
        priority: account.rules.priority,
        weight: account.rules.weight,
        min_amount_minor: account.rules.min_amount_minor,
        max_amount_minor: account.rules.max_amount_minor,
        currency: account.rules.currency.as_deref(),
        enabled: account.enabled,
        health: Health {
            failures: account.health.failures,
            unhealthy_until: account.health.unhealthy_until,
        },
    }
}

/// The account's connector for `kind`, built once per credentials version.
fn build(
    state: &Services,
    account: &ConnectorAccount,
    kind: GatewayKind,
) -> Result<Arc<dyn Connector>, AppError> {
    let registry = &state.gateways.accounts;
    let key = (account.id.clone(), account.credentials_version, kind);
    if let Some(connector) = lock(&registry.built).get(&key) {
        return Ok(connector.clone());
    }
    let unusable = |why: String| {
        tracing::error!(connector.account = %account.id, %why, "connector account unusable");
        AppError::GatewayUnavailable
    };
    if account.connector == "simulated" {
        return simulator_for_account(state, kind);
    }
    let connector_type = registry
        .connector_type(&account.connector)
        .ok_or_else(|| unusable(format!("unknown connector {}", account.connector)))?;
    let credentials = crate::sealed_credentials::open(
        &state.master_key,
        &account.id,
        &account.sealed_credentials,
    )
    .map_err(|error| unusable(error.to_string()))?;
    let config = AccountConfig {
        account_id: account.id.clone(),
        base_url: Url::parse(&account.base_url).map_err(|error| unusable(error.to_string()))?,
        notify_url: notify_url(&state.config.public_base_url, &account.id)
            .map_err(|error| unusable(error.to_string()))?,
        live: account.live,
        credentials,
        http: registry.http.clone(),
    };
    let connector =
        (connector_type.build)(kind, &config).map_err(|error| unusable(error.to_string()))?;
    lock(&registry.built).insert(key, connector.clone());
    Ok(connector)
}

/// A `simulated` account: the sandbox's simulator of that type (an operator
/// tries routing and failover with it before configuring a real gateway).
fn simulator_for_account(
    state: &Services,
    kind: GatewayKind,
) -> Result<Arc<dyn Connector>, AppError> {
    state
        .gateways
        .simulator(kind)
        .map(|simulator| -> Arc<dyn Connector> { simulator })
        .ok_or(AppError::NoConnector(kind))
}

/// Where an account's gateway sends its notifications.
pub fn notify_url(public_base_url: &str, account_id: &str) -> Result<Url, url::ParseError> {
    Url::parse(&format!(
        "{}/gateways/accounts/{account_id}/notifications",
        public_base_url.trim_end_matches('/')
    ))
}

/// Feeds one call's outcome to its account's breaker: a call without an
/// answer (a timeout, a 5xx) counts towards making the account unhealthy,
/// an answer resets it. Best effort: a failure to write it is logged.
pub async fn record_outcome(state: &Services, account: Option<&str>, answered: bool) {
    let Some(id) = account else { return };
    let Ok(found) = state.store.find_connector_account(id).await else {
        return;
    };
    let Some(found) = found else { return };
    let health = Health {
        failures: found.health.failures,
        unhealthy_until: found.health.unhealthy_until,
    };
    let breaker = state.config.gateways.breaker;
    let Some(next) = breaker.after_call(health, answered, Utc::now()) else {
        return;
    };
    if next.unhealthy_until != health.unhealthy_until && next.unhealthy_until.is_some() {
        tracing::warn!(
            connector.account = id,
            failures = next.failures,
            "connector account marked unhealthy"
        );
    }
    metrics::gauge!("payhub_connector_account_unhealthy", "account" => id.to_owned()).set(
        if next.is_healthy(Utc::now()) {
            0.0
        } else {
            1.0
        },
    );
    let stored = AccountHealth {
        failures: next.failures,
        unhealthy_until: next.unhealthy_until,
    };
    if let Err(error) = state.store.set_connector_health(id, stored).await {
        tracing::warn!(connector.account = id, error.cause_chain = ?error, "cannot record a connector account's health");
    }
    state.gateways.accounts.forget(&found.merchant_id);
}
