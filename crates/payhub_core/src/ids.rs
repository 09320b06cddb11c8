//! Identifiers.
//!
//! Payment and refund ids are positive 64-bit integers because the APS dialect
//! needs integers and TMF676 shows them as numeric strings. They must be unique
//! across several nodes without coordination and not be a guessable counter, so
//! each id is the milliseconds since 2024-01-01 (41 bits, good until 2093) followed
//! by 22 random bits. Ids therefore sort by creation time, which keeps index
//! inserts local. Two ids collide only if two requests draw the same 22 random
//! bits in the same millisecond; the primary key refuses the second and the
//! store retries with a fresh id.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rand::Rng;

/// 2024-01-01T00:00:00Z in Unix milliseconds: the epoch of payhub ids.
const ID_EPOCH_MS: i64 = 1_704_067_200_000;
const RANDOM_BITS: u32 = 22;
const TIME_BITS_MASK: i64 = (1 << 41) - 1;

/// Draws a fresh time-ordered, random-suffixed positive id for `now`.
pub fn generate_id(now: DateTime<Utc>) -> i64 {
    let millis = (now.timestamp_millis() - ID_EPOCH_MS).clamp(0, TIME_BITS_MASK);
    let random: i64 = rand::thread_rng().gen_range(0..(1_i64 << RANDOM_BITS));
    // Never zero: a zero id would not be positive.
    ((millis << RANDOM_BITS) | random).max(1)
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
        let earlier = Utc::now();
        let later = earlier + chrono::Duration::milliseconds(5);
        let mut seen = HashSet::new();
        for _ in 0..10_000 {
            let id = generate_id(earlier);
            assert!(id > 0);
            seen.insert(id);
        }
        assert!(
            seen.len() > 9_950,
            "random suffix must make collisions rare"
        );
        assert!(generate_id(later) > *seen.iter().max().unwrap_or(&0));
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
