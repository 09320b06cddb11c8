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

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
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
        "'{host}' is a loopback, private or link-local address ({ip}); an operator can allow its network with PAYHUB_ALLOWED_CALLBACK_NETS"
    )]
    Forbidden { host: String, ip: IpAddr },
}

/// Addresses that are not the public internet.
fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (carrier-grade NAT)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
        }
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
