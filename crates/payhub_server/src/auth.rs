//! Who is calling: every API request names a merchant by its API key.
//!
//! Two forms are accepted, so that any HTTP client (and the TMF conformance kit,
//! which can add one configured header) can authenticate:
//! - `Authorization: Bearer <api key>`
//! - `Authorization: Basic base64(<merchant id>:<api key>)`

use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
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

/// Finds the merchant whose credentials the request carries.
pub async fn authenticate(store: &dyn Store, headers: &HeaderMap) -> Result<Merchant, AuthError> {
    let (api_key, username) = match presented(headers)? {
        Presented::Bearer(key) => (key, None),
        Presented::Basic { username, password } => (password, Some(username)),
    };
    let merchant = store
        .find_merchant_by_api_key_hash(&hash_api_key(&api_key))
        .await?
        .ok_or(AuthError::Invalid)?;
    if let Some(username) = username {
        // Basic must name the merchant the key belongs to.
        if !bool::from(username.as_bytes().ct_eq(merchant.id.as_str().as_bytes())) {
            return Err(AuthError::Invalid);
        }
    }
    Ok(merchant)
}
