//! The Stasis application: every call Asterisk hands to `Stasis(callbase, …)` arrives here as a
//! `StasisStart` event over the ARI WebSocket.
//!
//! The dialplan passes `inbound|outbound, TENANT_ID, TRUNK_ID, EXTEN` (the ids come from the trunk
//! endpoint's `set_var`, written by provisioning). Until the browser phone routes calls, an inbound
//! call is answered, hears a tone, and is announced to its tenant (`inbound_call` event); the
//! attribution is cross-checked against the endpoint's native `tenantid`.

use std::time::Duration;

use callbase_core::TenantId;
use futures_util::StreamExt;
use serde::Deserialize;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::ari::Ari;

/// The application name the dialplan uses.
pub const APP: &str = "callbase";

#[derive(Debug, Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    args: Vec<String>,
    channel: Option<Channel>,
}

#[derive(Debug, Deserialize)]
struct Channel {
    id: String,
    #[serde(default)]
    caller: Option<Party>,
    /// The endpoint's native `tenantid` (set by provisioning), when Asterisk reports it.
    #[serde(default)]
    tenantid: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Party {
    #[serde(default)]
    number: String,
}

/// A call handed to us, with its tenant attribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StasisCall {
    pub direction: String,
    pub tenant: TenantId,
    pub trunk: Option<i16>,
    pub exten: String,
}

/// Parses the Stasis arguments `direction, tenant, trunk, exten`. The tenant must agree with the
/// channel's `tenantid` when Asterisk reports one: a mismatch means provisioning is broken, and the
/// call must not be handed to either tenant.
pub fn parse_args(args: &[String], channel_tenant: Option<&str>) -> Option<StasisCall> {
    let [direction, tenant, trunk, exten] = args else { return None };
    let tenant = TenantId(tenant.parse().ok()?);
    if let Some(ct) = channel_tenant.filter(|c| !c.is_empty()) {
        if ct != tenant.to_string() {
            return None;
        }
    }
    Some(StasisCall {
        direction: direction.clone(),
        tenant,
        trunk: trunk.parse().ok(),
        exten: exten.clone(),
    })
}

/// Runs the Stasis app until `shutdown` fires, reconnecting with backoff.
pub async fn run(ari: Ari, redis: redis::aio::ConnectionManager, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut backoff = Duration::from_millis(500);
    loop {
        tokio::select! {
            r = session(&ari, &redis) => {
                if let Err(e) = r {
                    tracing::warn!(error = %e, "ARI events connection lost");
                } else {
                    backoff = Duration::from_millis(500);
                }
            }
            _ = shutdown.changed() => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

async fn session(ari: &Ari, redis: &redis::aio::ConnectionManager) -> anyhow::Result<()> {
    let (url, auth) = ari.events_url(APP)?;
    let mut req = url.as_str().into_client_request()?;
    req.headers_mut().insert("authorization", auth.parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
    tracing::info!(app = APP, "Stasis app connected");
    while let Some(msg) = ws.next().await {
        let text = match msg? {
            Message::Text(t) => t,
            Message::Close(_) => break,
            _ => continue,
        };
        let Ok(ev) = serde_json::from_str::<Event>(&text) else { continue };
        if ev.kind != "StasisStart" {
            continue;
        }
        let Some(ch) = ev.channel else { continue };
        let ari = ari.clone();
        let redis = redis.clone();
        tokio::spawn(async move {
            if let Err(e) = handle_start(&ari, redis, &ev.args, ch).await {
                tracing::warn!(error = %e, "Stasis call handling failed");
            }
        });
    }
    Ok(())
}

async fn handle_start(ari: &Ari, mut redis: redis::aio::ConnectionManager, args: &[String], ch: Channel) -> anyhow::Result<()> {
    let Some(call) = parse_args(args, ch.tenantid.as_deref()) else {
        tracing::error!(channel = %ch.id, ?args, tenantid = ?ch.tenantid, "call with missing or inconsistent tenant attribution; hanging up");
        ari.hangup(&ch.id).await?;
        return Ok(());
    };
    let caller = ch.caller.map(|c| c.number).unwrap_or_default();
    tracing::info!(tenant.id = %call.tenant, trunk = ?call.trunk, exten = %call.exten, direction = %call.direction, channel = %ch.id, "call entered Stasis");
    if call.direction != "inbound" {
        // Outbound calls from agents come with the browser phone.
        ari.hangup(&ch.id).await?;
        return Ok(());
    }
    ari.answer(&ch.id).await?;
    ari.play(&ch.id, "tone:440").await?;
    let event = serde_json::json!({
        "type": "inbound_call",
        "tenant_id": call.tenant,
        "trunk": call.trunk,
        "did": call.exten,
        "caller": caller,
        "channel": ch.id,
    });
    let channel = format!("cb:events:tenant:{}", call.tenant);
    redis::cmd("PUBLISH").arg(&channel).arg(event.to_string()).query_async::<()>(&mut redis).await?;
    // Nobody can take the call yet: end it after a short tone instead of holding the line.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let _ = ari.hangup(&ch.id).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn stasis_args_carry_the_tenant() {
        let c = parse_args(&a(&["inbound", "12", "2", "74951234567"]), Some("12")).unwrap();
        assert_eq!(c, StasisCall { direction: "inbound".into(), tenant: TenantId(12), trunk: Some(2), exten: "74951234567".into() });
        assert!(parse_args(&a(&["inbound", "12", "2", "1"]), None).is_some(), "no tenantid on the channel: args decide");
    }

    #[test]
    fn inconsistent_or_missing_attribution_is_refused() {
        assert_eq!(parse_args(&a(&["inbound", "12", "2", "1"]), Some("13")), None);
        assert_eq!(parse_args(&a(&["inbound", "", "", "1"]), None), None, "empty TENANT_ID: not provisioned");
        assert_eq!(parse_args(&a(&["inbound", "12"]), None), None);
    }
}
