//! The records the store reads and writes besides the core's payments and refunds.

use chrono::{DateTime, Utc};
use payhub_core::{EventId, MerchantId, SubscriptionId};

/// A merchant and the hash of its API key.
#[derive(Clone, Debug, PartialEq)]
pub struct Merchant {
    pub id: MerchantId,
    pub name: String,
    /// SHA-256 of the API key, hex. The key is shown once at creation and never stored.
    pub api_key_hash: String,
    pub created_at: DateTime<Utc>,
}

/// Which rows of a merchant a list returns, before the facade's own filters.
///
/// Each `Some` list is an OR of values (SQL `IN`); the lists combine with AND.
/// These are the filters that indexes serve; anything else a facade filters on
/// it evaluates itself over the rows returned.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListFilter {
    pub ids: Option<Vec<i64>>,
    pub account_ids: Option<Vec<String>>,
    pub correlator_ids: Option<Vec<String>>,
    pub statuses: Option<Vec<String>>,
    /// Refunds only: the payments they belong to.
    pub payment_ids: Option<Vec<i64>>,
}

impl ListFilter {
    /// True when some list is present but empty, so no row can match.
    pub fn matches_nothing(&self) -> bool {
        self.ids.as_ref().is_some_and(Vec::is_empty)
            || self.account_ids.as_ref().is_some_and(Vec::is_empty)
            || self.correlator_ids.as_ref().is_some_and(Vec::is_empty)
            || self.statuses.as_ref().is_some_and(Vec::is_empty)
            || self.payment_ids.as_ref().is_some_and(Vec::is_empty)
    }
}

/// A window into an ordered list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub offset: i64,
    pub limit: i64,
}

/// One page of a list and the number of all rows that matched.
#[derive(Clone, Debug)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// A TMF hub subscription.
#[derive(Clone, Debug, PartialEq)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub merchant_id: MerchantId,
    pub callback: String,
    pub query: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A delivery of one event to one subscriber, claimed by a worker.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub event_id: EventId,
    pub subscription_id: SubscriptionId,
    pub merchant_id: MerchantId,
    pub callback: String,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// What happened when a worker tried a delivery.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryOutcome {
    pub delivered: bool,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    /// When to try again; `None` after a failure means the delivery gives up.
    pub retry_at: Option<DateTime<Utc>>,
}

/// A response kept under an idempotency key, replayed to retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedResponse {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

/// A response to keep under `key` in the same transaction as the work it reports.
#[derive(Clone, Debug)]
pub struct IdempotentResponse {
    pub merchant_id: MerchantId,
    pub key: String,
    pub response: SavedResponse,
}

/// What to do with a request that carries an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// The key is new (or its earlier attempt was abandoned): do the work.
    Proceed,
    /// The first request with this key and body finished: answer with its response.
    Replay(SavedResponse),
    /// The key was used with a different request.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
}
