//! What a connector account gives the connector built from it.
//!
//! A merchant's connector account names a connector (`stripe`, `alipay`,
//! `wechatpay`, `simulated`), where its API is, and its credentials. Each
//! real connector is built from one [`AccountConfig`] for one gateway type
//! it serves, and reads only the credential names it documents (its
//! `CREDENTIALS` list). Credentials reach it decrypted, as secrets that never
//! print.

use std::collections::BTreeMap;

use secrecy::SecretString;
use url::Url;

use super::GatewayKind;

/// A connector account, decrypted, as a connector is built from it.
#[derive(Clone, Debug)]
pub struct AccountConfig {
    /// The account's id (`ca_…`): in logs, metrics and the notification URL.
    pub account_id: String,
    /// The gateway API's base URL: the real one, a staging one, or a test's fake.
    pub base_url: Url,
    /// Where the gateway must send this account's notifications (payhub's
    /// public URL for the account).
    pub notify_url: Url,
    /// A live account moves real money; a sandbox one the gateway's test money.
    pub live: bool,
    /// The account's credentials by name (`secret_key`, `private_key`, …).
    /// Identifiers that are not secret (a merchant number) are kept here too,
    /// so one place holds everything an account is configured with.
    pub credentials: BTreeMap<String, SecretString>,
    /// The client the connector calls its gateway with (rustls, no proxy).
    pub http: reqwest::Client,
}

/// Why a connector cannot be built from an account.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("the account has no credential `{0}`")]
    Missing(&'static str),
    #[error("the credential `{name}` is not usable: {why}")]
    Invalid { name: &'static str, why: String },
    #[error("the connector `{connector}` does not serve the gateway type {kind}")]
    Unsupported {
        connector: &'static str,
        kind: &'static str,
    },
}

impl AccountError {
    /// Refuses to build `connector` for a gateway type it does not serve.
    pub fn unless_served(
        connector: &'static str,
        serves: &[GatewayKind],
        kind: GatewayKind,
    ) -> Result<(), AccountError> {
        if serves.contains(&kind) {
            return Ok(());
        }
        Err(AccountError::Unsupported {
            connector,
            kind: kind.code(),
        })
    }
}

impl AccountConfig {
    /// The credential `name`, which the connector requires.
    pub fn credential(&self, name: &'static str) -> Result<&SecretString, AccountError> {
        self.credentials
            .get(name)
            .ok_or(AccountError::Missing(name))
    }

    /// The credential `name`, when the account has it.
    pub fn optional_credential(&self, name: &str) -> Option<&SecretString> {
        self.credentials.get(name)
    }
}
