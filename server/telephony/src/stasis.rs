//! The Stasis application: every call Asterisk hands to `Stasis(callbase, …)` arrives here as a
//! `StasisStart` event over the ARI WebSocket, and each call is then run by one task (an "actor",
//! [`crate::calls`]) that receives the events of its channels in order.
//!
//! The dialplan passes `inbound, TENANT_ID, TRUNK_ID, DID` for trunk calls and
//! `outbound, TENANT_ID, USER_ID, EXTEN` for agents' calls (ids from the endpoints' `set_var`,
//! written by provisioning). Legs we create ourselves carry `leg, <call id>` and their channel ids
//! are chosen by us, so their events are routed before Asterisk reports them.
//!
//! Commands for running calls (blind transfer, callback click-to-call) come from any server replica
//! over Redis pub/sub ([`COMMANDS`]); only the replica holding the ARI connection acts on them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use callbase_core::TenantId;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::ami::Ami;
use crate::ari::Ari;
use crate::calls::{self, Command};

/// The application name the dialplan uses.
pub const APP: &str = "callbase";

/// Redis channel of call commands (transfer, callback) for the Stasis worker.
pub const COMMANDS: &str = callbase_core::keys::STASIS_COMMANDS;

/// A call handed to us, with its tenant attribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StasisCall {
    pub direction: String,
    pub tenant: TenantId,
    /// The trunk slot (inbound) or the agent's user id (outbound).
    pub origin: Option<i64>,
    pub exten: String,
}

/// Parses the Stasis arguments `direction, tenant, trunk|user, exten`. The tenant must agree with
/// the channel's `tenantid` when Asterisk reports one: a mismatch means provisioning is broken, and
/// the call must not be handed to either tenant.
pub fn parse_args(args: &[String], channel_tenant: Option<&str>) -> Option<StasisCall> {
    let [direction, tenant, origin, exten] = args else { return None };
    let tenant = TenantId(tenant.parse().ok()?);
    if let Some(ct) = channel_tenant.filter(|c| !c.is_empty()) {
        if ct != tenant.to_string() {
            return None;
        }
    }
    Some(StasisCall {
        direction: direction.clone(),
        tenant,
        origin: origin.parse().ok(),
        exten: exten.clone(),
    })
}

/// Routes ARI events to the actor owning each channel.
#[derive(Clone, Default)]
pub struct Router {
    routes: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Value>>>>,
    /// Running calls by call id, for commands.
    calls: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Value>>>>,
}

impl Router {
    /// Sends the events of `channel` to `to` from now on.
    pub fn route(&self, channel: &str, to: &mpsc::UnboundedSender<Value>) {
        self.routes.lock().expect("router").insert(channel.to_string(), to.clone());
    }

    pub fn forget(&self, channel: &str) {
        self.routes.lock().expect("router").remove(channel);
    }

    pub fn register_call(&self, call_id: &str, to: &mpsc::UnboundedSender<Value>) {
        self.calls.lock().expect("router").insert(call_id.to_string(), to.clone());
    }

    pub fn forget_call(&self, call_id: &str) {
        self.calls.lock().expect("router").remove(call_id);
    }

    fn send_to_call(&self, call_id: &str, v: Value) -> bool {
        match self.calls.lock().expect("router").get(call_id) {
            Some(tx) => tx.send(v).is_ok(),
            None => false,
        }
    }

    fn dispatch(&self, ev: &Value) -> bool {
        let ids = [&ev["channel"]["id"], &ev["peer"]["id"], &ev["playback"]["target_uri"]];
        let routes = self.routes.lock().expect("router");
        for id in ids {
            let Some(id) = id.as_str() else { continue };
            let id = id.strip_prefix("channel:").unwrap_or(id);
            if let Some(tx) = routes.get(id) {
                let _ = tx.send(ev.clone());
                return true;
            }
        }
        false
    }
}

/// Everything an actor needs.
#[derive(Clone)]
pub struct Ctx {
    pub ari: Ari,
    pub ami: Option<Ami>,
    pub db: callbase_db::Db,
    pub redis: redis::aio::ConnectionManager,
    pub router: Router,
    /// Base URL Asterisk fetches server-served media from (greetings).
    pub media_base: Option<String>,
}

/// Runs the Stasis app until `shutdown` fires, reconnecting with backoff.
pub async fn run(
    ari: Ari,
    ami: Option<Ami>,
    db: callbase_db::Db,
    redis_client: redis::Client,
    redis: redis::aio::ConnectionManager,
    media_base: Option<String>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let ctx = Ctx { ari, ami, db, redis, router: Router::default(), media_base };
    tokio::spawn(commands(ctx.clone(), redis_client, shutdown.clone()));
    let mut backoff = Duration::from_millis(500);
    loop {
        tokio::select! {
            r = session(&ctx) => {
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

async fn session(ctx: &Ctx) -> anyhow::Result<()> {
    let (url, auth) = ctx.ari.events_url(APP)?;
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
        let Ok(ev) = serde_json::from_str::<Value>(&text) else { continue };
        if ctx.router.dispatch(&ev) {
            continue;
        }
        if ev["type"] == "StasisStart" {
            start(ctx, &ev);
        }
    }
    Ok(())
}

/// A channel entered Stasis that no actor owns yet: a new call.
fn start(ctx: &Ctx, ev: &Value) {
    let ch = &ev["channel"];
    let Some(id) = ch["id"].as_str().map(str::to_string) else { return };
    let args: Vec<String> =
        ev["args"].as_array().into_iter().flatten().filter_map(|a| a.as_str().map(str::to_string)).collect();
    let tenantid = ch["tenantid"].as_str().map(str::to_string);
    if args.first().map(String::as_str) == Some("leg") {
        // A leg whose call has already let go of it (hung up before Asterisk reported it).
        tracing::debug!(channel = %id, "orphan leg entered Stasis; hanging up");
        let ari = ctx.ari.clone();
        tokio::spawn(async move {
            let _ = ari.hangup(&id).await;
        });
        return;
    }
    let Some(call) = parse_args(&args, tenantid.as_deref()) else {
        tracing::error!(channel = %id, ?args, ?tenantid, "call with missing or inconsistent tenant attribution; hanging up");
        let ari = ctx.ari.clone();
        tokio::spawn(async move {
            let _ = ari.hangup(&id).await;
        });
        return;
    };
    let (tx, rx) = mpsc::unbounded_channel();
    ctx.router.route(&id, &tx);
    let ctx = ctx.clone();
    let channel = ch.clone();
    tokio::spawn(async move {
        calls::run_call(ctx.clone(), call, channel, tx, rx).await;
        ctx.router.forget(&id);
    });
}

/// Applies commands published by API replicas.
async fn commands(ctx: Ctx, client: redis::Client, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        let res: anyhow::Result<()> = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(COMMANDS).await?;
            let mut msgs = pubsub.on_message();
            loop {
                tokio::select! {
                    m = msgs.next() => {
                        let Some(m) = m else { return Ok(()) };
                        let Ok(payload) = m.get_payload::<String>() else { continue };
                        match serde_json::from_str::<Command>(&payload) {
                            Ok(cmd) => apply_command(&ctx, cmd),
                            Err(e) => tracing::warn!(error = %e, "unreadable call command"),
                        }
                    }
                    _ = shutdown.changed() => return Ok(()),
                }
            }
        }
        .await;
        if *shutdown.borrow() {
            return;
        }
        if let Err(e) = res {
            tracing::warn!(error = %e, "call command subscription lost");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn apply_command(ctx: &Ctx, cmd: Command) {
    match &cmd {
        Command::Transfer { call_id, target, .. } => {
            let v = serde_json::json!({"type": "transfer", "target": target});
            if !ctx.router.send_to_call(call_id, v) {
                tracing::info!(call.id = %call_id, "transfer for a call this node does not run");
            }
        }
        Command::Callback { .. } => {
            let ctx = ctx.clone();
            tokio::spawn(async move { calls::callback(ctx, cmd).await });
        }
    }
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
        assert_eq!(
            c,
            StasisCall {
                direction: "inbound".into(),
                tenant: TenantId(12),
                origin: Some(2),
                exten: "74951234567".into()
            }
        );
        assert!(
            parse_args(&a(&["inbound", "12", "2", "1"]), None).is_some(),
            "no tenantid on the channel: args decide"
        );
    }

    #[test]
    fn inconsistent_or_missing_attribution_is_refused() {
        assert_eq!(parse_args(&a(&["inbound", "12", "2", "1"]), Some("13")), None);
        assert_eq!(parse_args(&a(&["inbound", "", "", "1"]), None), None, "empty TENANT_ID: not provisioned");
        assert_eq!(parse_args(&a(&["inbound", "12"]), None), None);
    }

    #[test]
    fn events_go_to_the_actor_of_their_channel_peer_or_playback_target() {
        let r = Router::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        r.route("leg-1", &tx);
        assert!(r.dispatch(&serde_json::json!({"type": "Dial", "peer": {"id": "leg-1"}})));
        assert!(r.dispatch(
            &serde_json::json!({"type": "PlaybackFinished", "playback": {"target_uri": "channel:leg-1"}})
        ));
        assert!(!r.dispatch(&serde_json::json!({"type": "StasisStart", "channel": {"id": "other"}})));
        assert_eq!(rx.try_recv().unwrap()["type"], "Dial");
        r.forget("leg-1");
        assert!(!r.dispatch(&serde_json::json!({"type": "Dial", "peer": {"id": "leg-1"}})));
    }
}
