//! Connector credentials at rest: sealed with AES-256-GCM under a key derived
//! from the master key, bound to the account they belong to.
//!
//! A gateway's secret key must be given back to its API as it is, so it
//! cannot be hashed the way API keys are. The database holds only the sealed
//! form (`v1:` and the Base64 of a random 96-bit nonce ‖ ciphertext ‖ tag),
//! and the account id is the AEAD's associated data: a sealed blob copied
//! onto another account does not open. What may be shown is kept beside it:
//! the last four characters of each credential ([`hints`]).

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

use crate::secrets::MasterKey;

const PURPOSE: &str = "connector-credentials-v1";
const PREFIX: &str = "v1:";

/// Why sealed credentials do not open.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the sealed credentials are not in the v1 format")]
    Format,
    /// The master key is not the one they were sealed with, or the blob was
    /// changed or moved to another account.
    #[error("the sealed credentials do not open with this master key and account")]
    Open,
}

/// Seals `credentials` for account `account_id`.
pub fn seal(
    key: &MasterKey,
    account_id: &str,
    credentials: &BTreeMap<String, SecretString>,
) -> String {
    let plain: BTreeMap<&str, &str> = credentials
        .iter()
        .map(|(name, value)| (name.as_str(), value.expose_secret()))
        .collect();
    let plain = serde_json::to_vec(&plain).unwrap_or_default();
    let cipher = cipher(key);
    let mut nonce = [0_u8; 12];
    rand::thread_rng().fill_bytes(&mut nonce);
    let payload = Payload {
        msg: &plain,
        aad: account_id.as_bytes(),
    };
    // Encryption fails only for messages of gigabytes.
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), payload)
        .unwrap_or_default();
    let mut blob = nonce.to_vec();
    blob.extend_from_slice(&sealed);
    format!("{PREFIX}{}", STANDARD.encode(blob))
}

/// Opens what [`seal`] sealed for `account_id`.
pub fn open(
    key: &MasterKey,
    account_id: &str,
    sealed: &str,
) -> Result<BTreeMap<String, SecretString>, SealError> {
    let blob = sealed
        .strip_prefix(PREFIX)
        .and_then(|text| STANDARD.decode(text).ok())
        .filter(|blob| blob.len() > 12)
        .ok_or(SealError::Format)?;
    let (nonce, sealed) = blob.split_at(12);
    let payload = Payload {
        msg: sealed,
        aad: account_id.as_bytes(),
    };
    let plain = cipher(key)
        .decrypt(Nonce::from_slice(nonce), payload)
        .map_err(|_| SealError::Open)?;
    let parsed: BTreeMap<String, String> =
        serde_json::from_slice(&plain).map_err(|_| SealError::Format)?;
    Ok(parsed
        .into_iter()
        .map(|(name, value)| (name, SecretString::from(value)))
        .collect())
}

/// What may be shown of each credential: `…` and its last four characters,
/// or `****` for one too short to show any of it.
pub fn hints(credentials: &BTreeMap<String, SecretString>) -> BTreeMap<String, String> {
    credentials
        .iter()
        .map(|(name, value)| (name.clone(), hint(value.expose_secret())))
        .collect()
}

fn hint(value: &str) -> String {
    let value = value.trim_end();
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 12 {
        return "****".to_owned();
    }
    let last: String = chars[chars.len() - 4..].iter().collect();
    format!("…{last}")
}

fn cipher(key: &MasterKey) -> Aes256Gcm {
    let bytes = key.derive(PURPOSE, "");
    Aes256Gcm::new(&bytes.into())
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken fixture"
)]
mod tests {
    use super::*;

    fn key(byte: u8) -> MasterKey {
        MasterKey::from_base64(&STANDARD.encode([byte; 32])).unwrap()
    }

    fn credentials() -> BTreeMap<String, SecretString> {
        [
            ("secret_key", "sk_test_51Habcdefghijkl4242"),
            ("webhook_secret", "whsec_0123456789abcdef"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), SecretString::from(v)))
        .collect()
    }

    #[test]
    fn sealed_credentials_open_only_with_the_same_key_and_account() {
        let sealed = seal(&key(1), "ca_1", &credentials());
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("sk_test"), "nothing readable is stored");
        let opened = open(&key(1), "ca_1", &sealed).unwrap();
        assert_eq!(
            opened["secret_key"].expose_secret(),
            "sk_test_51Habcdefghijkl4242"
        );
        assert_eq!(opened.len(), 2);
        assert_eq!(open(&key(2), "ca_1", &sealed).unwrap_err(), SealError::Open);
        assert_eq!(open(&key(1), "ca_2", &sealed).unwrap_err(), SealError::Open);
        assert_eq!(
            open(&key(1), "ca_1", "sk_plain").unwrap_err(),
            SealError::Format
        );
        let mut tampered = sealed.clone();
        tampered.replace_range(10..11, if &sealed[10..11] == "A" { "B" } else { "A" });
        assert!(open(&key(1), "ca_1", &tampered).is_err());
    }

    #[test]
    fn each_sealing_uses_a_fresh_nonce() {
        assert_ne!(
            seal(&key(1), "ca_1", &credentials()),
            seal(&key(1), "ca_1", &credentials())
        );
    }

    #[test]
    fn hints_show_the_last_four_characters_of_long_values_only() {
        let table = [
            ("sk_test_51Habcdefghijkl4242", "…4242"),
            ("whsec_0123456789abcdef", "…cdef"),
            ("12345678901", "****"),
            ("", "****"),
        ];
        for (value, shown) in table {
            assert_eq!(hint(value), shown, "{value}");
        }
        assert_eq!(hints(&credentials())["secret_key"], "…4242");
    }
}
