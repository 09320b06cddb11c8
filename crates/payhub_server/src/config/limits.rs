//! The rate limit settings (see docs/CONFIGURATION.md); the limiters that
//! apply them are `crate::rate_limit`.

use std::net::IpAddr;
use std::num::NonZeroU32;

use ipnet::IpNet;

/// Default requests per second from one client address.
pub const DEFAULT_ADDRESS_PER_S: u32 = 50;
/// Default requests per second of one merchant.
pub const DEFAULT_MERCHANT_PER_S: u32 = 200;

/// A sustained rate and the burst allowed above it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Rate {
    /// `per_second` 0 means no limit; the burst defaults to twice the rate.
    pub fn new(per_second: u32, burst: Option<u32>) -> Result<Option<Rate>, String> {
        let Some(per_second) = NonZeroU32::new(per_second) else {
            return Ok(None);
        };
        let burst = burst.unwrap_or_else(|| per_second.get().saturating_mul(2));
        let burst = NonZeroU32::new(burst).ok_or("the burst must be at least 1")?;
        Ok(Some(Rate { per_second, burst }))
    }
}

/// The rate limit settings (see docs/CONFIGURATION.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// Requests from one client address; `None`: unlimited.
    pub per_address: Option<Rate>,
    /// Requests of one authenticated merchant; `None`: unlimited.
    pub per_merchant: Option<Rate>,
    /// Proxies whose `X-Forwarded-For` names the client (default: none).
    pub trusted_proxies: Vec<IpNet>,
}

impl RateLimitSettings {
    /// No limits at all (what the API tests start with).
    pub fn unlimited() -> Self {
        RateLimitSettings {
            per_address: None,
            per_merchant: None,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Parses a comma-separated list of trusted proxies: CIDRs or single addresses.
pub fn parse_trusted_proxies(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("'{item}' is not an address or CIDR"))
        })
        .collect()
}
