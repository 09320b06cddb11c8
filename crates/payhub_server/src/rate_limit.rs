//! Rate limits per client address and per merchant, answered with HTTP 429
//! and `Retry-After` in each dialect's own envelope.
//!
//! Two keyed GCRA limiters (the `governor` crate), in process:
//! - **per client address**, checked before anything else on every dialect's
//!   routes, the operator endpoints and the hosted pages ([`per_address`];
//!   the payment pages use [`check_address_of`] through
//!   `crate::page::refusal::per_address`, to answer in the page's language).
//!   The address is the TCP peer; `X-Forwarded-For` is read only when the
//!   peer is one of the configured trusted proxies ([`client_address`]). An
//!   IPv6 client is keyed by its /64 network, since one host may hold all of it.
//! - **per merchant**, checked right after a request is authenticated, so it
//!   counts only requests that proved who sent them
//!   ([`RateLimits::check_merchant`], called from each dialect's
//!   authentication).
//!
//! Each node limits on its own: with N nodes behind a balancer a client may
//! reach up to N times the rate. A rate of 0 turns a limiter off.
//! `/healthz`, `/readyz`, `/` and the gateways' notifications are not limited.

use std::fmt;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;

use crate::config::{Rate, RateLimitSettings};

/// A rate as the limiter's quota.
fn quota(rate: Rate) -> Quota {
    Quota::per_second(rate.per_second).allow_burst(rate.burst)
}

/// A request refused for going over a limit: when to come back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttled {
    retry_after_s: u64,
}

impl Throttled {
    /// The refusal for a wait of `wait`, in whole seconds rounded up (at least 1).
    pub fn after(wait: Duration) -> Self {
        let mut seconds = wait.as_secs();
        if wait.subsec_nanos() > 0 {
            seconds += 1;
        }
        Throttled {
            retry_after_s: seconds.max(1),
        }
    }

    /// Seconds until a retry may pass (the `Retry-After` value).
    pub fn retry_after_s(self) -> u64 {
        self.retry_after_s
    }

    /// Sets `Retry-After` on a dialect's 429 answer.
    pub fn set_retry_after(self, response: &mut Response) {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(self.retry_after_s));
    }
}

impl fmt::Display for Throttled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "too many requests; retry after {}s", self.retry_after_s)
    }
}

/// One keyed limiter that forgets idle keys now and then, so that many
/// addresses seen once do not grow it without end.
struct Keyed<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    checks: AtomicU64,
}

/// How many checks pass between two sweeps of keys back at full burst.
const SWEEP_EVERY: u64 = 4096;

impl<K: Hash + Eq + Clone> Keyed<K> {
    fn new(rate: Rate) -> Self {
        Keyed {
            limiter: RateLimiter::keyed(quota(rate)),
            checks: AtomicU64::new(0),
        }
    }

    fn check(&self, key: &K) -> Result<(), Throttled> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter.check_key(key).map_err(|not_until| {
            Throttled::after(not_until.wait_time_from(self.limiter.clock().now()))
        })
    }
}

/// The node's limiters, shared by every dialect.
pub struct RateLimits {
    per_address: Option<Keyed<IpAddr>>,
    per_merchant: Option<Keyed<String>>,
    trusted_proxies: Vec<IpNet>,
}

impl RateLimits {
    pub fn new(settings: &RateLimitSettings) -> Self {
        RateLimits {
            per_address: settings.per_address.map(Keyed::new),
            per_merchant: settings.per_merchant.map(Keyed::new),
            trusted_proxies: settings.trusted_proxies.clone(),
        }
    }

    /// Counts a request of the merchant `merchant_id` (already authenticated).
    pub fn check_merchant(&self, merchant_id: &str) -> Result<(), Throttled> {
        match &self.per_merchant {
            Some(limiter) => limiter.check(&merchant_id.to_owned()),
            None => Ok(()),
        }
    }

    /// Counts a request from the TCP peer `peer` carrying `headers`.
    pub fn check_address(&self, peer: IpAddr, headers: &HeaderMap) -> Result<(), Throttled> {
        match &self.per_address {
            Some(limiter) => {
                let client = client_address(peer, headers, &self.trusted_proxies);
                limiter.check(&address_key(client))
            }
            None => Ok(()),
        }
    }
}

/// The client's address: the peer, unless the peer is a trusted proxy; then
/// `X-Forwarded-For` is read from the right (the hop the proxy added) to the
/// first address that is not itself a trusted proxy. Hops a client wrote
/// itself, further left, are never reached while a trusted proxy appends.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(&client) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.into_iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            break;
        };
        client = ip.to_canonical();
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

/// What one client is counted under: an IPv4 address, or an IPv6 /64.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & (u128::MAX << 64);
            IpAddr::V6(Ipv6Addr::from(network))
        }
    }
}

/// How a dialect answers a request over a limit, in its own envelope, with
/// HTTP 429 and `Retry-After`.
pub trait ThrottledAnswer {
    fn throttled(throttled: Throttled) -> Response;
}

/// Middleware: refuses a request whose client address is over its limit.
/// Reads the limiters from the request's extensions (set once for the whole
/// router) and the peer from `ConnectInfo` (set by `crate::serve`); a request
/// without either is let through. Use with `axum::middleware::from_fn`.
pub async fn per_address<D: ThrottledAnswer>(request: Request, next: Next) -> Response {
    match check_address_of(&request) {
        Ok(()) => next.run(request).await,
        Err(throttled) => D::throttled(throttled),
    }
}

/// Counts `request` against its client address's limit, as [`per_address`]
/// does, for a surface whose answer needs more than the refusal (the hosted
/// pages answer in the language of the page asked for).
pub fn check_address_of(request: &Request) -> Result<(), Throttled> {
    let limits = request.extensions().get::<Arc<RateLimits>>();
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>();
    let (Some(limits), Some(ConnectInfo(peer))) = (limits, peer) else {
        return Ok(());
    };
    limits
        .check_address(peer.ip(), request.headers())
        .inspect_err(|throttled| {
            tracing::info!(
                retry_after_s = throttled.retry_after_s(),
                "client address over its rate limit"
            );
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_trusted_proxies;

    fn headers(forwarded: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in forwarded {
            map.append(
                "x-forwarded-for",
                HeaderValue::from_str(value).unwrap_or_else(|_| unreachable!()),
            );
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|_| unreachable!("{text}"))
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let proxies = parse_trusted_proxies("10.0.0.0/8, 192.0.2.1").unwrap_or_default();
        assert_eq!(proxies.len(), 2);
        let spoofed = headers(&["198.51.100.7"]);
        let table = [
            // (peer, X-Forwarded-For, trusted, client)
            ("203.0.113.9", &spoofed, &proxies[..], "203.0.113.9"),
            ("10.1.2.3", &spoofed, &[][..], "10.1.2.3"),
            ("10.1.2.3", &spoofed, &proxies[..], "198.51.100.7"),
            (
                "192.0.2.1",
                &headers(&["198.51.100.1, 198.51.100.7, 10.9.9.9"]),
                &proxies[..],
                "198.51.100.7",
            ),
            (
                "192.0.2.1",
                &headers(&["198.51.100.1", "198.51.100.8"]),
                &proxies[..],
                "198.51.100.8",
            ),
            ("10.1.2.3", &headers(&["junk"]), &proxies[..], "10.1.2.3"),
            ("10.1.2.3", &headers(&[]), &proxies[..], "10.1.2.3"),
            ("::ffff:203.0.113.9", &spoofed, &proxies[..], "203.0.113.9"),
        ];
        for (peer, forwarded, trusted, client) in table {
            assert_eq!(
                client_address(ip(peer), forwarded, trusted),
                ip(client),
                "{peer} {forwarded:?}"
            );
        }
        assert!(parse_trusted_proxies("10.0.0.0/8,nope").is_err());
        assert_eq!(parse_trusted_proxies(""), Ok(Vec::new()));
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        assert_eq!(
            address_key(ip("2001:db8:1:2:3:4:5:6")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(address_key(ip("203.0.113.9")), ip("203.0.113.9"));
    }

    #[test]
    fn a_rate_of_zero_is_no_limit_and_the_burst_defaults_to_twice_the_rate() {
        assert_eq!(Rate::new(0, Some(5)), Ok(None));
        let rate = Rate::new(50, None).ok().flatten().map(|r| r.burst.get());
        assert_eq!(rate, Some(100));
        assert!(Rate::new(1, Some(0)).is_err());
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        assert_eq!(Throttled::after(Duration::ZERO).retry_after_s(), 1);
        assert_eq!(
            Throttled::after(Duration::from_millis(1)).retry_after_s(),
            1
        );
        assert_eq!(
            Throttled::after(Duration::from_millis(1001)).retry_after_s(),
            2
        );
        assert_eq!(Throttled::after(Duration::from_secs(3)).retry_after_s(), 3);
    }

    #[test]
    fn each_key_has_its_own_budget() {
        let limits = RateLimits::new(&RateLimitSettings {
            per_address: None,
            per_merchant: Rate::new(1, Some(2)).ok().flatten(),
            trusted_proxies: Vec::new(),
        });
        assert!(limits.check_merchant("a").is_ok());
        assert!(limits.check_merchant("a").is_ok());
        let refused = limits.check_merchant("a");
        assert!(
            matches!(refused, Err(t) if t.retry_after_s() >= 1),
            "{refused:?}"
        );
        assert!(limits.check_merchant("b").is_ok());
        assert!(limits
            .check_address(ip("203.0.113.9"), &HeaderMap::new())
            .is_ok());
    }
}
