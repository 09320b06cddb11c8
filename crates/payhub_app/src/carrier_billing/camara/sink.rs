//! The CAMARA API's notifications to payhub (`sink`): where they go and the
//! bearer token that proves one came from the operator payhub asked.
//!
//! Every payment payhub creates or prepares names its own sink,
//! `{sink_url}/{payment id}`, and an `ACCESSTOKEN` credential for it: an
//! HMAC of the payment id under a key derived from the master key. The
//! token opens that one payment's sink only, so a token seen in one
//! notification cannot speak about another payment, and every node of a
//! cluster (same master key) accepts it with nothing stored.

use chrono::{DateTime, Utc};
use payhub_core::PaymentId;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use crate::secrets::MasterKey;

/// How long a sink token is announced as valid: beyond any consent and
/// reservation (the API asks that it outlive the payment).
const TOKEN_LIFETIME_DAYS: i64 = 30;

/// Makes and checks sink tokens.
#[derive(Clone)]
pub struct SinkTokens {
    key: [u8; 32],
}

impl std::fmt::Debug for SinkTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SinkTokens(..)")
    }
}

impl SinkTokens {
    pub fn new(master_key: &MasterKey) -> SinkTokens {
        SinkTokens {
            key: master_key.derive("camara-sink-token-v1", ""),
        }
    }

    /// The token of one payment's sink.
    pub fn token(&self, payment: PaymentId) -> String {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(payment.get().to_string().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `presented` is the token of `payment`'s sink (compared in
    /// constant time).
    pub fn admits(&self, payment: PaymentId, presented: &str) -> bool {
        bool::from(self.token(payment).as_bytes().ct_eq(presented.as_bytes()))
    }
}

/// Where payhub asks to be notified, and with which tokens.
#[derive(Clone, Debug)]
pub struct Sink {
    /// payhub's public `https` address of the notification route, without
    /// the payment id (the API accepts only `https` sinks).
    pub url: String,
    pub tokens: SinkTokens,
}

impl Sink {
    /// The `sink` and `sinkCredential` members for a booking under `key`
    /// (a transaction's payment id); `None` for a key that is not one.
    pub(super) fn members(&self, key: &str, now: DateTime<Utc>) -> Option<(Value, Value)> {
        let payment = key.parse::<PaymentId>().ok()?;
        let expires = now + chrono::Duration::days(TOKEN_LIFETIME_DAYS);
        Some((
            json!(format!("{}/{}", self.url.trim_end_matches('/'), key)),
            json!({
                "credentialType": "ACCESSTOKEN",
                "accessToken": self.tokens.token(payment),
                "accessTokenExpiresUtc": expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "accessTokenType": "bearer",
            }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(seed: u8) -> SinkTokens {
        use base64::Engine;
        let text = base64::engine::general_purpose::STANDARD.encode([seed; 32]);
        let key = MasterKey::from_base64(&text).unwrap_or_else(|e| unreachable!("{e}"));
        SinkTokens::new(&key)
    }

    fn id(value: i64) -> Result<PaymentId, String> {
        PaymentId::from_i64(value).ok_or_else(|| format!("{value} is no id"))
    }

    #[test]
    fn a_token_opens_its_own_payments_sink_only() -> Result<(), String> {
        let tokens = tokens(7);
        let (one, other) = (id(41)?, id(42)?);
        let token = tokens.token(one);
        assert_eq!(token.len(), 64);
        assert!(tokens.admits(one, &token));
        assert!(!tokens.admits(other, &token));
        assert!(!tokens.admits(one, ""));
        assert!(!tokens.admits(one, &token[..63]));
        assert!(!super::tests::tokens(8).admits(one, &token), "another key");
        Ok(())
    }

    #[test]
    fn the_sink_names_the_payment_and_a_bearer_credential() -> Result<(), String> {
        let sink = Sink {
            url: "https://payhub.example/carrier/camara/notifications/".into(),
            tokens: tokens(1),
        };
        let now = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .map_err(|e| e.to_string())?
            .with_timezone(&Utc);
        let (url, credential) = sink.members("41", now).ok_or("no members")?;
        assert_eq!(
            url,
            "https://payhub.example/carrier/camara/notifications/41"
        );
        assert_eq!(credential["credentialType"], "ACCESSTOKEN");
        assert_eq!(credential["accessTokenType"], "bearer");
        assert_eq!(credential["accessTokenExpiresUtc"], "2026-12-25T10:00:00Z");
        let token = credential["accessToken"].as_str().ok_or("no token")?;
        assert!(sink.tokens.admits(id(41)?, token));
        assert!(sink.members("refund:41", now).is_none());
        Ok(())
    }
}
