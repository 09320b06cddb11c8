//! APS accounts: created and credited by operators (`payhub aps …`).

use chrono::Utc;
use payhub_core::{Currency, MerchantId, Money};
use payhub_store::{ApsAccount, Store, StoreError};
use rand::Rng;

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("'{0}' is not a UUID (e.g. 4b1e6c1a-7f33-4b8e-9a53-2f0c1d5e8a10)")]
    NotAUuid(String),
    #[error("{0}")]
    Amount(String),
    #[error("the aps id or account id is already used")]
    Taken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A fresh random (version 4) UUID, lower-case.
pub fn new_uuid() -> String {
    let mut bytes: [u8; 16] = rand::thread_rng().gen();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Checks the UUID text form (8-4-4-4-12 hex digits) and lower-cases it.
pub fn parse_uuid(text: &str) -> Result<String, AccountError> {
    let groups: Vec<&str> = text.split('-').collect();
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let valid = lengths == [8, 4, 4, 4, 12]
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()));
    if !valid {
        return Err(AccountError::NotAUuid(text.to_owned()));
    }
    Ok(text.to_ascii_lowercase())
}

/// Reads an operator's amount (`25.00`) exactly in `currency`.
pub fn parse_amount(text: &str, currency: Currency) -> Result<Money, AccountError> {
    Money::parse_decimal(text.trim(), currency).map_err(|e| AccountError::Amount(e.to_string()))
}

/// Creates an account of `merchant` with `credit` available; fresh UUIDs for
/// the ids not given.
pub async fn create_account(
    store: &dyn Store,
    merchant: &MerchantId,
    currency: Currency,
    credit: Option<Money>,
    aps_id: Option<&str>,
    account_id: Option<&str>,
) -> Result<ApsAccount, AccountError> {
    let aps_id = match aps_id {
        Some(id) => parse_uuid(id)?,
        None => new_uuid(),
    };
    let account_id = match account_id {
        Some(id) => parse_uuid(id)?,
        None => new_uuid(),
    };
    let account = ApsAccount {
        aps_id,
        merchant_id: merchant.clone(),
        account_id,
        currency,
        available_credit_minor: credit.map_or(0, |c| c.amount_minor()),
        created_at: Utc::now(),
    };
    match store.insert_aps_account(&account).await {
        Ok(()) => Ok(account),
        Err(StoreError::IdCollision) => Err(AccountError::Taken),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4_and_parse() {
        let id = new_uuid();
        assert_eq!(parse_uuid(&id).ok().as_deref(), Some(id.as_str()));
        assert_eq!(&id[14..15], "4");
        assert!(parse_uuid("not-a-uuid").is_err());
        assert!(parse_uuid("4B1E6C1A-7F33-4B8E-9A53-2F0C1D5E8A10").is_ok());
    }
}
