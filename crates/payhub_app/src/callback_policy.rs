//! Which addresses payhub may call back.
//!
//! A merchant names the URLs payhub POSTs to (TMF hub callbacks). Left
//! unchecked, that lets anyone with an API key make payhub reach addresses
//! only it can reach: loopback, private networks, cloud metadata endpoints.
//! So callbacks to such addresses are refused unless the operator allows their
//! network (`allowed_callback_nets`, `PAYHUB_ALLOWED_CALLBACK_NETS`: a
//! comma-separated list of CIDRs).
//!
//! The check runs when a callback is registered and again at every delivery,
//! through [`PolicyResolver`], which drops forbidden addresses from DNS answers
//! as the connection is made, so a name cannot be re-pointed at an internal
//! address after it was accepted.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The operator's exceptions to the rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallbackPolicy {
    allowed: Vec<IpNet>,
}

/// Why a callback URL is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CallbackRefused {
    #[error("'{0}' is not an absolute http(s) URL")]
    NotHttp(String),
    #[error("'{host}' cannot be resolved")]
    Unresolvable { host: String },
    #[error(
        "'{host}' is a loopback, private, link-local or other special-purpose address ({ip}); an operator can allow its network with PAYHUB_ALLOWED_CALLBACK_NETS"
    )]
    Forbidden { host: String, ip: IpAddr },
}

/// An IPv4 block of the table below.
const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

/// IPv4 blocks that are not the public internet: every block of the IANA
/// IPv4 Special-Purpose Address Registry that is not globally reachable (or
/// deprecated), plus multicast. 192.0.0.0/24 is refused whole: its two
/// globally reachable anycast addresses (.9, .10) never receive callbacks.
const INTERNAL_V4: [(Ipv4Net, &str); 15] = [
    (v4(0, 0, 0, 0, 8), "\"this network\" (RFC 791)"),
    (v4(10, 0, 0, 0, 8), "private use (RFC 1918)"),
    (v4(100, 64, 0, 0, 10), "shared address space (RFC 6598)"),
    (v4(127, 0, 0, 0, 8), "loopback (RFC 1122)"),
    (v4(169, 254, 0, 0, 16), "link local (RFC 3927)"),
    (v4(172, 16, 0, 0, 12), "private use (RFC 1918)"),
    (v4(192, 0, 0, 0, 24), "IETF protocol assignments (RFC 6890)"),
    (v4(192, 0, 2, 0, 24), "documentation TEST-NET-1 (RFC 5737)"),
    (
        v4(192, 88, 99, 0, 24),
        "deprecated 6to4 relay anycast (RFC 7526)",
    ),
    (v4(192, 168, 0, 0, 16), "private use (RFC 1918)"),
    (v4(198, 18, 0, 0, 15), "benchmarking (RFC 2544)"),
    (
        v4(198, 51, 100, 0, 24),
        "documentation TEST-NET-2 (RFC 5737)",
    ),
    (
        v4(203, 0, 113, 0, 24),
        "documentation TEST-NET-3 (RFC 5737)",
    ),
    (v4(224, 0, 0, 0, 4), "multicast (RFC 5771)"),
    (
        v4(240, 0, 0, 0, 4),
        "reserved, and the limited broadcast address (RFC 1112, RFC 919)",
    ),
];

/// An IPv6 block of the tables below.
const fn v6(segments: [u16; 8], len: u8) -> Ipv6Net {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), len)
}

/// The only IPv6 space assigned as global unicast (IANA IPv6 Address Space);
/// everything outside it (loopback, unspecified, IPv4-compatible, discard,
/// unique local, link local, site local, multicast, SRv6 SIDs, reserved) is
/// internal, unless it embeds an IPv4 address (see [`embedded_v4`]).
const GLOBAL_UNICAST_V6: Ipv6Net = v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);

/// Blocks inside 2000::/3 of the IANA IPv6 Special-Purpose Address Registry
/// that are not globally reachable. 2001::/23 is refused whole (Teredo,
/// benchmarking, ORCHID and the rest): its few globally reachable anycast
/// services never receive callbacks, and Teredo's IPv4 address is obfuscated.
const INTERNAL_V6: [(Ipv6Net, &str); 3] = [
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),
        "IETF protocol assignments, Teredo (RFC 2928, RFC 4380)",
    ),
    (
        v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),
        "documentation (RFC 3849)",
    ),
    (
        v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),
        "documentation (RFC 9637)",
    ),
];

/// IPv6 forms that carry an IPv4 address a packet ends up at: the address is
/// as internal as the IPv4 address it carries.
const IPV4_MAPPED: Ipv6Net = v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96);
const IPV4_TRANSLATED: Ipv6Net = v6([0, 0, 0, 0, 0xffff, 0, 0, 0], 96);
const NAT64_WELL_KNOWN: Ipv6Net = v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96);
const SIX_TO_FOUR: Ipv6Net = v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16);

/// The IPv4 address an IPv6 address embeds: IPv4-mapped (`::ffff:a.b.c.d`),
/// IPv4-translated (`::ffff:0:a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`, RFC 6052)
/// and 6to4 (`2002:AABB:CCDD::`, RFC 3056). The deprecated IPv4-compatible
/// form (`::a.b.c.d`) and local-use NAT64 (`64:ff9b:1::/48`) lie outside
/// 2000::/3 and are internal anyway.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let [.., a, b, c, d] = ip.octets();
    if IPV4_MAPPED.contains(&ip) || IPV4_TRANSLATED.contains(&ip) || NAT64_WELL_KNOWN.contains(&ip)
    {
        return Some(Ipv4Addr::new(a, b, c, d));
    }
    if SIX_TO_FOUR.contains(&ip) {
        let [_, _, a, b, c, d, ..] = ip.octets();
        return Some(Ipv4Addr::new(a, b, c, d));
    }
    None
}

/// Addresses that are not the public internet (see the tables above).
fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => INTERNAL_V4.iter().any(|(net, _)| net.contains(&v4)),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_internal(IpAddr::V4(v4)),
            None => {
                !GLOBAL_UNICAST_V6.contains(&v6)
                    || INTERNAL_V6.iter().any(|(net, _)| net.contains(&v6))
            }
        },
    }
}

impl CallbackPolicy {
    /// Parses the operator's comma-separated CIDR list.
    pub fn parse(list: &str) -> Result<Self, String> {
        let allowed = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<IpNet>().map_err(|e| format!("'{s}': {e}")))
            .collect::<Result<_, _>>()?;
        Ok(Self { allowed })
    }

    /// Whether payhub may connect to `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        !is_internal(ip) || self.allowed.iter().any(|net| net.contains(&ip))
    }

    /// Checks a callback URL: http(s), and every address its host has is permitted.
    pub async fn check_url(&self, url: &str) -> Result<(), CallbackRefused> {
        let not_http = || CallbackRefused::NotHttp(url.to_owned());
        let parsed = url::Url::parse(url).map_err(|_| not_http())?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(not_http());
        }
        let host = parsed.host_str().ok_or_else(not_http)?.to_owned();
        let port = parsed.port_or_known_default().unwrap_or(80);
        let addresses: Vec<IpAddr> = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
            Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
            _ => tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|_| CallbackRefused::Unresolvable { host: host.clone() })?
                .map(|a| a.ip())
                .collect(),
        };
        if addresses.is_empty() {
            return Err(CallbackRefused::Unresolvable { host });
        }
        match addresses.into_iter().find(|ip| !self.permits(*ip)) {
            Some(ip) => Err(CallbackRefused::Forbidden { host, ip }),
            None => Ok(()),
        }
    }
}

impl CallbackPolicy {
    /// Checks a URL only the customer's browser visits (a `returnUrl`, an
    /// APS `callbackUrlOk`): as [`check_url`](Self::check_url), except that a
    /// name payhub cannot resolve is accepted, since payhub never fetches it.
    pub async fn check_redirect_url(&self, url: &str) -> Result<(), CallbackRefused> {
        match self.check_url(url).await {
            Err(CallbackRefused::Unresolvable { .. }) => Ok(()),
            other => other,
        }
    }

    /// The check made before each delivery. Host names need none here: the
    /// delivery client resolves them through [`PolicyResolver`], which drops
    /// forbidden addresses. An IP literal never reaches a resolver, so it is
    /// checked here.
    pub fn check_literal(&self, url: &str) -> Result<(), CallbackRefused> {
        let parsed = url::Url::parse(url).map_err(|_| CallbackRefused::NotHttp(url.to_owned()))?;
        let ip = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => return Ok(()),
        };
        if self.permits(ip) {
            Ok(())
        } else {
            Err(CallbackRefused::Forbidden {
                host: parsed.host_str().unwrap_or_default().to_owned(),
                ip,
            })
        }
    }
}

/// A DNS resolver for outgoing callbacks that keeps only permitted addresses.
pub struct PolicyResolver {
    pub policy: Arc<CallbackPolicy>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| policy.permits(a.ip()))
                .collect();
            if permitted.is_empty() {
                return Err(format!("callback host '{host}' has no permitted address").into());
            }
            let addrs: Addrs = Box::new(permitted.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(policy: &CallbackPolicy, url: &str) -> bool {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        runtime
            .map(|rt| rt.block_on(policy.check_url(url)).is_err())
            .unwrap_or(false)
    }

    #[test]
    fn internal_addresses_are_refused_by_default() {
        let policy = CallbackPolicy::default();
        for url in [
            "http://127.0.0.1:8080/cb",
            "http://10.1.2.3/cb",
            "http://172.16.0.1/cb",
            "http://192.168.1.1/cb",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/cb",
            "http://[fd00::1]/cb",
            "http://[fe80::1]/cb",
            "http://[::ffff:127.0.0.1]/cb",
            "http://[::127.0.0.1]/cb",
            "http://[64:ff9b::7f00:1]/cb",
            "http://[2002:7f00:1::]/cb",
            "http://198.18.0.1/cb",
            "http://240.0.0.1/cb",
            "http://192.0.0.8/cb",
            "http://0.0.0.0/cb",
            "http://100.64.0.1/cb",
            "http://localhost/cb",
        ] {
            assert!(refused(&policy, url), "{url} must be refused");
        }
        for url in ["ftp://203.0.113.1/x", "/relative", "not a url"] {
            assert!(refused(&policy, url), "{url} must be refused");
        }
        assert!(
            !refused(&policy, "https://8.8.8.8/cb"),
            "public addresses are fine"
        );
    }

    /// Issue 9 item 15: every special-purpose block, and every IPv6 form
    /// that embeds an internal IPv4 address, is internal; public addresses
    /// (IPv4, IPv6 and IPv6 forms embedding a public IPv4) are not.
    #[test]
    fn special_purpose_addresses_are_internal() {
        let internal = [
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.1",
            "192.0.0.170",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::127.0.0.1",
            "::8.8.8.8",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:0:127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "64:ff9b:1::808:808",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "2002:c612:1::",
            "2001::1",
            "2001:0:4136:e378::1",
            "2001:2::1",
            "2001:db8::1",
            "3fff::1",
            "100::1",
            "5f00::1",
            "fc00::1",
            "fd00::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "4000::1",
        ];
        for text in internal {
            let ip: IpAddr = text.parse().unwrap_or_else(|_| unreachable!("{text}"));
            assert!(is_internal(ip), "{text} must be internal");
        }
        let public = [
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "192.0.1.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "2001:200::1",
        ];
        for text in public {
            let ip: IpAddr = text.parse().unwrap_or_else(|_| unreachable!("{text}"));
            assert!(!is_internal(ip), "{text} is public");
        }
    }

    #[test]
    fn the_resolver_drops_forbidden_addresses() {
        let resolve = |policy: CallbackPolicy| {
            let resolver = PolicyResolver {
                policy: Arc::new(policy),
            };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            runtime.map(|rt| {
                rt.block_on(async {
                    match "localhost".parse::<Name>() {
                        Ok(name) => resolver.resolve(name).await.map(|addrs| addrs.count()).ok(),
                        Err(_) => None,
                    }
                })
            })
        };
        assert_eq!(
            resolve(CallbackPolicy::default()).ok().flatten(),
            None,
            "localhost is internal"
        );
        let allowed = CallbackPolicy::parse("127.0.0.0/8, ::1/128").unwrap_or_default();
        assert!(resolve(allowed).ok().flatten().is_some_and(|n| n > 0));
    }

    #[test]
    fn literals_are_checked_before_delivery() {
        let policy = CallbackPolicy::default();
        assert!(policy.check_literal("http://127.0.0.1:9/cb").is_err());
        assert!(policy.check_literal("http://[::1]/cb").is_err());
        assert!(policy.check_literal("http://8.8.8.8/cb").is_ok());
        assert!(
            policy.check_literal("http://example.invalid/cb").is_ok(),
            "names are the resolver's job"
        );
    }

    #[test]
    fn operators_can_allow_networks() {
        let policy = CallbackPolicy::parse("127.0.0.1/32, 10.0.0.0/8").unwrap_or_default();
        assert!(!refused(&policy, "http://127.0.0.1:9/cb"));
        assert!(!refused(&policy, "http://10.200.0.1/cb"));
        assert!(
            refused(&policy, "http://127.0.0.2/cb"),
            "only what is listed"
        );
        assert!(refused(&policy, "http://192.168.0.1/cb"));
        assert!(CallbackPolicy::parse("10.0.0.0/33").is_err());
        assert!(CallbackPolicy::parse("nonsense").is_err());
        assert_eq!(CallbackPolicy::parse(""), Ok(CallbackPolicy::default()));
    }
}
