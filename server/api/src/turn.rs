//! TURN for agents behind strict firewalls (issue #22, item 7). The phone gets short-lived TURN
//! credentials with its session (`POST /api/phone/session` → `ice_servers`), made the way coturn's
//! `use-auth-secret` expects them (the "TURN REST API", draft-uberti-behave-turn-rest): the user
//! name is `<expiry unix time>:<tenant>-<user>` and the password is base64(HMAC-SHA1(secret, user
//! name)). coturn checks them with the same shared secret and refuses them after the expiry; no
//! per-user state is kept anywhere. The browser gathers relay candidates from the TURN server
//! (UDP, and TCP for networks that block UDP) beside its own; ICE picks a relay only when the
//! direct paths fail.

use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};

/// TURN settings (`CALLBASE__TURN__*`). No URLs: no TURN (the phone uses direct ICE only).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TurnConfig {
    /// TURN URLs handed to the phone, comma-separated, e.g.
    /// `turn:turn.example.com:3478?transport=udp,turn:turn.example.com:3478?transport=tcp,turns:turn.example.com:5349?transport=tcp`.
    #[serde(default)]
    pub urls: String,
    /// coturn's `static-auth-secret`.
    pub secret: Option<SecretString>,
    /// How long a credential lives, in seconds (default 12 h: a working day; the phone gets new
    /// ones at every start).
    #[serde(default)]
    pub ttl_secs: Option<u64>,
}

const DEFAULT_TTL_SECS: u64 = 12 * 3600;

impl TurnConfig {
    fn urls(&self) -> Vec<String> {
        self.urls.split(',').map(str::trim).filter(|u| !u.is_empty()).map(String::from).collect()
    }

    /// The `RTCIceServer` for `who` (a tenant-user tag) at unix time `now`; none when TURN is not
    /// configured.
    pub fn ice_servers(&self, who: &str, now: u64) -> Vec<Value> {
        let urls = self.urls();
        let Some(secret) = self.secret.as_ref().filter(|_| !urls.is_empty()) else { return vec![] };
        let expiry = now + self.ttl_secs.unwrap_or(DEFAULT_TTL_SECS);
        let username = format!("{expiry}:{who}");
        vec![
            json!({ "urls": urls, "username": username, "credential": credential(secret.expose_secret(), &username) }),
        ]
    }
}

/// base64(HMAC-SHA1(secret, username)): what coturn computes for `use-auth-secret`.
fn credential(secret: &str, username: &str) -> String {
    let mut mac =
        Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_coturns_rest_api_ones() {
        // RFC 2202's HMAC-SHA1 test case 2 ("Jefe"), base64-encoded.
        assert_eq!(credential("Jefe", "what do ya want for nothing?"), "7/zfauXrL6LSdBbV8YTfnCWafHk=");
        let cfg = TurnConfig {
            urls: "turn:10.0.0.1:3478?transport=udp, turn:10.0.0.1:3478?transport=tcp".into(),
            secret: Some(SecretString::from("s3cret")),
            ttl_secs: Some(600),
        };
        let servers = cfg.ice_servers("t7-u3", 1_000_000);
        assert_eq!(servers.len(), 1);
        let s = &servers[0];
        assert_eq!(
            s["urls"],
            json!(["turn:10.0.0.1:3478?transport=udp", "turn:10.0.0.1:3478?transport=tcp"])
        );
        assert_eq!(s["username"], "1000600:t7-u3");
        assert_eq!(s["credential"], credential("s3cret", "1000600:t7-u3"));
    }

    #[test]
    fn no_urls_or_no_secret_means_no_turn() {
        assert!(TurnConfig::default().ice_servers("t1-u1", 0).is_empty());
        let no_secret = TurnConfig { urls: "turn:x:3478".into(), ..Default::default() };
        assert!(no_secret.ice_servers("t1-u1", 0).is_empty());
    }
}
