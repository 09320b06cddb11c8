//! Decrypting a notification's `resource` (WeChat Pay APIv3 "Decrypting
//! callback messages"): `AEAD_AES_256_GCM` with the merchant's APIv3 key (32
//! bytes of text) as the key, `resource.nonce` (12 characters) as the IV,
//! `resource.associated_data` as the additional data, and
//! `resource.ciphertext` the base64 of the ciphertext followed by its 16-byte tag.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};

/// The only algorithm APIv3 notifications use.
pub const ALGORITHM: &str = "AEAD_AES_256_GCM";

/// The merchant's APIv3 key. Never printed.
#[derive(Clone)]
pub struct ApiV3Key(SecretString);

impl fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiV3Key(..)")
    }
}

/// Why a resource did not decrypt (never quoting the key or the text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    #[error("the nonce is not 12 bytes")]
    Nonce,
    #[error("the ciphertext is not base64")]
    Base64,
    #[error("the ciphertext does not authenticate with the APIv3 key")]
    Tag,
}

impl ApiV3Key {
    /// The key, which must be exactly 32 bytes (the merchant platform makes
    /// it 32 letters and digits).
    pub fn new(key: &SecretString) -> Option<ApiV3Key> {
        (key.expose_secret().len() == 32).then(|| ApiV3Key(key.clone()))
    }

    /// The plaintext of one `resource`.
    pub fn decrypt(
        &self,
        nonce: &str,
        associated_data: &str,
        ciphertext_base64: &str,
    ) -> Result<Vec<u8>, DecryptError> {
        decrypt_raw(
            self.0.expose_secret().as_bytes(),
            nonce.as_bytes(),
            associated_data.as_bytes(),
            &BASE64
                .decode(ciphertext_base64)
                .map_err(|_| DecryptError::Base64)?,
        )
    }
}

fn decrypt_raw(
    key: &[u8],
    nonce: &[u8],
    associated_data: &[u8],
    ciphertext_and_tag: &[u8],
) -> Result<Vec<u8>, DecryptError> {
    if nonce.len() != 12 {
        return Err(DecryptError::Nonce);
    }
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| DecryptError::Tag)?;
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext_and_tag,
                aad: associated_data,
            },
        )
        .map_err(|_| DecryptError::Tag)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly on a bad fixture")]
mod tests {
    use super::*;

    /// Test case 16 of McGrew & Viega, "The Galois/Counter Mode of Operation
    /// (GCM)" (the AES-256 case with additional data and a 96-bit IV).
    #[test]
    fn the_gcm_specification_s_aes_256_vector_decrypts() {
        let key = hex::decode("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
            .unwrap();
        let iv = hex::decode("cafebabefacedbaddecaf888").unwrap();
        let aad = hex::decode("feedfacedeadbeeffeedfacedeadbeefabaddad2").unwrap();
        let ciphertext = hex::decode("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662").unwrap();
        let tag = hex::decode("76fc6ece0f4e1768cddf8853bb2d551b").unwrap();
        let plaintext = hex::decode("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39").unwrap();
        let sealed = [ciphertext, tag].concat();
        assert_eq!(decrypt_raw(&key, &iv, &aad, &sealed), Ok(plaintext));
        let mut tampered = sealed.clone();
        tampered[0] ^= 1;
        assert_eq!(
            decrypt_raw(&key, &iv, &aad, &tampered),
            Err(DecryptError::Tag)
        );
        assert_eq!(
            decrypt_raw(&key, &iv, b"other", &sealed),
            Err(DecryptError::Tag)
        );
    }

    /// A resource shaped as WeChat Pay sends one (text key, text nonce,
    /// `associated_data` "transaction"), encrypted by Python's
    /// `cryptography` AESGCM, an implementation independent of this one.
    #[test]
    fn a_wechat_shaped_resource_decrypts_with_the_api_v3_key() {
        let key = ApiV3Key::new(&SecretString::from("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb")).unwrap();
        let plaintext = key
            .decrypt(
                "0123456789ab",
                "transaction",
                "LYUIiWaTlOtlVpwY6X5lno7j+iJbJJUl6v3kggqVnqMATuhWSXDo9YBMQcu0sntbgHEms7Iv3xww7SUPOJyyt3oKgzH95TznDvwHMy4DvnNC2dvrm3q2",
            )
            .unwrap();
        assert_eq!(
            plaintext,
            br#"{"out_trade_no":"1217752501201407033233368018","trade_state":"SUCCESS"}"#
        );
        assert_eq!(
            key.decrypt("0123456789", "transaction", "AAAA"),
            Err(DecryptError::Nonce)
        );
        assert_eq!(
            key.decrypt("0123456789ab", "transaction", "%%%"),
            Err(DecryptError::Base64)
        );
    }

    #[test]
    fn a_key_must_be_32_bytes_and_never_prints() {
        assert!(ApiV3Key::new(&SecretString::from("short")).is_none());
        let key = ApiV3Key::new(&SecretString::from("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb")).unwrap();
        assert_eq!(format!("{key:?}"), "ApiV3Key(..)");
    }
}
