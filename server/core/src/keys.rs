//! Every Redis key and pub/sub channel callbase uses, formatted here and nowhere else, so two
//! crates (and two replicas of different versions) cannot disagree on a name.
//!
//! Keys that Lua scripts touch together carry a `{t<tenant>}` hash tag, so they stay in one slot
//! should Redis ever run as a cluster.

use crate::{TenantId, UserId};

/// Channel: call commands (transfer, callback) from API replicas to the Stasis worker.
pub const STASIS_COMMANDS: &str = "cb:stasis:commands";
/// Channel: socket revocations between replicas (`api::sockets`).
pub const SOCKETS_CONTROL: &str = "cb:sockets:control";
/// String: the HMAC key of the device cookies (`api::auth::device`).
pub const DEVICE_KEY: &str = "cb:device-key";
/// List: recent call-setup times in milliseconds, for the health probe's comparison.
pub const PROBE_SETUP_SAMPLES: &str = "cb:probe:setup_ms";

/// Sorted set: the Call-IDs of a user's phone dialogs (INVITEs the relay saw on any of the user's
/// `/sip` sockets), scored by when they were seen; a reconnected phone may act in them
/// (`api::sip_dialogs`).
pub fn sip_dialogs(tenant: TenantId, user: UserId) -> String {
    format!("cb:sipdlg:{tenant}:{user}")
}

/// Channel: a tenant's events (`crate::events::Event` as JSON); `/events` sockets subscribe to it.
pub fn events(tenant: TenantId) -> String {
    format!("cb:events:tenant:{tenant}")
}

/// Pattern over every tenant's events channel (one subscription per replica, `api::hub`).
pub const EVENTS_PATTERN: &str = "cb:events:tenant:*";

/// The tenant of an events channel.
pub fn events_tenant(channel: &str) -> Option<TenantId> {
    channel.strip_prefix("cb:events:tenant:")?.parse().ok().map(TenantId)
}

/// Hash (`state`, `reason`, `since`): a trunk registration's state as the monitor last saw it.
pub fn trunk_registration(registration: &str) -> String {
    format!("cb:trunkreg:{registration}")
}

/// String: a session, by the hex SHA-256 of its token (the token itself is never stored).
pub fn session(token_sha256_hex: &str) -> String {
    format!("cb:sess:{token_sha256_hex}")
}

/// Set: the session keys of one user (to end them all).
pub fn user_sessions(tenant: TenantId, user: UserId) -> String {
    format!("cb:usess:{tenant}:{user}")
}

/// Counter: failed sign-ins for an account's login.
pub fn login_failures_account(account: &str, login: &str) -> String {
    format!("cb:lf:acct:{account}:{login}")
}

/// Counter: failed sign-ins from one device cookie.
pub fn login_failures_device(tenant: TenantId, user: UserId, nonce: &str) -> String {
    format!("cb:lf:dev:{tenant}:{user}:{nonce}")
}

/// Counter: failed sign-ins from one address.
pub fn login_failures_ip(ip: &str) -> String {
    format!("cb:lf:ip:{ip}")
}

/// Counter: sign-ups from one address this hour.
pub fn rate_signups(ip: &str) -> String {
    format!("cb:rl:signup:{ip}")
}

/// Counter: a tenant's trunk changes this minute.
pub fn rate_trunk_changes(tenant: TenantId) -> String {
    format!("cb:rl:trunks:{tenant}")
}

/// Counter: an API key's requests this minute (issue #21).
pub fn api_key_rate(key_id: i64) -> String {
    format!("cb:rl:apikey:{key_id}")
}

/// Counter: a user's socket revocation epoch (a socket older than it closes).
pub fn socket_epoch(tenant: TenantId, user: UserId) -> String {
    format!("cb:sockepoch:{tenant}:{user}")
}

/// Sorted sets of open sockets of one kind (`events`, `sip`): the user's, the tenant's, everyone's.
pub fn socket_leases(kind: &str, tenant: TenantId, user: UserId) -> [String; 3] {
    [
        format!("cb:socks:{kind}:u:{tenant}:{user}"),
        format!("cb:socks:{kind}:t:{tenant}"),
        format!("cb:socks:{kind}:all"),
    ]
}

/// Counter: calls a user started in one minute (unix minute), for the toll-fraud cap.
pub fn fraud_calls_per_minute(tenant: TenantId, user: UserId, minute: i64) -> String {
    format!("cb:fraud:cpm:{{t{tenant}}}:u{user}:{minute}")
}

/// Sorted set: a tenant's live trunk calls (leases), for the concurrency cap.
pub fn fraud_live_tenant(tenant: TenantId) -> String {
    format!("cb:fraud:live:{{t{tenant}}}")
}

/// Sorted set: one user's live trunk calls (leases).
pub fn fraud_live_user(tenant: TenantId, user: UserId) -> String {
    format!("cb:fraud:live:{{t{tenant}}}:u{user}")
}

/// Flag: an alert of this kind, level and subject was raised recently (no repeats while it lives).
pub fn fraud_alerted(tenant: TenantId, kind: &str, level: &str, subject: &str) -> String {
    format!("cb:fraud:alerted:{{t{tenant}}}:{kind}:{level}:{subject}")
}

/// String `<owner>|<fencing token>` with a TTL: who runs the worker `name` (e.g. `stasis:node1`).
pub fn lease(name: &str) -> String {
    format!("cb:lease:{name}")
}

/// Counter: the last fencing token handed out for the lease `name` (only grows).
pub fn lease_fence(name: &str) -> String {
    format!("cb:lease:{name}:fence")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_names() {
        // Renaming a key strands what replicas of the previous version wrote: change on purpose only.
        assert_eq!(events(TenantId(7)), "cb:events:tenant:7");
        assert_eq!(events_tenant(&events(TenantId(7))), Some(TenantId(7)));
        assert_eq!(events_tenant("cb:events:tenant:x"), None);
        assert_eq!(trunk_registration("t7-trk1"), "cb:trunkreg:t7-trk1");
        assert_eq!(fraud_live_user(TenantId(7), UserId(3)), "cb:fraud:live:{t7}:u3");
        assert_eq!(socket_leases("sip", TenantId(7), UserId(3))[0], "cb:socks:sip:u:7:3");
    }
}
