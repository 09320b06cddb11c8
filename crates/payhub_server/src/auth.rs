//! Who is calling: every API request names a merchant by its API key.
//!
//! Two forms are accepted, so that any HTTP client (and the TMF conformance kit,
//! which can add one configured header) can authenticate:
//! - `Authorization: Bearer <api key>`
//! - `Authorization: Basic base64(<merchant id>:<api key>)`

use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use payhub_store::{Merchant, Store, StoreError};
use subtle::ConstantTimeEq;

use crate::merchants::hash_api_key;

/// Why a request is not authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing Authorization header: send 'Authorization: Bearer <api key>' or HTTP Basic")]
    Missing,
    #[error("unsupported or malformed Authorization header")]
    Malformed,
    #[error("invalid credentials")]
    Invalid,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The credentials a request presented.
enum Presented {
    Bearer(String),
    Basic { username: String, password: String },
}

fn presented(headers: &HeaderMap) -> Result<Presented, AuthError> {
    let value = headers.get(AUTHORIZATION).ok_or(AuthError::Missing)?;
    let value = value.to_str().map_err(|_| AuthError::Malformed)?.trim();
    let (scheme, rest) = value.split_once(' ').ok_or(AuthError::Malformed)?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        return Ok(Presented::Bearer(rest.to_owned()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(rest).map_err(|_| AuthError::Malformed)?;
        let decoded = String::from_utf8(decoded).map_err(|_| AuthError::Malformed)?;
        let (username, password) = decoded.split_once(':').ok_or(AuthError::Malformed)?;
        return Ok(Presented::Basic {
            username: username.to_owned(),
            password: password.to_owned(),
        });
    }
    Err(AuthError::Malformed)
}

/// Recently authenticated keys, so that a busy client does not cost a
/// database lookup per request.
///
/// Entries live [`CACHE_TTL`]: a merchant removed from the database keeps
/// access that long at most. Only successful lookups are cached, so random
/// keys cannot fill it; past [`CACHE_CAPACITY`] entries it starts afresh.
#[derive(Default)]
pub struct MerchantCache {
    entries: RwLock<HashMap<String, (Merchant, Instant)>>,
}

/// How long a successful authentication is reused.
pub const CACHE_TTL: Duration = Duration::from_secs(30);
const CACHE_CAPACITY: usize = 10_000;

impl MerchantCache {
    fn get(&self, api_key_hash: &str) -> Option<Merchant> {
        let entries = self
            .entries
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries
            .get(api_key_hash)
            .filter(|(_, at)| at.elapsed() < CACHE_TTL)
            .map(|(m, _)| m.clone())
    }

    fn put(&self, api_key_hash: String, merchant: Merchant) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(api_key_hash, (merchant, Instant::now()));
    }
}

/// Finds the merchant whose credentials the request carries.
pub async fn authenticate(
    store: &dyn Store,
    cache: &MerchantCache,
    headers: &HeaderMap,
) -> Result<Merchant, AuthError> {
    let (api_key, username) = match presented(headers)? {
        Presented::Bearer(key) => (key, None),
        Presented::Basic { username, password } => (password, Some(username)),
    };
    let hash = hash_api_key(&api_key);
    let merchant = match cache.get(&hash) {
        Some(merchant) => merchant,
        None => {
            let merchant = store
                .find_merchant_by_api_key_hash(&hash)
                .await?
                .ok_or(AuthError::Invalid)?;
            cache.put(hash, merchant.clone());
            merchant
        }
    };
    if let Some(username) = username {
        // Basic must name the merchant the key belongs to.
        if !bool::from(username.as_bytes().ct_eq(merchant.id.as_str().as_bytes())) {
            return Err(AuthError::Invalid);
        }
    }
    // The access log's merchant, for every dialect that authenticates here
    // (docs/LOGGING.md).
    tracing::Span::current().record("merchant.id", merchant.id.as_str());
    Ok(merchant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use payhub_core::MerchantId;

    fn merchant() -> Merchant {
        Merchant {
            id: MerchantId::generate(),
            name: "m".into(),
            api_key_hash: "h".into(),
            retail_api_key: "k".into(),
            gateways: Vec::new(),
            retail_signature: "hmac-sha1".into(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn the_cache_returns_what_it_was_given_and_bounds_its_size() {
        let cache = MerchantCache::default();
        assert!(cache.get("a").is_none());
        let m = merchant();
        cache.put("a".into(), m.clone());
        assert_eq!(cache.get("a"), Some(m));
        for i in 0..CACHE_CAPACITY {
            cache.put(format!("k{i}"), merchant());
        }
        let len = cache.entries.read().map(|e| e.len()).unwrap_or(usize::MAX);
        assert!(len <= CACHE_CAPACITY, "{len}");
    }

    #[test]
    fn presented_credentials_are_parsed_strictly() {
        let headers = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                AUTHORIZATION,
                value.parse().unwrap_or_else(|_| unreachable!()),
            );
            h
        };
        assert!(matches!(presented(&headers("Bearer k")), Ok(Presented::Bearer(k)) if k == "k"));
        assert!(
            matches!(presented(&headers("basic dTpw")), Ok(Presented::Basic { username, password }) if username == "u" && password == "p")
        );
        for bad in ["Bearer ", "Digest x", "Basic ???", "Basic dXNlcg=="] {
            assert!(presented(&headers(bad)).is_err(), "{bad}");
        }
        assert!(matches!(
            presented(&HeaderMap::new()),
            Err(AuthError::Missing)
        ));
    }
}
