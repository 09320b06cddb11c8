//! Identifiers.
//!
//! Payment and refund ids are positive 64-bit integers because the APS dialect
//! needs integers and TMF676 shows them as numeric strings. They must be unique
//! across several nodes without coordination and not be a guessable counter, so
//! each id is the milliseconds since 2024-01-01 (41 bits, good until 2093)
//! followed by a 22-bit suffix. Ids therefore sort by creation time, which keeps
//! index inserts local.
//!
//! The suffix starts at a random value in each millisecond and then advances by
//! a random step of 1 to 64, so one process never repeats an id (a bulk insert of
//! thousands of ids in one millisecond included) and the next id cannot be
//! guessed from the last. Two nodes can still draw the same id, rarely; the
//! primary key refuses the second and the caller retries with a fresh id.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use rand::Rng;

/// 2024-01-01T00:00:00Z in Unix milliseconds: the epoch of payhub ids.
const ID_EPOCH_MS: i64 = 1_704_067_200_000;
const SUFFIX_BITS: u32 = 22;
const SUFFIX_LIMIT: i64 = 1 << SUFFIX_BITS;
const TIME_BITS_MASK: i64 = (1 << 41) - 1;
const MAX_STEP: i64 = 64;

/// The last id drawn in this process, as (milliseconds, suffix).
static LAST: Mutex<(i64, i64)> = Mutex::new((-1, 0));

/// Draws a fresh time-ordered positive id for `now`, never repeating one this
/// process drew before.
pub fn generate_id(now: DateTime<Utc>) -> i64 {
    let mut rng = rand::thread_rng();
    let now_ms = (now.timestamp_millis() - ID_EPOCH_MS).clamp(0, TIME_BITS_MASK);
    let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let (last_ms, last_suffix) = *last;
    let (ms, suffix) = if now_ms > last_ms {
        // A new millisecond: start low in the range so that many ids fit after it.
        (now_ms, rng.gen_range(0..SUFFIX_LIMIT / 2))
    } else {
        // The same millisecond (or the clock went back): continue after the last.
        let next = last_suffix + rng.gen_range(1..=MAX_STEP);
        if next < SUFFIX_LIMIT {
            (last_ms, next)
        } else {
            (last_ms + 1, rng.gen_range(0..MAX_STEP))
        }
    };
    *last = (ms, suffix);
    // Never zero: a zero id would not be positive.
    ((ms << SUFFIX_BITS) | suffix).max(1)
}

macro_rules! integer_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        pub struct $name(i64);

        impl $name {
            /// Draws a new id.
            pub fn generate(now: DateTime<Utc>) -> Self {
                Self(generate_id(now))
            }
            /// Wraps a stored id; refuses zero and negative values.
            pub fn from_i64(value: i64) -> Option<Self> {
                (value > 0).then_some(Self(value))
            }
            /// The id as stored.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            /// Parses the decimal text form; anything else is not an id of ours.
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(InvalidId);
                }
                s.parse::<i64>().ok().and_then(Self::from_i64).ok_or(InvalidId)
            }
        }
    };
}

/// Text that is not one of payhub's numeric ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a payhub id")]
pub struct InvalidId;

integer_id!(
    /// Identifies a payment in every dialect.
    PaymentId
);
integer_id!(
    /// Identifies a refund in every dialect.
    RefundId
);
integer_id!(
    /// Identifies a TMF hub subscription.
    SubscriptionId
);
integer_id!(
    /// Identifies an outbox event; merchants deduplicate deliveries on it.
    EventId
);

/// Identifies a merchant: `mer_` followed by 16 lower-case hex digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct MerchantId(String);

impl MerchantId {
    /// Draws a new random merchant id.
    pub fn generate() -> Self {
        let random: u64 = rand::thread_rng().gen();
        Self(format!("mer_{random:016x}"))
    }

    /// Wraps a stored or presented merchant id, checking its shape.
    pub fn parse(value: &str) -> Option<Self> {
        let hex = value.strip_prefix("mer_")?;
        (hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(value.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MerchantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_positive_unique_and_time_ordered() {
        let earlier = Utc::now() + chrono::Duration::days(1);
        let later = earlier + chrono::Duration::milliseconds(500);
        let mut seen = HashSet::new();
        let mut previous = 0;
        for _ in 0..100_000 {
            let id = generate_id(earlier);
            assert!(id > previous, "ids increase within a process");
            previous = id;
            seen.insert(id);
        }
        assert_eq!(
            seen.len(),
            100_000,
            "no repeats, even 100,000 in one millisecond"
        );
        assert!(generate_id(later) > previous);
    }

    #[test]
    fn consecutive_ids_are_not_a_plain_counter() {
        let now = Utc::now() + chrono::Duration::days(2);
        let ids: Vec<i64> = (0..1000).map(|_| generate_id(now)).collect();
        let unit_steps = ids.windows(2).filter(|w| w[1] - w[0] == 1).count();
        assert!(
            unit_steps < 100,
            "steps are random, {unit_steps} of 999 were +1"
        );
    }

    #[test]
    fn parses_only_decimal_positive_ids() {
        assert_eq!(
            "819613055".parse::<PaymentId>().map(PaymentId::get),
            Ok(819_613_055)
        );
        for bad in [
            "",
            "0",
            "-5",
            "12a",
            "45d7aa75-8458-4b33-b659-c3c1d6278c4c",
            "99999999999999999999",
            "+1",
        ] {
            assert!(bad.parse::<PaymentId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn merchant_ids_have_a_fixed_shape() {
        let id = MerchantId::generate();
        assert_eq!(MerchantId::parse(id.as_str()), Some(id));
        assert_eq!(MerchantId::parse("mer_xyz"), None);
    }
}
