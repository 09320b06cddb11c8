//! Secrets payhub derives instead of storing.
//!
//! Verifying an HMAC needs the secret itself, so a retail signing secret or a
//! webhook signing secret cannot be kept as a hash the way API keys are.
//! Instead each is derived from one master key and the merchant id
//! (HMAC-SHA256(master, purpose ‖ merchant id)): the database holds none of
//! them, and a stolen database copy signs nothing. The master key comes from
//! `PAYHUB_MASTER_KEY` or, on a single node, from `DATA_DIR/master.key`
//! (created on first start, readable by the owner only). Every node of a
//! cluster must share it.

use std::path::Path;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The key every derived secret comes from.
pub struct MasterKey(SecretBox<[u8; 32]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// Why the master key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("the master key must be 32 bytes in standard Base64 (44 characters)")]
    Malformed,
    #[error("cannot read or create the master key file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
}

impl MasterKey {
    /// Reads a Base64 key (what `PAYHUB_MASTER_KEY` holds).
    pub fn from_base64(text: &str) -> Result<MasterKey, MasterKeyError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| MasterKeyError::Malformed)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| MasterKeyError::Malformed)?;
        Ok(MasterKey(SecretBox::new(Box::new(key))))
    }

    /// Reads `path`, creating it with a fresh random key (mode 0600) when absent.
    pub fn load_or_create(path: &Path) -> Result<MasterKey, MasterKeyError> {
        let file_error = |source| MasterKeyError::File {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => MasterKey::from_base64(&text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0_u8; 32];
                rand::thread_rng().fill_bytes(&mut key);
                write_private(path, &STANDARD.encode(key)).map_err(file_error)?;
                Ok(MasterKey(SecretBox::new(Box::new(key))))
            }
            Err(error) => Err(file_error(error)),
        }
    }

    /// The configured key: `key` (`PAYHUB_MASTER_KEY`) when given, else the
    /// data directory's `master.key` (created when missing).
    pub fn configured(
        key: Option<&SecretString>,
        data_dir: &Path,
    ) -> Result<MasterKey, MasterKeyError> {
        match key {
            Some(key) => MasterKey::from_base64(key.expose_secret()),
            None => MasterKey::load_or_create(&data_dir.join("master.key")),
        }
    }

    /// A key for one purpose (and subject), derived from the master key.
    pub(crate) fn derive(&self, purpose: &str, subject: &str) -> [u8; 32] {
        let mut mac = HmacSha256::new_from_slice(self.0.expose_secret().as_slice())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(subject.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A one-way fingerprint of the key, stored in the database by the first
    /// node so that every later node can prove it holds the same key (see
    /// [`check_cluster_master_key`]). It reveals nothing about the key.
    pub fn fingerprint(&self) -> String {
        let bytes = self.derive("master-key-fingerprint-v1", "");
        format!("hmac-sha256:{}", hex::encode(&bytes[..16]))
    }

    /// Bytes the demo merchant's id and keys are made of: derived, so that
    /// every node of a cluster creates (and prints) the same demo merchant.
    pub fn demo_merchant_bytes(&self, part: &str) -> [u8; 32] {
        self.derive("demo-merchant-v1", part)
    }

    /// The merchant's retail signing secret (seed 003's "secret").
    pub fn retail_secret(&self, merchant_id: &str) -> SecretString {
        let bytes = self.derive("retail-secret-v1", merchant_id);
        SecretString::from(URL_SAFE_NO_PAD.encode(&bytes[..24]))
    }

    /// The merchant's webhook signing secret, in Standard Webhooks form
    /// (`whsec_` + Base64 of the key bytes).
    pub fn webhook_secret(&self, merchant_id: &str) -> SecretString {
        let bytes = self.derive("webhook-secret-v1", merchant_id);
        SecretString::from(format!("whsec_{}", STANDARD.encode(&bytes[..24])))
    }

    /// The unguessable part of a hosted page link: whoever has the link may
    /// pay, and nobody can construct one for another payment.
    pub fn page_token(&self, payment_id: i64) -> String {
        let bytes = self.derive("payment-page-v1", &payment_id.to_string());
        URL_SAFE_NO_PAD.encode(&bytes[..18])
    }

    /// The unguessable part of a telco consent link (sent to the subscriber by SMS).
    pub fn consent_token(&self, payment_id: i64) -> String {
        let bytes = self.derive("telco-consent-v1", &payment_id.to_string());
        URL_SAFE_NO_PAD.encode(&bytes[..18])
    }

    /// Checks a consent token in constant time.
    pub fn consent_token_matches(&self, payment_id: i64, token: &str) -> bool {
        use subtle::ConstantTimeEq;
        self.consent_token(payment_id)
            .as_bytes()
            .ct_eq(token.as_bytes())
            .into()
    }

    /// Checks a page token in constant time.
    pub fn page_token_matches(&self, payment_id: i64, token: &str) -> bool {
        use subtle::ConstantTimeEq;
        self.page_token(payment_id)
            .as_bytes()
            .ct_eq(token.as_bytes())
            .into()
    }
}

/// Writes a file only its owner may read (mode 0600 on Unix): the master
/// key and the demo merchant's credentials.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// The cluster setting holding [`MasterKey::fingerprint`].
pub const FINGERPRINT_SETTING: &str = "master_key_fingerprint";

/// Why a node may not use its master key with this database.
#[derive(Debug, thiserror::Error)]
pub enum ClusterKeyError {
    #[error(
        "this node's master key is not the one this database was first used with \
         (fingerprint {ours}, the database expects {expected}); every node must be started \
         with the same PAYHUB_MASTER_KEY (or the same DATA_DIR/master.key) as the first one"
    )]
    Mismatch { ours: String, expected: String },
    #[error(transparent)]
    Store(#[from] payhub_store::StoreError),
}

/// Records the master key's fingerprint on the database's first start and,
/// on every later start, refuses a different key: secrets derived from it
/// (retail and webhook secrets, payment page and consent links) must be the
/// same on every node, or a request signed for one node fails on another.
pub async fn check_cluster_master_key(
    store: &dyn payhub_store::Store,
    master_key: &MasterKey,
) -> Result<(), ClusterKeyError> {
    let ours = master_key.fingerprint();
    let expected = store
        .claim_cluster_setting(FINGERPRINT_SETTING, &ours, chrono::Utc::now())
        .await?;
    if expected == ours {
        Ok(())
    } else {
        Err(ClusterKeyError::Mismatch { ours, expected })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MasterKey {
        MasterKey::from_base64(&STANDARD.encode([7_u8; 32])).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn secrets_differ_per_merchant_and_purpose_and_are_stable() {
        let key = key();
        let a = key.retail_secret("mer_a");
        assert_eq!(
            a.expose_secret(),
            key.retail_secret("mer_a").expose_secret()
        );
        assert_ne!(
            a.expose_secret(),
            key.retail_secret("mer_b").expose_secret()
        );
        assert!(key
            .webhook_secret("mer_a")
            .expose_secret()
            .starts_with("whsec_"));
        assert!(key.page_token_matches(42, &key.page_token(42)));
        assert!(!key.page_token_matches(43, &key.page_token(42)));
    }

    #[test]
    fn fingerprints_tell_keys_apart_without_revealing_them() {
        let other = MasterKey::from_base64(&STANDARD.encode([8_u8; 32]))
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(key().fingerprint(), key().fingerprint());
        assert_ne!(key().fingerprint(), other.fingerprint());
        assert!(!key().fingerprint().contains(&STANDARD.encode([7_u8; 32])));
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert!(MasterKey::from_base64("short").is_err());
        assert!(MasterKey::from_base64(&STANDARD.encode([1_u8; 16])).is_err());
    }
}
