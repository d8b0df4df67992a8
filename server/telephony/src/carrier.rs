//! Where a trunk may point (`callbase_core::netaddr`): the trunk's host is resolved when it is
//! saved and again by the registration monitor, so a name that later starts resolving to the
//! platform or to private space turns the trunk red and out of use.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use callbase_core::netaddr::{CarrierPolicy, DEFAULT_SIP_PORT};
use callbase_core::sip::SipHost;

use crate::AsteriskConfig;

const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

async fn resolve(host: &str, port: u16) -> Vec<IpAddr> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return vec![ip];
    }
    match tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((bare, port))).await {
        Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
        _ => Vec::new(),
    }
}

/// The platform's own SIP listeners and addresses, from the settings.
pub async fn policy(cfg: &AsteriskConfig) -> CarrierPolicy {
    let mut listeners: Vec<SocketAddr> = cfg
        .sip_listeners
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let own_addrs = resolve(&cfg.sip_public_host, cfg.sip_public_port).await;
    for ip in &own_addrs {
        listeners.push(SocketAddr::new(*ip, cfg.sip_public_port));
    }
    CarrierPolicy { allow_private: cfg.allow_private_carriers, listeners, own_addrs }
}

/// Why a trunk may not use `host`, if it may not. A name that does not resolve passes: the trunk
/// turns red as unreachable, and the monitor checks the name again while it is in use.
pub async fn check_host(policy: &CarrierPolicy, host: &SipHost) -> Result<(), String> {
    let addrs = resolve(host.host(), host.port().unwrap_or(DEFAULT_SIP_PORT)).await;
    policy.check(&addrs, host.port()).map_err(|why| format!("{} refused: {why}", host.host()))
}
