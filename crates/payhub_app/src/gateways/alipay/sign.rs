//! Alipay's MAPI signatures, in both modes the cross-border documents name.
//!
//! The signed text ("Signing the request" in Alipay's global MAPI docs): every
//! parameter except `sign` and `sign_type`, and except those with an empty
//! value, sorted by name (byte order), joined as `name=value&name=value`,
//! with the raw (not URL-encoded) values, as UTF-8.
//! - **MD5**: `lowercase_hex(md5(text + md5_key))`.
//! - **RSA2**: `base64(SHA256withRSA(text))` with the merchant's private key;
//!   Alipay's answers and notifications verify with Alipay's public key.
//!
//! Alipay signs its answers the same way: a notification's form fields, and
//! the flat fields of an XML answer's `<response><alipay>` element.

use std::collections::BTreeMap;

use base64::Engine;
use md5::{Digest, Md5};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer as _, Verifier as _};
use rsa::{RsaPrivateKey, RsaPublicKey};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The text Alipay signs: sorted `k=v` pairs, without `sign`, `sign_type`
/// and empty values.
pub fn signing_text<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let sorted: BTreeMap<&str, &str> = params
        .into_iter()
        .filter(|(name, value)| *name != "sign" && *name != "sign_type" && !value.is_empty())
        .collect();
    let mut text = String::new();
    for (name, value) in sorted {
        if !text.is_empty() {
            text.push('&');
        }
        text.push_str(name);
        text.push('=');
        text.push_str(value);
    }
    text
}

/// How requests are signed and answers verified.
#[derive(Clone)]
pub enum Signer {
    /// The MAPI-era shared key.
    Md5 { key: SecretString },
    /// The merchant's RSA key pair and Alipay's public key.
    Rsa2 {
        private_key: Box<RsaPrivateKey>,
        alipay_public_key: Box<RsaPublicKey>,
    },
}

impl std::fmt::Debug for Signer {
    /// Names the mode only: keys never print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.sign_type())
    }
}

/// Why a key credential is not usable (the text never includes the key).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub &'static str);

impl Signer {
    /// The `sign_type` value Alipay expects.
    pub fn sign_type(&self) -> &'static str {
        match self {
            Signer::Md5 { .. } => "MD5",
            Signer::Rsa2 { .. } => "RSA2",
        }
    }

    /// RSA2 from the merchant's private key (PKCS#8 or PKCS#1 PEM) and
    /// Alipay's public key (SubjectPublicKeyInfo PEM, or its bare base64 as
    /// Alipay's console shows it).
    pub fn rsa2(private_pem: &str, alipay_public: &str) -> Result<Signer, (bool, KeyError)> {
        let private_key = RsaPrivateKey::from_pkcs8_pem(private_pem.trim())
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(private_pem.trim()))
            .map_err(|_| (true, KeyError("not a PKCS#8 or PKCS#1 PEM RSA private key")))?;
        let alipay_public_key = parse_public_key(alipay_public).map_err(|error| (false, error))?;
        Ok(Signer::Rsa2 {
            private_key: Box::new(private_key),
            alipay_public_key: Box::new(alipay_public_key),
        })
    }

    /// The signature of `text`.
    pub fn sign(&self, text: &str) -> String {
        match self {
            Signer::Md5 { key } => md5_hex(text, key.expose_secret()),
            Signer::Rsa2 { private_key, .. } => {
                let signing = SigningKey::<Sha256>::new(private_key.as_ref().clone());
                let signature: Signature = signing.sign(text.as_bytes());
                base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())
            }
        }
    }

    /// Whether `signature` is Alipay's over `text` in this mode.
    pub fn verify(&self, text: &str, signature: &str) -> bool {
        match self {
            Signer::Md5 { key } => {
                let expected = md5_hex(text, key.expose_secret());
                subtle::ConstantTimeEq::ct_eq(
                    expected.as_bytes(),
                    signature.to_ascii_lowercase().as_bytes(),
                )
                .into()
            }
            Signer::Rsa2 {
                alipay_public_key, ..
            } => {
                let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(signature.trim())
                else {
                    return false;
                };
                let Ok(signature) = Signature::try_from(bytes.as_slice()) else {
                    return false;
                };
                VerifyingKey::<Sha256>::new(alipay_public_key.as_ref().clone())
                    .verify(text.as_bytes(), &signature)
                    .is_ok()
            }
        }
    }
}

fn md5_hex(text: &str, key: &str) -> String {
    let mut digest = Md5::new();
    digest.update(text.as_bytes());
    digest.update(key.as_bytes());
    hex::encode(digest.finalize())
}

fn parse_public_key(text: &str) -> Result<RsaPublicKey, KeyError> {
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        return RsaPublicKey::from_public_key_pem(text)
            .map_err(|_| KeyError("not a PEM RSA public key"));
    }
    let compact: String = text.split_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| KeyError("neither PEM nor base64"))?;
    RsaPublicKey::from_public_key_der(&der).map_err(|_| KeyError("not an RSA public key"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// A 1024-bit key made for these tests with `openssl genpkey`; the
    /// expected signatures below were computed by `openssl dgst -sha256
    /// -sign` and `md5sum`, independently of this code.
    const UNIT_PKCS8: &str = include_str!("testdata/unit_pkcs8.pem");
    const UNIT_PKCS1: &str = include_str!("testdata/unit_pkcs1.pem");
    const UNIT_PUBLIC: &str = include_str!("testdata/unit_public.pem");
    const MD5_KEY: &str = "0123456789abcdefghijklmnopqrstuv";

    /// The request of Alipay's published `alipay.acquire.precreate` sample
    /// ("Pre-creating order using alipay.acquire.precreate", third-party QR
    /// code guide), with `sign` and `sign_type` among the parameters.
    fn sample() -> Vec<(&'static str, &'static str)> {
        vec![
            ("service", "alipay.acquire.precreate"),
            ("partner", "2088021966388155"),
            ("_input_charset", "UTF-8"),
            (
                "notify_url",
                "http://api.test.alipay.net/atinterface/receive_notify.htm",
            ),
            ("out_trade_no", "4363476566647440"),
            ("subject", "Payment by QR-Code"),
            ("product_code", "OVERSEAS_MBARCODE_PAY"),
            ("total_fee", "0.01"),
            ("trans_currency", "USD"),
            ("currency", "USD"),
            ("body", ""),
            ("sign", "2127020ad640f41eec725c639f1de294"),
            ("sign_type", "MD5"),
        ]
    }

    const SAMPLE_TEXT: &str = "_input_charset=UTF-8&currency=USD&notify_url=http://api.test.alipay.net/atinterface/receive_notify.htm&out_trade_no=4363476566647440&partner=2088021966388155&product_code=OVERSEAS_MBARCODE_PAY&service=alipay.acquire.precreate&subject=Payment by QR-Code&total_fee=0.01&trans_currency=USD";

    #[test]
    fn the_signed_text_is_sorted_without_sign_sign_type_and_empty_values() {
        assert_eq!(signing_text(sample()), SAMPLE_TEXT);
    }

    #[test]
    fn md5_matches_an_independent_md5_of_text_and_key() {
        // printf '%s%s' "$SAMPLE_TEXT" "$MD5_KEY" | md5sum
        let signer = Signer::Md5 {
            key: SecretString::from(MD5_KEY),
        };
        let expected = include_str!("testdata/sample_md5.txt").trim();
        assert_eq!(signer.sign(SAMPLE_TEXT), expected);
        assert!(signer.verify(SAMPLE_TEXT, expected));
        assert!(signer.verify(SAMPLE_TEXT, &expected.to_ascii_uppercase()));
        assert!(!signer.verify(&SAMPLE_TEXT.replace("0.01", "0.02"), expected));
    }

    #[test]
    fn rsa2_matches_openssl_and_reads_both_private_key_formats() {
        // printf '%s' "$SAMPLE_TEXT" | openssl dgst -sha256 -sign unit.pem | base64 -w0
        let expected = include_str!("testdata/sample_rsa2.txt").trim();
        for private in [UNIT_PKCS8, UNIT_PKCS1] {
            let signer = Signer::rsa2(private, UNIT_PUBLIC).unwrap();
            assert_eq!(signer.sign(SAMPLE_TEXT), expected);
            // The same pair plays Alipay here, so its own signature verifies.
            assert!(signer.verify(SAMPLE_TEXT, expected));
            assert!(!signer.verify(&SAMPLE_TEXT.replace("0.01", "0.02"), expected));
            assert!(!signer.verify(SAMPLE_TEXT, "not base64!"));
        }
    }

    #[test]
    fn alipays_public_key_may_be_bare_base64() {
        let bare: String = UNIT_PUBLIC
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        let signer = Signer::rsa2(UNIT_PKCS8, &bare).unwrap();
        let expected = include_str!("testdata/sample_rsa2.txt").trim();
        assert!(signer.verify(SAMPLE_TEXT, expected));
    }

    #[test]
    fn unusable_keys_are_refused_without_echoing_them() {
        let (private, error) =
            Signer::rsa2("-----BEGIN PRIVATE KEY-----\nsecretstuff", UNIT_PUBLIC).unwrap_err();
        assert!(private);
        assert!(!error.to_string().contains("secretstuff"));
        let (private, _) = Signer::rsa2(UNIT_PKCS8, "garbage").unwrap_err();
        assert!(!private);
    }

    #[test]
    fn debug_names_the_mode_only() {
        let signer = Signer::Md5 {
            key: SecretString::from(MD5_KEY),
        };
        assert_eq!(format!("{signer:?}"), "MD5");
        let signer = Signer::rsa2(UNIT_PKCS8, UNIT_PUBLIC).unwrap();
        assert_eq!(format!("{signer:?}"), "RSA2");
    }
}
