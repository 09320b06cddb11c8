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
}

/// HTTP Basic form of a merchant's credentials.
#[derive(Serialize)]
pub struct BasicAuthView {
    pub username: String,
    pub password: String,
}

impl NewMerchantCredentials {
    /// The printable view; the only place the key leaves its secret wrapper.
    pub fn view(&self) -> CredentialsView {
        CredentialsView {
            merchant_id: self.merchant.id.to_string(),
            name: self.merchant.name.clone(),
            api_key: self.api_key.expose_secret().to_owned(),
            basic_auth: BasicAuthView {
                username: self.merchant.id.to_string(),
                password: self.api_key.expose_secret().to_owned(),
            },
        }
    }
}

/// Hashes an API key for storage and lookup.
pub fn hash_api_key(api_key: &str) -> String {
    hex::encode(Sha256::digest(api_key.as_bytes()))
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
    let api_key = generate_api_key();
    let merchant = Merchant {
        id: MerchantId::generate(),
        name: name.to_owned(),
        api_key_hash: hash_api_key(api_key.expose_secret()),
        created_at: Utc::now(),
    };
    store.insert_merchant(&merchant).await?;
    Ok(NewMerchantCredentials { merchant, api_key })
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
