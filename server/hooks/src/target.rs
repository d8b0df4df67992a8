//! Where a webhook may go. A tenant's endpoint is a URL the server itself requests, so it must not
//! become a way into the server's own network: targets on loopback, private, link-local, shared
//! (CGNAT), unique-local or multicast addresses are refused unless `webhooks.allow_private_targets`
//! is on (tests, on-premise installs). The check runs on the addresses the name resolves to when
//! sending, and the request goes to exactly those addresses (no second lookup a DNS answer could
//! change in between).

use std::net::{IpAddr, SocketAddr};

use url::Url;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("the webhook URL is not a valid http(s) URL")]
    InvalidUrl,
    #[error("the webhook URL must use https")]
    Insecure,
    #[error("the webhook URL points at a private, loopback or link-local address ({0})")]
    Private(IpAddr),
    #[error("the webhook host {0} does not resolve")]
    Unresolved(String),
}

impl TargetError {
    /// The API's error code.
    pub fn code(&self) -> &'static str {
        match self {
            TargetError::InvalidUrl | TargetError::Unresolved(_) => "invalid_url",
            TargetError::Insecure => "insecure_url",
            TargetError::Private(_) => "private_address",
        }
    }
}

/// An address no tenant may make the server call (unless allowed): not globally routable.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                // 100.64.0.0/10, shared address space (carrier-grade NAT).
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                // 192.0.0.0/24 (IETF protocol assignments) and 198.18.0.0/15 (benchmarking).
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // fc00::/7 unique local, fe80::/10 link-local, 2001:db8::/32 documentation.
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
        }
    }
}

/// The URL's form: http(s), a host, no credentials; https when `require_https`.
pub fn parse(url: &str, require_https: bool) -> Result<Url, TargetError> {
    let u = Url::parse(url.trim()).map_err(|_| TargetError::InvalidUrl)?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none_or(str::is_empty) {
        return Err(TargetError::InvalidUrl);
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(TargetError::InvalidUrl);
    }
    if require_https && u.scheme() != "https" {
        return Err(TargetError::Insecure);
    }
    Ok(u)
}

/// The addresses to send to: the URL's host resolved, each checked.
pub async fn resolve(u: &Url, allow_private: bool) -> Result<Vec<SocketAddr>, TargetError> {
    let host = u.host_str().ok_or(TargetError::InvalidUrl)?;
    let port = u.port_or_known_default().ok_or(TargetError::InvalidUrl)?;
    let addrs: Vec<SocketAddr> = match u.host() {
        Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(ip.into(), port)],
        Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(ip.into(), port)],
        _ => tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| TargetError::Unresolved(host.to_string()))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(TargetError::Unresolved(host.to_string()));
    }
    if !allow_private {
        if let Some(a) = addrs.iter().find(|a| is_private(a.ip())) {
            return Err(TargetError::Private(a.ip()));
        }
    }
    Ok(addrs)
}

/// The check of a URL an administrator saves: its form, and that an address written in it (or a
/// `localhost` name) is not private. Names are not looked up here — a DNS answer can change, so
/// every send resolves and checks again ([`resolve`]), and a save does not wait on a resolver.
pub fn check(url: &str, require_https: bool, allow_private: bool) -> Result<Url, TargetError> {
    let u = parse(url, require_https)?;
    if allow_private {
        return Ok(u);
    }
    let ip = match u.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            (d == "localhost" || d.ends_with(".localhost")).then_some(IpAddr::from([127, 0, 0, 1]))
        }
        None => None,
    };
    match ip {
        Some(ip) if is_private(ip) => Err(TargetError::Private(ip)),
        _ => Ok(u),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_refused_and_public_ones_pass() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip} must count as private");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "100.128.0.1", "172.32.0.1"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn urls_must_be_http_with_a_host_and_no_credentials() {
        assert_eq!(parse("ftp://example.com/x", false), Err(TargetError::InvalidUrl));
        assert_eq!(parse("https://user:pw@example.com/x", false), Err(TargetError::InvalidUrl));
        assert_eq!(parse("not a url", false), Err(TargetError::InvalidUrl));
        assert_eq!(parse("http://example.com/x", true), Err(TargetError::Insecure));
        assert!(parse("http://example.com/x", false).is_ok());
        assert!(parse("https://example.com/x", true).is_ok());
    }

    #[test]
    fn literal_private_addresses_and_localhost_are_refused_unless_allowed() {
        for url in [
            "https://127.0.0.1:8443/hook",
            "https://[::1]/hook",
            "https://localhost/hook",
            "https://api.localhost./x",
            "https://10.0.0.1/",
        ] {
            assert_eq!(check(url, true, false).unwrap_err().code(), "private_address", "{url}");
        }
        assert!(check("https://127.0.0.1:8443/hook", true, true).is_ok());
        assert!(check("https://93.184.215.14/hook", true, false).is_ok());
        assert!(
            check("https://hooks.example.com/hook", true, false).is_ok(),
            "names are checked when sending"
        );
    }

    #[tokio::test]
    async fn sending_resolves_and_checks_every_address() {
        let u = parse("http://127.0.0.1:9/x", false).unwrap();
        assert_eq!(resolve(&u, false).await.unwrap_err().code(), "private_address");
        assert_eq!(resolve(&u, true).await.unwrap(), vec!["127.0.0.1:9".parse().unwrap()]);
        let u = parse("http://localhost:9/x", false).unwrap();
        assert_eq!(resolve(&u, false).await.unwrap_err().code(), "private_address");
    }
}
