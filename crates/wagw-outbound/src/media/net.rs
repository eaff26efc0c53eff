//! Which addresses the gateway may fetch media from.
//!
//! An agent chooses the media URLs, so without a guard it could make the gateway fetch
//! internal services (cloud metadata at 169.254.169.254, admin panels on localhost, the LAN).
//! Unless `media.allowPrivateNetworks` is set, every address a fetch would connect to is
//! checked — after DNS resolution, and again for every redirect hop — and loopback, private,
//! link-local, carrier-grade NAT, unique-local, multicast and reserved ranges are refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why an address is not fetchable, or `None` when it is a public unicast address.
///
/// ```
/// use wagw_outbound::media::net::blocked_reason;
/// assert!(blocked_reason("169.254.169.254".parse().unwrap()).is_some());
/// assert!(blocked_reason("::ffff:10.0.0.1".parse().unwrap()).is_some());
/// assert!(blocked_reason("93.184.215.14".parse().unwrap()).is_none());
/// ```
pub fn blocked_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => blocked_v6(v6),
    }
}

fn blocked_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback address")
    } else if ip.is_private() {
        Some("private network address")
    } else if ip.is_link_local() {
        Some("link-local address (cloud metadata lives here)")
    } else if o[0] == 100 && (o[1] & 0xC0) == 64 {
        Some("carrier-grade NAT address")
    } else if ip.is_unspecified() || o[0] == 0 {
        Some("unspecified address")
    } else if ip.is_broadcast() || ip.is_multicast() || o[0] >= 240 {
        Some("broadcast, multicast or reserved address")
    } else if o[0] == 198 && (o[1] & 0xFE) == 18 {
        Some("benchmarking network address")
    } else if (o[0] == 192 && o[1] == 0 && (o[2] == 0 || o[2] == 2))
        || (o[0] == 198 && o[1] == 51 && o[2] == 100)
        || (o[0] == 203 && o[1] == 0 && o[2] == 113)
    {
        Some("documentation or protocol-assignment address")
    } else {
        None
    }
}

fn blocked_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return blocked_v4(v4);
    }
    // NAT64 (64:ff9b::/96) embeds an IPv4 address.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return blocked_v4(v4);
    }
    if ip.is_loopback() {
        Some("loopback address")
    } else if ip.is_unspecified() {
        Some("unspecified address")
    } else if (s[0] & 0xfe00) == 0xfc00 {
        Some("unique-local (private) address")
    } else if (s[0] & 0xffc0) == 0xfe80 || (s[0] & 0xffc0) == 0xfec0 {
        Some("link-local or site-local address")
    } else if ip.is_multicast() {
        Some("multicast address")
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        Some("documentation address")
    } else {
        None
    }
}

/// The error a fetch fails with when every address of a host is blocked; found again in
/// reqwest's error chain to give the user [`crate::OutboundError::BlockedAddress`].
#[derive(Debug)]
pub(crate) struct Blocked {
    pub host: String,
    pub reason: String,
}

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is a {}", self.host, self.reason)
    }
}

impl std::error::Error for Blocked {}

/// A DNS resolver that drops blocked addresses (and fails when none is left), so the check
/// applies to the address actually connected to — including after redirects.
#[derive(Debug, Clone)]
pub(crate) struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let (ok, blocked): (Vec<SocketAddr>, Vec<SocketAddr>) = addrs
                .into_iter()
                .partition(|a| blocked_reason(a.ip()).is_none());
            if ok.is_empty() {
                let reason = blocked
                    .first()
                    .map(|a| {
                        format!(
                            "{} ({})",
                            blocked_reason(a.ip()).unwrap_or("blocked address"),
                            a.ip()
                        )
                    })
                    .unwrap_or_else(|| "host without addresses".to_string());
                let err: Box<dyn std::error::Error + Send + Sync> =
                    Box::new(Blocked { host, reason });
                return Err(err);
            }
            if !blocked.is_empty() {
                tracing::warn!(target: "wagw::outbound", host = %host, dropped = blocked.len(), "dropped private addresses of a media host");
            }
            let addrs: Addrs = Box::new(ok.into_iter());
            Ok(addrs)
        })
    }
}

/// The resolver for a client: guarded unless private networks are allowed.
pub(crate) fn resolver(allow_private: bool) -> Option<Arc<GuardedResolver>> {
    (!allow_private).then(|| Arc::new(GuardedResolver))
}

/// Checks a URL's host when it is an IP literal (the resolver never sees those).
pub(crate) fn check_literal_host(url: &reqwest::Url) -> Result<(), Blocked> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    match blocked_reason(ip) {
        Some(reason) => Err(Blocked {
            host: ip.to_string(),
            reason: reason.to_string(),
        }),
        None => Ok(()),
    }
}

/// Finds a [`Blocked`] anywhere in an error's source chain.
pub(crate) fn find_blocked<'e>(err: &'e (dyn std::error::Error + 'static)) -> Option<&'e Blocked> {
    let mut cur: Option<&'e (dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(b) = e.downcast_ref::<Blocked>() {
            return Some(b);
        }
        cur = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ranges() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "ff02::1",
        ] {
            assert!(
                blocked_reason(bad.parse().unwrap()).is_some(),
                "{bad} should be blocked"
            );
        }
        for good in [
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(
                blocked_reason(good.parse().unwrap()).is_none(),
                "{good} should pass"
            );
        }
    }

    #[test]
    fn literal_hosts() {
        let u = reqwest::Url::parse("http://[::1]:8080/x").unwrap();
        assert!(check_literal_host(&u).is_err());
        let u = reqwest::Url::parse("http://169.254.169.254/latest/meta-data").unwrap();
        assert!(check_literal_host(&u).is_err());
        let u = reqwest::Url::parse("https://example.com/x").unwrap();
        assert!(check_literal_host(&u).is_ok());
    }
}
