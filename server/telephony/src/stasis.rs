//! The Stasis application: every call Asterisk hands to `Stasis(callbase, …)` arrives here as a
//! `StasisStart` event over the ARI WebSocket, and each call is then run by one task (an "actor",
//! [`crate::call`]) that receives the events of its channels in order.
//!
//! The dialplan passes `inbound, TENANT_ID, TRUNK_ID, DID` for trunk calls and
//! `outbound, TENANT_ID, USER_ID, EXTEN` for agents' calls (ids from the endpoints' `set_var`,
//! written by provisioning). Legs we create ourselves carry `leg, <call id>` and their channel ids
//! are chosen by us, so their events are routed before Asterisk reports them.
//!
//! Commands for running calls (blind transfer, callback click-to-call) come from any server replica
//! over Redis pub/sub ([`COMMANDS`]); only the replica holding the ARI connection acts on them.

use std::time::Duration;

use callbase_core::TenantId;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::ari::events::{Channel, Event};
use crate::call::{self, Command};
use crate::context::{CallMsg, Ctx, StasisCall, APP};

/// Redis channel of call commands (transfer, callback) for the Stasis worker.
pub const COMMANDS: &str = callbase_core::keys::STASIS_COMMANDS;

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

/// Runs the Stasis app until `shutdown` fires, reconnecting with backoff. `ctx` is the app's
/// connections with a fresh [`Router`](crate::context::Router).
pub async fn run(ctx: Ctx, redis_client: redis::Client, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    tokio::spawn(commands(ctx.clone(), redis_client, shutdown.clone()));
    // Queue callbacks of the node's calls are dialled by the lease holder (issue #19).
    tokio::spawn(call::dial_callbacks(ctx.clone(), shutdown.clone()));
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
    tracing::info!(app = APP, node = %ctx.node, "Stasis app connected");
    // Asterisk does not hand us again the channels that were already in the app: adopt the node's
    // live calls (a takeover from a replica that stopped, or events missed while disconnected).
    ctx.spawn_actor("adoption".into(), call::adopt(ctx.clone()));
    while let Some(msg) = ws.next().await {
        let text = match msg? {
            Message::Text(t) => t,
            Message::Close(_) => break,
            _ => continue,
        };
        let ev = match serde_json::from_str::<Event>(&text) {
            Ok(ev) => ev,
            Err(e) => {
                tracing::warn!(error = %e, "unreadable ARI event");
                continue;
            }
        };
        if ctx.router.dispatch(&ev) {
            continue;
        }
        if let Event::StasisStart { channel, args } = ev {
            start(ctx, channel, &args);
        }
    }
    Ok(())
}

/// A channel entered Stasis that no actor owns yet: a new call.
fn start(ctx: &Ctx, channel: Channel, args: &[String]) {
    let id = channel.id.clone();
    if id.is_empty() {
        return;
    }
    let tenantid = channel.tenantid.clone();
    if args.first().map(String::as_str) == Some("leg") {
        // A leg whose call has already let go of it (hung up before Asterisk reported it).
        tracing::debug!(channel = %id, "orphan leg entered Stasis; hanging up");
        let ari = ctx.ari.clone();
        tokio::spawn(async move {
            let _ = ari.hangup(&id).await;
        });
        return;
    }
    let Some(call) = parse_args(args, tenantid.as_deref()) else {
        tracing::error!(channel = %id, ?args, ?tenantid, "call with missing or inconsistent tenant attribution; hanging up");
        let ari = ctx.ari.clone();
        tokio::spawn(async move {
            let _ = ari.hangup(&id).await;
        });
        return;
    };
    let (tx, rx) = mpsc::unbounded_channel();
    ctx.router.route(&id, &tx);
    let actor = format!("call on channel {id}");
    let ctx = ctx.clone();
    let own = tx.clone();
    ctx.clone().spawn_actor(actor, async move {
        call::run_call(ctx.clone(), call, channel, tx, rx).await;
        // Unless another call took the channel meanwhile (a parked call's pickup).
        ctx.router.forget_routed_to(&id, &own);
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
            if !ctx.router.send_to_call(call_id, CallMsg::Transfer { target: target.clone() }) {
                tracing::info!(call.id = %call_id, "transfer for a call this node does not run");
            }
        }
        Command::Supervise { call_id, supervision, supervisor, mode, .. } => {
            let msg = CallMsg::Supervise { id: *supervision, supervisor: *supervisor, mode: *mode };
            if !ctx.router.send_to_call(call_id, msg) {
                tracing::info!(call.id = %call_id, "supervision for a call this node does not run");
            }
        }
        Command::PauseRecording { call_id, paused, .. } => {
            if !ctx.router.send_to_call(call_id, CallMsg::PauseRecording { paused: *paused }) {
                tracing::info!(call.id = %call_id, "recording pause for a call this node does not run");
            }
        }
        Command::Consult { call_id, target, .. } => {
            if !ctx.router.send_to_call(call_id, CallMsg::Consult { target: target.clone() }) {
                tracing::info!(call.id = %call_id, "consultation for a call this node does not run");
            }
        }
        Command::ConsultEnd { call_id, complete, .. } => {
            if !ctx.router.send_to_call(call_id, CallMsg::ConsultEnd { complete: *complete }) {
                tracing::info!(call.id = %call_id, "end of a consultation for a call this node does not run");
            }
        }
        Command::Park { call_id, user, slot, .. } => {
            if !ctx.router.send_to_call(call_id, CallMsg::Park { slot: *slot, by: *user }) {
                tracing::info!(call.id = %call_id, "parking of a call this node does not run");
            }
        }
        Command::Callback { call_id, .. } => {
            let actor = format!("callback {call_id}");
            ctx.spawn_actor(actor, call::callback(ctx.clone(), cmd));
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
}
