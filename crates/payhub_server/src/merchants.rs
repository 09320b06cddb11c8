//! Merchants and their credentials.
//!
//! An API key is 32 random bytes, shown once when the merchant is created and
//! stored only as its SHA-256 hash. A fast hash is enough here because the key
//! is random and long, not a password a person chose.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use payhub_core::MerchantId;
use payhub_store::{Merchant, Store, StoreError};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::{Digest, Sha256};

use payhub_app::gateways::GatewayKind;
use payhub_app::secrets::MasterKey;

/// The stored name of seed 003's retail signature mode, every merchant's
/// default (a merchant record keeps how its retail requests are signed).
pub const MODE_SHA1: &str = "hmac-sha1";
/// The stored name of the stronger retail signature mode (HMAC-SHA256 over
/// the body).
pub const MODE_SHA256: &str = "hmac-sha256";

/// The prefix that makes payhub keys recognisable to secret scanners.
const API_KEY_PREFIX: &str = "phk_";

/// A merchant as created, with the one copy of its API key there will ever be.
pub struct NewMerchantCredentials {
    pub merchant: Merchant,
    pub api_key: SecretString,
}

/// The JSON `payhub merchant create --json` prints: the id and every credential.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsView {
    pub merchant_id: String,
    pub name: String,
    pub api_key: String,
    /// The same key as HTTP Basic credentials.
    pub basic_auth: BasicAuthView,
    /// The retail dialect's `apiKey` and signing secret.
    pub retail: RetailCredentialsView,
    /// The secret webhooks and hub notifications are signed with (Standard Webhooks).
    pub webhook_secret: String,
}

/// Retail (seed 003) credentials.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetailCredentialsView {
    pub api_key: String,
    pub secret: String,
}

/// HTTP Basic form of a merchant's credentials.
#[derive(Serialize)]
pub struct BasicAuthView {
    pub username: String,
    pub password: String,
}

impl NewMerchantCredentials {
    /// The printable view; the only place the keys leave their secret wrappers.
    pub fn view(&self, master_key: &MasterKey) -> CredentialsView {
        CredentialsView {
            merchant_id: self.merchant.id.to_string(),
            name: self.merchant.name.clone(),
            api_key: self.api_key.expose_secret().to_owned(),
            basic_auth: BasicAuthView {
                username: self.merchant.id.to_string(),
                password: self.api_key.expose_secret().to_owned(),
            },
            retail: retail_credentials(&self.merchant, master_key),
            webhook_secret: master_key
                .webhook_secret(self.merchant.id.as_str())
                .expose_secret()
                .to_owned(),
        }
    }
}

/// A merchant's retail credentials (the secret is derived, never stored).
pub fn retail_credentials(merchant: &Merchant, master_key: &MasterKey) -> RetailCredentialsView {
    RetailCredentialsView {
        api_key: merchant.retail_api_key.clone(),
        secret: master_key
            .retail_secret(merchant.id.as_str())
            .expose_secret()
            .to_owned(),
    }
}

/// Reads a comma-separated list of gateway codes (`WXPAY,VMPAY`), refusing unknown ones.
pub fn parse_gateway_list(list: &str) -> anyhow::Result<Vec<String>> {
    let mut codes = Vec::new();
    for code in list.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let kind = GatewayKind::parse(code).ok_or_else(|| {
            anyhow::anyhow!("unknown gateway '{code}' (known: WXPAY, ALIPAY, ALIPAYOS, FPSPAY, VMPAY, UNIONPAY, TEST)")
        })?;
        if !codes.iter().any(|c| c == kind.code()) {
            codes.push(kind.code().to_owned());
        }
    }
    Ok(codes)
}

/// Hashes an API key for storage and lookup.
pub fn hash_api_key(api_key: &str) -> String {
    hex::encode(Sha256::digest(api_key.as_bytes()))
}

/// A retail `apiKey` like seed 003's (`pXBf7pn6lswN7b4N`): 16 letters and
/// digits. It is an identifier, not a secret; requests are proven by `sign`.
fn generate_retail_api_key() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::thread_rng(), 16)
}

fn generate_api_key() -> SecretString {
    let mut bytes = [0_u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    SecretString::from(format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// Creates a merchant named `name` and returns its credentials.
pub async fn create_merchant(
    store: &dyn Store,
    name: &str,
) -> Result<NewMerchantCredentials, StoreError> {
    let created = new_merchant(
        MerchantId::generate(),
        name,
        generate_api_key(),
        generate_retail_api_key(),
    );
    store.insert_merchant(&created.merchant).await?;
    Ok(created)
}

/// The demo merchant's credentials, derived from the master key: every node
/// sharing the key computes the same id and keys, so two nodes starting at
/// once on an empty database insert one merchant (the primary key refuses the
/// second) and print the same key. Nothing is written here.
pub fn demo_merchant_credentials(master_key: &MasterKey) -> NewMerchantCredentials {
    let id_bytes = master_key.demo_merchant_bytes("id");
    let id = MerchantId::parse(&format!("mer_{}", hex::encode(&id_bytes[..8])))
        .unwrap_or_else(|| unreachable!("16 hex digits make a merchant id"));
    let api_key = SecretString::from(format!(
        "{API_KEY_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(master_key.demo_merchant_bytes("api-key"))
    ));
    let retail_api_key = alphanumeric(&master_key.demo_merchant_bytes("retail-api-key"));
    new_merchant(id, "demo", api_key, retail_api_key)
}

/// Sixteen letters and digits made from `bytes` (a retail `apiKey` shape).
fn alphanumeric(bytes: &[u8; 32]) -> String {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    bytes[..16]
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

fn new_merchant(
    id: MerchantId,
    name: &str,
    api_key: SecretString,
    retail_api_key: String,
) -> NewMerchantCredentials {
    let merchant = Merchant {
        id,
        name: name.to_owned(),
        api_key_hash: hash_api_key(api_key.expose_secret()),
        retail_api_key,
        gateways: GatewayKind::ALL
            .iter()
            .map(|k| k.code().to_owned())
            .collect(),
        retail_signature: MODE_SHA1.to_owned(),
        created_at: Utc::now(),
    };
    NewMerchantCredentials { merchant, api_key }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_prefixed_and_hashed() {
        let a = generate_api_key();
        let b = generate_api_key();
        assert!(a.expose_secret().starts_with(API_KEY_PREFIX));
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(hash_api_key(a.expose_secret()).len(), 64);
        assert_ne!(hash_api_key(a.expose_secret()), a.expose_secret());
    }
}
