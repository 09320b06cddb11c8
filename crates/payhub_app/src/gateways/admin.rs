//! Configuring connector accounts: what `payhub connector …` and the
//! operator API do, checked the same way whichever asks.
//!
//! An account is checked before it is stored: its connector is known and
//! serves every type it is given, its credentials are exactly the ones the
//! connector reads (the required ones present, no unknown names), its base
//! URL is http(s), and a connector can be built from it. Credentials are
//! sealed with the master key ([`crate::sealed_credentials`]); what is
//! shown of an account ([`view`]) carries only their last four characters.

use std::collections::BTreeMap;

use chrono::Utc;
use payhub_core::MerchantId;
use payhub_store::{AccountHealth, ConnectorAccount, RoutingRules, Store, StoreError};
use rand::RngCore;
use secrecy::SecretString;
use serde_json::json;
use url::Url;

use super::account::AccountConfig;
use super::routing::ConnectorType;
use super::GatewayKind;
use crate::sealed_credentials;
use crate::secrets::MasterKey;

/// The name of the connector that uses the sandbox's simulators.
pub const SIMULATED: &str = "simulated";

/// An account to add.
#[derive(Debug)]
pub struct NewAccount {
    pub merchant_id: MerchantId,
    pub connector: String,
    pub label: Option<String>,
    pub gateway_types: Vec<String>,
    /// The gateway API's address; not used by `simulated`.
    pub base_url: Option<String>,
    pub live: bool,
    pub credentials: BTreeMap<String, SecretString>,
    pub rules: RoutingRules,
}

/// Why an account change is refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("unknown connector `{given}`; known: {known}")]
    UnknownConnector { given: String, known: String },
    #[error(
        "unknown gateway type `{0}`; known: WXPAY, ALIPAY, ALIPAYOS, FPSPAY, VMPAY, UNIONPAY, TEST"
    )]
    UnknownType(String),
    #[error("the connector `{connector}` does not serve {kind}")]
    NotServed { connector: String, kind: String },
    #[error("give at least one gateway type")]
    NoTypes,
    #[error("the connector `{connector}` needs the credential `{name}`")]
    MissingCredential { connector: String, name: String },
    #[error("the connector `{connector}` reads no credential `{name}`; it reads: {known}")]
    UnknownCredential {
        connector: String,
        name: String,
        known: String,
    },
    #[error("the base URL must be an http or https URL: {0}")]
    BadUrl(String),
    #[error("{0}")]
    BadRule(String),
    #[error("the account cannot be used: {0}")]
    Unusable(String),
    #[error("no merchant {0}")]
    NoMerchant(String),
    #[error("no connector account {0}")]
    NoAccount(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks and stores a new account; answers it as stored.
pub async fn add_account(
    store: &dyn Store,
    key: &MasterKey,
    types: &[ConnectorType],
    new: NewAccount,
) -> Result<ConnectorAccount, AdminError> {
    if store.find_merchant(&new.merchant_id).await?.is_none() {
        return Err(AdminError::NoMerchant(new.merchant_id.as_str().to_owned()));
    }
    let connector_type = connector_type(types, &new.connector)?;
    let kinds = check_types(connector_type.as_ref(), &new.connector, &new.gateway_types)?;
    check_rules(&new.rules)?;
    let base_url = match (&connector_type, new.base_url) {
        (None, _) => SIMULATED.to_owned(),
        (Some(_), Some(url)) => check_url(&url)?,
        (Some(_), None) => return Err(AdminError::BadUrl("none given".into())),
    };
    if let Some(connector_type) = &connector_type {
        check_credentials(connector_type, &new.credentials)?;
    } else if let Some(name) = new.credentials.keys().next() {
        return Err(AdminError::UnknownCredential {
            connector: SIMULATED.into(),
            name: name.clone(),
            known: "none".into(),
        });
    }
    let id = new_account_id();
    if let Some(connector_type) = &connector_type {
        try_build(
            connector_type,
            &id,
            &base_url,
            new.live,
            &new.credentials,
            &kinds,
        )?;
    }
    let now = Utc::now();
    let account = ConnectorAccount {
        label: new.label.unwrap_or_else(|| new.connector.clone()),
        merchant_id: new.merchant_id,
        connector: new.connector,
        gateway_types: kinds.iter().map(|k| k.code().to_owned()).collect(),
        rules: new.rules,
        base_url,
        live: new.live,
        enabled: true,
        sealed_credentials: sealed_credentials::seal(key, &id, &new.credentials),
        credential_hints: hints_json(&new.credentials),
        credentials_version: 1,
        health: AccountHealth::default(),
        created_at: now,
        updated_at: now,
        id,
    };
    store.insert_connector_account(&account).await?;
    Ok(account)
}

/// Replaces the named credentials of an account (the others stay), checks
/// the result as [`add_account`] does, and stores it under a new version.
/// Nodes build the account's connector anew at their next use of it.
pub async fn rotate_credentials(
    store: &dyn Store,
    key: &MasterKey,
    types: &[ConnectorType],
    id: &str,
    replacing: BTreeMap<String, SecretString>,
) -> Result<ConnectorAccount, AdminError> {
    let account = find(store, id).await?;
    let Some(connector_type) = connector_type(types, &account.connector)? else {
        return Err(AdminError::Unusable(
            "a simulated account has no credentials".into(),
        ));
    };
    let mut credentials = sealed_credentials::open(key, id, &account.sealed_credentials)
        .map_err(|error| AdminError::Unusable(error.to_string()))?;
    credentials.extend(replacing);
    check_credentials(&connector_type, &credentials)?;
    let kinds = check_types(
        Some(&connector_type),
        &account.connector,
        &account.gateway_types,
    )?;
    try_build(
        &connector_type,
        id,
        &account.base_url,
        account.live,
        &credentials,
        &kinds,
    )?;
    let sealed = sealed_credentials::seal(key, id, &credentials);
    store
        .rotate_connector_credentials(id, &sealed, &hints_json(&credentials), Utc::now())
        .await?;
    find(store, id).await
}

/// Turns an account on or off. A disabled account takes no new payment;
/// the payments it serves keep using it until they end.
pub async fn set_enabled(
    store: &dyn Store,
    id: &str,
    enabled: bool,
) -> Result<ConnectorAccount, AdminError> {
    if !store.set_connector_enabled(id, enabled, Utc::now()).await? {
        return Err(AdminError::NoAccount(id.to_owned()));
    }
    find(store, id).await
}

/// An account by id.
pub async fn find(store: &dyn Store, id: &str) -> Result<ConnectorAccount, AdminError> {
    store
        .find_connector_account(id)
        .await?
        .ok_or_else(|| AdminError::NoAccount(id.to_owned()))
}

/// What is shown of an account: everything but its credentials, of which
/// only the last four characters.
pub fn view(account: &ConnectorAccount) -> serde_json::Value {
    let hints: serde_json::Value =
        serde_json::from_str(&account.credential_hints).unwrap_or_else(|_| json!({}));
    let now = Utc::now();
    let healthy = account
        .health
        .unhealthy_until
        .is_none_or(|until| until <= now);
    json!({
        "id": account.id,
        "merchantId": account.merchant_id.as_str(),
        "connector": account.connector,
        "label": account.label,
        "gatewayTypes": account.gateway_types,
        "priority": account.rules.priority,
        "weight": account.rules.weight,
        "minAmountMinor": account.rules.min_amount_minor,
        "maxAmountMinor": account.rules.max_amount_minor,
        "currency": account.rules.currency,
        "baseUrl": account.base_url,
        "live": account.live,
        "enabled": account.enabled,
        "credentials": hints,
        "credentialsVersion": account.credentials_version,
        "health": {
            "state": if healthy { "healthy" } else { "unhealthy" },
            "consecutiveFailures": account.health.failures,
            "unhealthyUntil": account.health.unhealthy_until.map(|t| t.to_rfc3339()),
        },
        "createdAt": account.created_at.to_rfc3339(),
        "updatedAt": account.updated_at.to_rfc3339(),
    })
}

/// The connector type named `name`; `None` for `simulated`.
fn connector_type(
    types: &[ConnectorType],
    name: &str,
) -> Result<Option<ConnectorType>, AdminError> {
    if name == SIMULATED {
        return Ok(None);
    }
    types
        .iter()
        .find(|t| t.name == name)
        .copied()
        .map(Some)
        .ok_or_else(|| AdminError::UnknownConnector {
            given: name.to_owned(),
            known: std::iter::once(SIMULATED)
                .chain(types.iter().map(|t| t.name))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

fn check_types(
    connector_type: Option<&ConnectorType>,
    connector: &str,
    codes: &[String],
) -> Result<Vec<GatewayKind>, AdminError> {
    if codes.is_empty() {
        return Err(AdminError::NoTypes);
    }
    let mut kinds = Vec::new();
    for code in codes {
        let kind = GatewayKind::parse(code).ok_or_else(|| AdminError::UnknownType(code.clone()))?;
        if connector_type.is_some_and(|t| !t.serves.contains(&kind)) {
            return Err(AdminError::NotServed {
                connector: connector.to_owned(),
                kind: code.clone(),
            });
        }
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

fn check_rules(rules: &RoutingRules) -> Result<(), AdminError> {
    if rules.weight < 1 {
        return Err(AdminError::BadRule("the weight must be at least 1".into()));
    }
    if let (Some(min), Some(max)) = (rules.min_amount_minor, rules.max_amount_minor) {
        if min > max {
            return Err(AdminError::BadRule(
                "the minimum amount is above the maximum".into(),
            ));
        }
    }
    if let Some(currency) = &rules.currency {
        if payhub_core::Currency::parse(currency).is_err() {
            return Err(AdminError::BadRule(format!(
                "`{currency}` is not an ISO 4217 currency code"
            )));
        }
    }
    Ok(())
}

fn check_url(url: &str) -> Result<String, AdminError> {
    let parsed = Url::parse(url).map_err(|error| AdminError::BadUrl(error.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(AdminError::BadUrl(url.to_owned()));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

fn check_credentials(
    connector_type: &ConnectorType,
    credentials: &BTreeMap<String, SecretString>,
) -> Result<(), AdminError> {
    let known = connector_type.credentials;
    for name in credentials.keys() {
        if !known.contains(&name.as_str()) {
            return Err(AdminError::UnknownCredential {
                connector: connector_type.name.to_owned(),
                name: name.clone(),
                known: known.join(", "),
            });
        }
    }
    for name in known.iter().take(connector_type.required) {
        if !credentials.contains_key(*name) {
            return Err(AdminError::MissingCredential {
                connector: connector_type.name.to_owned(),
                name: (*name).to_owned(),
            });
        }
    }
    Ok(())
}

/// Builds the connector once for each type, so that credentials it cannot
/// use (a key that does not parse) are refused now, not at the first payment.
fn try_build(
    connector_type: &ConnectorType,
    id: &str,
    base_url: &str,
    live: bool,
    credentials: &BTreeMap<String, SecretString>,
    kinds: &[GatewayKind],
) -> Result<(), AdminError> {
    let unusable = |why: String| AdminError::Unusable(why);
    let config = AccountConfig {
        account_id: id.to_owned(),
        base_url: Url::parse(base_url).map_err(|e| unusable(e.to_string()))?,
        notify_url: Url::parse("http://127.0.0.1/").map_err(|e| unusable(e.to_string()))?,
        live,
        credentials: credentials.clone(),
        http: reqwest::Client::new(),
    };
    for kind in kinds {
        (connector_type.build)(*kind, &config).map_err(|e| unusable(e.to_string()))?;
    }
    Ok(())
}

fn hints_json(credentials: &BTreeMap<String, SecretString>) -> String {
    serde_json::to_string(&sealed_credentials::hints(credentials)).unwrap_or_else(|_| "{}".into())
}

fn new_account_id() -> String {
    let mut bytes = [0_u8; 8];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("ca_{}", hex::encode(bytes))
}
