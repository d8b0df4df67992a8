//! Which addresses a tenant's trunk may point at.
//!
//! A trunk is an outbound registration and the destination of the tenant's calls, so its host is
//! an address the platform connects to on the tenant's behalf. Pointing it at the platform's own
//! SIP listener makes Asterisk register to itself and turns another tenant's outbound calls into
//! this tenant's inbound ones; pointing it at loopback, private or link-local space reaches
//! services that only the platform should reach. Both are refused, except that on-premise installs
//! and the test stacks (whose carrier is on loopback) may allow private carriers; the platform's
//! own listeners are refused always.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why an address is refused as a carrier, or `None` when it is a public unicast address.
pub fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_reason(v4);
            }
            v6_reason(v6)
        }
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_unspecified() || o[0] == 0 {
        Some("an unspecified address")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() || (o[0] == 100 && (64..128).contains(&o[1])) {
        // RFC 1918 and RFC 6598 shared address space (carrier-grade NAT).
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address")
    } else if ip.is_multicast() || ip.is_broadcast() || o[0] >= 240 {
        Some("a multicast, broadcast or reserved address")
    } else if (o[0] == 192 && o[1] == 0 && o[2] == 2)
        || (o[0] == 198 && o[1] == 51 && o[2] == 100)
        || (o[0] == 203 && o[1] == 0 && o[2] == 113)
    {
        Some("a documentation address")
    } else if o[0] == 198 && (18..20).contains(&o[1]) {
        Some("a benchmarking address")
    } else {
        None
    }
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_unspecified() {
        Some("an unspecified address")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if (s[0] & 0xfe00) == 0xfc00 {
        Some("a private address")
    } else if (s[0] & 0xffc0) == 0xfe80 {
        Some("a link-local address")
    } else if ip.is_multicast() {
        Some("a multicast, broadcast or reserved address")
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        Some("a documentation address")
    } else {
        None
    }
}

/// The platform's own SIP listeners and whether private carriers are allowed.
#[derive(Debug, Clone, Default)]
pub struct CarrierPolicy {
    /// Allow loopback, private and link-local carriers (on-premise installs, test stacks).
    pub allow_private: bool,
    /// The platform's SIP listeners. An unspecified address (`0.0.0.0:5060`) stands for every
    /// loopback address and every address in `own_addrs`.
    pub listeners: Vec<SocketAddr>,
    /// Addresses of this platform (its public SIP host, resolved).
    pub own_addrs: Vec<IpAddr>,
}

/// The SIP port a host without one is reached on. Names without a port could also be sent
/// elsewhere by DNS SRV, so for them the platform's addresses are refused on every port.
pub const DEFAULT_SIP_PORT: u16 = 5060;

impl CarrierPolicy {
    /// Whether `ip` is one of the platform's own addresses (for listener `l`).
    fn is_listener_addr(&self, l: &SocketAddr, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        if l.ip().is_unspecified() {
            ip.is_loopback() || ip.is_unspecified() || self.own_addrs.iter().any(|a| canonical(*a) == ip)
        } else {
            canonical(l.ip()) == ip || (ip.is_unspecified())
        }
    }

    /// Checks the addresses a trunk host resolved to. `port` is the trunk's explicit port.
    pub fn check(&self, addrs: &[IpAddr], port: Option<u16>) -> Result<(), String> {
        for &ip in addrs {
            for l in &self.listeners {
                let same_port = match port {
                    Some(p) => p == l.port(),
                    None => true,
                };
                if same_port && self.is_listener_addr(l, ip) {
                    return Err(format!("{ip} is this platform's own SIP address"));
                }
            }
            if !self.allow_private {
                if let Some(why) = non_public_reason(ip) {
                    return Err(format!("{ip} is {why}; a carrier must have a public address"));
                }
            }
        }
        Ok(())
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn non_public_addresses_are_named() {
        for (a, why) in [
            ("127.0.0.1", "loopback"),
            ("127.10.0.1", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("100.64.0.1", "private"),
            ("169.254.169.254", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "multicast"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fd00::1", "private"),
            ("fe80::1", "link-local"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
        ] {
            let r = non_public_reason(ip(a)).unwrap_or_else(|| panic!("{a} should be refused"));
            assert!(r.contains(why), "{a}: {r}");
        }
        for a in ["8.8.8.8", "91.200.1.1", "2a00:1450:4001::1", "100.128.0.1", "172.32.0.1"] {
            assert_eq!(non_public_reason(ip(a)), None, "{a} is public");
        }
    }

    #[test]
    fn the_platforms_own_listener_is_refused_even_when_private_carriers_are_allowed() {
        let p = CarrierPolicy {
            allow_private: true,
            listeners: vec!["127.0.0.1:15060".parse().unwrap()],
            own_addrs: vec![],
        };
        assert!(p.check(&[ip("127.0.0.1")], Some(15060)).is_err());
        assert!(p.check(&[ip("::ffff:127.0.0.1")], Some(15060)).is_err());
        assert!(
            p.check(&[ip("127.0.0.1")], None).is_err(),
            "no port: DNS SRV could pick any, refuse the address"
        );
        assert!(p.check(&[ip("0.0.0.0")], Some(15060)).is_err());
        assert_eq!(p.check(&[ip("127.0.0.1")], Some(15070)), Ok(()), "the test carrier beside it");
        let strict = CarrierPolicy { allow_private: false, ..p.clone() };
        assert!(strict.check(&[ip("127.0.0.1")], Some(15070)).unwrap_err().contains("loopback"));
        assert_eq!(strict.check(&[ip("8.8.8.8")], Some(5060)), Ok(()));
    }

    #[test]
    fn a_wildcard_listener_covers_loopback_and_the_public_address() {
        let p = CarrierPolicy {
            allow_private: true,
            listeners: vec!["0.0.0.0:5060".parse().unwrap()],
            own_addrs: vec![ip("203.0.113.7")],
        };
        assert!(p.check(&[ip("127.0.0.5")], Some(5060)).is_err());
        assert!(p.check(&[ip("203.0.113.7")], Some(5060)).is_err());
        assert!(p.check(&[ip("8.8.8.8"), ip("203.0.113.7")], None).is_err(), "any resolved address counts");
        assert_eq!(p.check(&[ip("203.0.113.8")], Some(5060)), Ok(()));
    }
}
