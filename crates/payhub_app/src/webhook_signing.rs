//! Signing outgoing webhooks the way the Standard Webhooks specification
//! describes (<https://www.standardwebhooks.com/>), so that a merchant can use
//! any of its libraries to verify them.
//!
//! Headers: `webhook-id` (stable across retries: deduplicate on it),
//! `webhook-timestamp` (Unix seconds of this attempt: reject old ones to stop
//! replays) and `webhook-signature` (`v1,` + Base64 of HMAC-SHA256 over
//! `{id}.{timestamp}.{body}`, keyed with the Base64-decoded part of the
//! merchant's `whsec_…` secret).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The three headers of a signed webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedHeaders {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
}

/// Signs `body` under `secret` (`whsec_…`); `None` when the secret is malformed.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<SignedHeaders> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    Some(SignedHeaders {
        id: id.to_owned(),
        timestamp: timestamp.to_string(),
        signature: format!("v1,{signature}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification and its reference libraries.
    #[test]
    fn matches_the_specification_example() {
        let signed = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(
            signed.map(|s| s.signature),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".to_owned())
        );
    }

    #[test]
    fn any_change_changes_the_signature() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let base = sign(secret, "a", 1, b"{}");
        assert_ne!(base, sign(secret, "b", 1, b"{}"));
        assert_ne!(base, sign(secret, "a", 2, b"{}"));
        assert_ne!(base, sign(secret, "a", 1, b"{ }"));
        assert_eq!(sign("whsec_***", "a", 1, b"{}"), None);
    }
}
