//! Desk-phone click-to-call: the agent's phone rings first; when they pick up, the number is
//! dialled as an outbound call of theirs ([`super::outbound`]).

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use uuid::Uuid;

use super::outbound::{outbound, Start};
use super::{load, until_in_stasis, Command};
use crate::agents;
use crate::context::{CallMsg, Ctx, APP};

/// How a callback went.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Rang {
    /// The agent picked up and the number was dialled (the call's record tells the rest).
    Dialled,
    /// The agent's phone did not pick up (or could not ring).
    AgentMissed,
}

#[tracing::instrument(skip_all, fields(tenant.id, call.id))]
pub async fn callback(ctx: Ctx, cmd: Command) {
    ring_agent_then_dial(ctx, cmd).await;
}

/// Rings the agent's phone; once they pick up, dials the number as their call.
pub(super) async fn ring_agent_then_dial(ctx: Ctx, cmd: Command) -> Rang {
    let Command::Callback { call_id, tenant, user, number } = cmd else { return Rang::AgentMissed };
    let span = tracing::Span::current();
    span.record("tenant.id", tracing::field::display(tenant));
    span.record("call.id", call_id.as_str());
    let Ok(id) = Uuid::parse_str(&call_id) else {
        tracing::warn!("callback: the call id is not a UUID");
        return Rang::AgentMissed;
    };
    let t = match load(&ctx, tenant).await {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "callback: cannot read the tenant's telephony");
            return Rang::AgentMissed;
        }
    };
    let Some(u) = t.users.iter().find(|u| u.user_id == user).cloned() else { return Rang::AgentMissed };
    let device = if u.browser_calls { agents::web_id(tenant, user) } else { u.sip_login.clone() };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let leg = format!("{call_id}-agent");
    ctx.router.route(&leg, &tx);
    let args = format!("leg,{call_id}");
    let caller_id = format!("\"{number}\" <{number}>");
    let endpoint = format!("PJSIP/{device}");
    let q = [
        ("endpoint", endpoint.as_str()),
        ("app", APP),
        ("appArgs", args.as_str()),
        ("channelId", leg.as_str()),
        ("callerId", caller_id.as_str()),
    ];
    let created = ctx.ari.call(reqwest::Method::POST, "channels/create", &q, None).await;
    // The dial waits for the new leg to be in Stasis, like every other leg's (a 409 before it is).
    let dial_path = format!("channels/{leg}/dial");
    if !matches!(created, Ok(Some(_)))
        || !until_in_stasis(|| ctx.ari.call(reqwest::Method::POST, &dial_path, &[("timeout", "30")], None))
            .await
    {
        tracing::warn!("callback: cannot ring the agent's phone");
        ctx.router.forget(&leg);
        let _ = ctx.ari.hangup(&leg).await;
        return Rang::AgentMissed;
    }
    let deadline = Instant::now() + Duration::from_secs(35);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(msg)) => {
                if msg.ends(&leg) {
                    ctx.router.forget(&leg);
                    return Rang::AgentMissed;
                }
                if let CallMsg::Ari(ev) = &msg {
                    if ev.answered_channel().is_some() {
                        break;
                    }
                }
            }
            _ => {
                let _ = ctx.ari.hangup(&leg).await;
                ctx.router.forget(&leg);
                return Rang::AgentMissed;
            }
        }
    }
    let start = Start { tenant, user, agent: &leg, exten: &number, call_id: Some(id), created_ms: None };
    if let Err(e) = outbound(ctx.clone(), start, tx, rx).await {
        tracing::warn!(error = %e, "callback call failed");
        let _ = ctx.ari.hangup(&leg).await;
    }
    ctx.router.forget(&leg);
    Rang::Dialled
}
