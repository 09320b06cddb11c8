//! WeChat Pay APIv3 signatures: the merchant signs each request, WeChat Pay
//! signs each answer and notification.
//!
//! Followed: WeChat Pay APIv3 "Signature generation" and "Signature
//! verification" (pay.weixin.qq.com, the rules the global API at
//! `apihk.mch.weixin.qq.com` shares with the mainland one):
//!
//! - A request's signed message is `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n`
//!   (an empty body for GET still ends in `\n`), signed SHA256withRSA
//!   (PKCS#1 v1.5) with the merchant's API private key, and sent as
//!   `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",signature="…",timestamp="…",serial_no="…"`.
//! - An answer's or notification's signed message is
//!   `TIMESTAMP\nNONCE\nBODY\n` from the `Wechatpay-Timestamp`,
//!   `Wechatpay-Nonce` headers and the raw body; `Wechatpay-Signature` is the
//!   base64 SHA256withRSA signature by WeChat Pay's key, named by
//!   `Wechatpay-Serial`.
//!
//! payhub verifies with the **WeChat Pay public key** (the newer scheme: a
//! PEM public key with an id such as `PUB_KEY_ID_…`, shown once in the
//! merchant platform), not with downloaded platform certificates: one key, no
//! certificate download call, and a serial that must match exactly.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use rand::distributions::Alphanumeric;
use rand::Rng;
use reqwest::header::HeaderMap;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;

/// The scheme name of the `Authorization` header.
pub const AUTH_SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";

/// How far a signed answer's or notification's timestamp may be from now,
/// either way. The official SDKs refuse anything more than five minutes off,
/// which bounds how long a captured notification can be replayed.
pub const MAX_CLOCK_SKEW_S: i64 = 5 * 60;

/// The text a request's signature covers.
pub fn request_message(
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &str,
) -> String {
    format!("{method}\n{path_and_query}\n{timestamp}\n{nonce}\n{body}\n")
}

/// The text an answer's or a notification's signature covers.
pub fn answer_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(timestamp.len() + nonce.len() + body.len() + 3);
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(nonce.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(body);
    message.push(b'\n');
    message
}

/// A fresh `nonce_str`: 32 letters and digits.
pub fn new_nonce() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

/// Signs payhub's requests as one merchant. Never printed: the key is secret.
pub struct MerchantSigner {
    mchid: String,
    serial_no: String,
    key: SigningKey<Sha256>,
}

impl fmt::Debug for MerchantSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MerchantSigner")
            .field("mchid", &self.mchid)
            .field("serial_no", &self.serial_no)
            .finish_non_exhaustive()
    }
}

/// Why a key could not be read (never quoting the key).
#[derive(Debug, PartialEq, Eq)]
pub struct BadKey(pub &'static str);

impl MerchantSigner {
    /// The signer for `mchid` with its API certificate's serial number and
    /// its private key (PEM, PKCS#8 `BEGIN PRIVATE KEY`, as WeChat Pay's
    /// certificate tool writes `apiclient_key.pem`).
    pub fn new(mchid: &str, serial_no: &str, private_key_pem: &str) -> Result<Self, BadKey> {
        let key = RsaPrivateKey::from_pkcs8_pem(private_key_pem.trim())
            .map_err(|_| BadKey("not a PKCS#8 PEM RSA private key"))?;
        Ok(MerchantSigner {
            mchid: mchid.to_owned(),
            serial_no: serial_no.to_owned(),
            key: SigningKey::new(key),
        })
    }

    /// The base64 signature of `message`.
    pub fn sign(&self, message: &str) -> Result<String, BadKey> {
        let signature: Signature = self
            .key
            .try_sign(message.as_bytes())
            .map_err(|_| BadKey("the private key cannot sign"))?;
        Ok(BASE64.encode(signature.to_bytes()))
    }

    /// The `Authorization` header of one request.
    pub fn authorization(
        &self,
        method: &str,
        path_and_query: &str,
        timestamp: i64,
        nonce: &str,
        body: &str,
    ) -> Result<String, BadKey> {
        let signature = self.sign(&request_message(
            method,
            path_and_query,
            timestamp,
            nonce,
            body,
        ))?;
        Ok(format!(
            r#"{AUTH_SCHEME} mchid="{}",nonce_str="{nonce}",signature="{signature}",timestamp="{timestamp}",serial_no="{}""#,
            self.mchid, self.serial_no
        ))
    }
}

/// Verifies what WeChat Pay signed, with its public key.
pub struct PlatformVerifier {
    serial: String,
    key: VerifyingKey<Sha256>,
}

impl fmt::Debug for PlatformVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformVerifier")
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

/// Why a signed answer or notification is not trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the header {0} is missing or not text")]
    MissingHeader(&'static str),
    #[error("signed with a key other than the configured WeChat Pay public key")]
    WrongSerial,
    #[error("the signature's timestamp is not a number or more than five minutes off")]
    Stale,
    #[error("the signature does not verify")]
    BadSignature,
}

impl PlatformVerifier {
    /// The verifier for the WeChat Pay public key `serial` (its id) and its
    /// PEM (`BEGIN PUBLIC KEY`).
    pub fn new(serial: &str, public_key_pem: &str) -> Result<Self, BadKey> {
        let key = RsaPublicKey::from_public_key_pem(public_key_pem.trim())
            .map_err(|_| BadKey("not a PEM RSA public key (BEGIN PUBLIC KEY)"))?;
        Ok(PlatformVerifier {
            serial: serial.to_owned(),
            key: VerifyingKey::new(key),
        })
    }

    /// Checks the `Wechatpay-*` headers against `body`, at `now` (Unix seconds).
    pub fn verify(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), VerifyError> {
        let serial = header(headers, "Wechatpay-Serial")?;
        let timestamp = header(headers, "Wechatpay-Timestamp")?;
        let nonce = header(headers, "Wechatpay-Nonce")?;
        let signature = header(headers, "Wechatpay-Signature")?;
        if serial != self.serial {
            return Err(VerifyError::WrongSerial);
        }
        let at: i64 = timestamp.parse().map_err(|_| VerifyError::Stale)?;
        if now.abs_diff(at) > MAX_CLOCK_SKEW_S.unsigned_abs() {
            return Err(VerifyError::Stale);
        }
        let bytes = BASE64
            .decode(signature)
            .map_err(|_| VerifyError::BadSignature)?;
        let signature =
            Signature::try_from(bytes.as_slice()).map_err(|_| VerifyError::BadSignature)?;
        self.key
            .verify(&answer_message(timestamp, nonce, body), &signature)
            .map_err(|_| VerifyError::BadSignature)
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<&'h str, VerifyError> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .ok_or(VerifyError::MissingHeader(name))
}

#[cfg(test)]
pub(crate) mod test_keys {
    //! Fixed RSA-2048 keys (made once with `openssl genpkey -algorithm RSA
    //! -pkeyopt rsa_keygen_bits:2048`), so tests never generate keys.
    pub const MERCHANT_PRIVATE: &str = include_str!("testdata/merchant_private.pem");
    pub const PLATFORM_PRIVATE: &str = include_str!("testdata/platform_private.pem");
    pub const PLATFORM_PUBLIC: &str = include_str!("testdata/platform_public.pem");
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly on a bad fixture")]
mod tests {
    use super::test_keys::*;
    use super::*;
    use reqwest::header::HeaderValue;

    /// The example of APIv3 "Signature generation": a GET of
    /// `/v3/certificates` at 1554208460 with nonce
    /// 593BEC0C930BF1AFEB40B4A08C8FB242 and no body.
    #[test]
    fn the_request_message_is_the_documented_one() {
        assert_eq!(
            request_message(
                "GET",
                "/v3/certificates",
                1554208460,
                "593BEC0C930BF1AFEB40B4A08C8FB242",
                ""
            ),
            "GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n"
        );
    }

    /// SHA256withRSA PKCS#1 v1.5 is deterministic: the signature of the
    /// documented message with the fixed key is the one
    /// `openssl dgst -sha256 -sign merchant_private.pem | base64` gives.
    #[test]
    fn the_signature_matches_openssl_for_the_fixed_key() {
        let signer = MerchantSigner::new(
            "1900009191",
            "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",
            MERCHANT_PRIVATE,
        )
        .unwrap();
        let header = signer
            .authorization(
                "GET",
                "/v3/certificates",
                1554208460,
                "593BEC0C930BF1AFEB40B4A08C8FB242",
                "",
            )
            .unwrap();
        let expected = "IBqtl87mKrmATR1HVWvGqWIs3E/naVJWLAZyHygUqLpHICQYRcyiPQam7vfK53rRd1vs+c5mfERM4XNTlO9CTaY/E+TxWqKzE0NZTs9/ujyNihbxAZNsxFZGE74YJXLnxkFLyqra3VpmxKvmUtOaUN4w9Ap7NV40TPTlk3PlvccmOYCfnnQuYgzrOm9WjwIQQxbujE5ttiVFZ//1yhlFAmxbhizNPXWqoJNIUG7vUmMQpfY5Jve0K1uh2UIZ9Da7WEDeFX5xd3+5AvbDW2+In9ZdCirhIN/S1tLTwbGVfpvHbWsm9Cp2WXD6lpnUTXWiIX+M/F4Ahl//csxLSUaRvQ==";
        assert_eq!(
            header,
            format!(
                r#"WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",signature="{expected}",timestamp="1554208460",serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C""#
            )
        );
    }

    fn signed_headers(serial: &str, timestamp: i64, body: &[u8], key_pem: &str) -> HeaderMap {
        let signer = MerchantSigner::new("x", "x", key_pem).unwrap();
        let nonce = "fdasflkja484w";
        let message = answer_message(&timestamp.to_string(), nonce, body);
        let signature = signer.sign(std::str::from_utf8(&message).unwrap()).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("Wechatpay-Serial", HeaderValue::from_str(serial).unwrap());
        headers.insert(
            "Wechatpay-Timestamp",
            HeaderValue::from_str(&timestamp.to_string()).unwrap(),
        );
        headers.insert("Wechatpay-Nonce", HeaderValue::from_static("fdasflkja484w"));
        headers.insert(
            "Wechatpay-Signature",
            HeaderValue::from_str(&signature).unwrap(),
        );
        headers
    }

    #[test]
    fn answers_verify_only_when_signed_by_the_configured_key_recently() {
        let verifier = PlatformVerifier::new("PUB_KEY_ID_0001", PLATFORM_PUBLIC).unwrap();
        let body = br#"{"code_url":"weixin://wxpay/bizpayurl/up?pr=NwY5Mz9&groupid=00"}"#;
        let now = 1_700_000_000;
        let good = signed_headers("PUB_KEY_ID_0001", now, body, PLATFORM_PRIVATE);
        assert_eq!(verifier.verify(&good, body, now), Ok(()));
        assert_eq!(verifier.verify(&good, body, now + MAX_CLOCK_SKEW_S), Ok(()));

        let cases: [(&str, HeaderMap, &[u8], i64, VerifyError); 5] = [
            (
                "body changed",
                good.clone(),
                b"{}",
                now,
                VerifyError::BadSignature,
            ),
            (
                "too old",
                good.clone(),
                body,
                now + MAX_CLOCK_SKEW_S + 1,
                VerifyError::Stale,
            ),
            (
                "from the future",
                good.clone(),
                body,
                now - MAX_CLOCK_SKEW_S - 1,
                VerifyError::Stale,
            ),
            (
                "other serial",
                signed_headers("PUB_KEY_ID_0002", now, body, PLATFORM_PRIVATE),
                body,
                now,
                VerifyError::WrongSerial,
            ),
            (
                "merchant's key",
                signed_headers("PUB_KEY_ID_0001", now, body, MERCHANT_PRIVATE),
                body,
                now,
                VerifyError::BadSignature,
            ),
        ];
        for (why, headers, body, at, error) in cases {
            assert_eq!(verifier.verify(&headers, body, at), Err(error), "{why}");
        }
        let mut unsigned = good.clone();
        unsigned.remove("Wechatpay-Signature");
        assert_eq!(
            verifier.verify(&unsigned, body, now),
            Err(VerifyError::MissingHeader("Wechatpay-Signature"))
        );
    }

    #[test]
    fn keys_are_never_printed() {
        let signer = MerchantSigner::new("1900009191", "SERIAL", MERCHANT_PRIVATE).unwrap();
        let printed = format!("{signer:?}");
        assert!(printed.contains("1900009191"));
        assert!(!printed.contains("key"), "{printed}");
        assert!(MerchantSigner::new(
            "1",
            "S",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
        )
        .is_err());
        assert!(PlatformVerifier::new("S", MERCHANT_PRIVATE).is_err());
    }
}
