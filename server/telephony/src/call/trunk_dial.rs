//! Out through the tenant's trunks: the first registered trunk in the admin's order, early-bridged
//! with the caller so ringback and early media pass; an unregistered trunk, a 5xx or a timeout moves
//! on to the next trunk, and the call record's `route_note` says so.

use callbase_core::events::CallState;
use callbase_core::sip::TrunkRewrite;
use callbase_db::calls::CallResult;
use callbase_db::trunks::TrunkRow;

use super::{now_ms, Call, Op, Phase, Tenancy};
use crate::ari::events::Event;
use crate::context::{CallMsg, CallRx, Ctx};

/// Redis list of our share of call setup in ms — caller's channel created (INVITE in) → trunk leg
/// dialled (INVITE out) — for agents' and probe calls to a trunk, newest first, at most 10 000
/// (`callbase loadgen` reads it).
pub const SETUP_SAMPLES: &str = callbase_core::keys::PROBE_SETUP_SAMPLES;

pub(super) enum DialOutcome {
    Answered(String),
    Failed { result: CallResult, reason: String },
    CallerLeft,
}

/// Q.850 causes after which the next trunk is worth trying (carrier error, timeout, unreachable).
fn try_next_trunk(cause: i64) -> bool {
    matches!(cause, 0 | 3 | 18 | 20 | 27 | 34 | 38 | 41 | 42 | 44 | 47 | 102 | 111 | 127)
}

/// Trunk slots in outbound order, registered ones first-come: an unregistered trunk is skipped
/// (and the skip noted).
async fn trunk_order(ctx: &Ctx, t: &Tenancy) -> Vec<(TrunkRow, bool)> {
    let mut r = ctx.redis.clone();
    let mut out = Vec::new();
    for trunk in &t.trunks {
        let id = crate::trunks::ast_id(trunk.tenant_id, trunk.slot);
        let state: Option<String> = redis::cmd("HGET")
            .arg(callbase_core::keys::trunk_registration(&id))
            .arg("state")
            .query_async(&mut r)
            .await
            .unwrap_or(None);
        out.push((trunk.clone(), state.as_deref() == Some("registered")));
    }
    out
}

/// The reason of a call the carrier answered "no such number" (Q.850 1, SIP 404).
pub(super) const NO_SUCH_NUMBER: &str = "number does not exist";

/// What one trunk leg came to.
enum LegEnd {
    Outcome(DialOutcome),
    /// Failed in a way the next trunk may not (noted).
    Next(String),
}

/// Dials `dial` out through the tenant's trunks in order, the leg early-bridged with `caller`.
#[tracing::instrument(skip_all, fields(tenant.id = %call.tenant, call.id = %call.id))]
pub(super) async fn dial_out(
    call: &mut Call,
    t: &Tenancy,
    dial: &str,
    caller: &str,
    bridge: &str,
    rx: &mut CallRx,
) -> DialOutcome {
    let order = trunk_order(&call.ctx, t).await;
    if order.is_empty() {
        return DialOutcome::Failed { result: CallResult::Failed, reason: "no trunk is set up".into() };
    }
    call.set_phase(Phase::Dialing);
    let mut notes: Vec<String> = Vec::new();
    let started = now_ms();
    for (trunk, registered) in order {
        if !registered {
            notes.push(format!("trunk {} ({}) not registered: skipped", trunk.position, trunk.label));
            continue;
        }
        let number = match trunk.rewrite.as_deref().map(TrunkRewrite::parse) {
            Some(Ok(rw)) => rw.apply(dial),
            _ => dial.to_string(),
        };
        let endpoint = format!("PJSIP/{number}@{}", crate::trunks::ast_id(trunk.tenant_id, trunk.slot));
        call.trunk = Some(trunk.slot);
        let leg_start = now_ms();
        let leg = match call.create_leg(&endpoint, caller).await {
            Ok(l) => l,
            Err(e) => {
                notes.push(format!("trunk {} ({}): {e}", trunk.position, trunk.label));
                continue;
            }
        };
        let created = now_ms();
        call.add(bridge, &leg).await;
        let bridged = now_ms();
        if !call.dial(&leg, caller, 60).await {
            call.hangup(&leg).await;
            notes.push(format!("trunk {} ({}): dial failed", trunk.position, trunk.label));
            continue;
        }
        // Where the set-up's time went (`callbase loadgen`'s "ours" is Asterisk's creation of the
        // caller's channel → here): the StasisStart event's way to us, all before the trunks,
        // creating the leg, bridging it (ARI refuses until it is in Stasis), dialling it.
        let dialled = now_ms();
        tracing::info!(
            trunk = trunk.slot,
            ms_since_start = dialled - started,
            ms_to_us = call.setup_start_ms.map(|t0| call.setup_seen_ms - t0),
            ms_before = call.setup_start_ms.map(|t0| started - t0),
            ms_create = created - leg_start,
            ms_bridge = bridged - created,
            ms_dial = dialled - bridged,
            "trunk leg dialled"
        );
        if let Some(t0) = call.setup_start_ms {
            // Channel created (INVITE in) → trunk leg dialled (INVITE out).
            let mut r = call.ctx.redis.clone();
            let key = SETUP_SAMPLES;
            let _: Result<(), _> =
                redis::pipe().lpush(key, now_ms() - t0).ltrim(key, 0, 9999).query_async(&mut r).await;
        }
        call.legs.dialing = Some(leg.clone());
        let end = wait_leg(call, &leg, caller, rx).await;
        call.legs.dialing = None;
        match end {
            // The carrier took the leg: the record keeps the trunk whatever came of it — an
            // answer, a refusal such as 404 or busy, or the caller giving up (issue #19).
            LegEnd::Outcome(outcome) => {
                let note = (!notes.is_empty()).then(|| notes.join("; "));
                call.write(Op::Routed { slot: trunk.slot, note });
                return outcome;
            }
            LegEnd::Next(why) => notes.push(format!("trunk {} ({}): {why}", trunk.position, trunk.label)),
        }
    }
    let reason =
        if notes.is_empty() { "no trunk could place the call".to_string() } else { notes.join("; ") };
    call.write(Op::Unrouted(reason.clone()));
    DialOutcome::Failed { result: CallResult::Failed, reason }
}

/// Follows a dialled trunk leg until it answers or ends (or the caller leaves).
async fn wait_leg(call: &mut Call, leg: &str, caller: &str, rx: &mut CallRx) -> LegEnd {
    loop {
        let Some(msg) = rx.recv().await else { return LegEnd::Outcome(DialOutcome::CallerLeft) };
        if msg.ends(caller) || call.interrupts(&msg) {
            call.hangup(leg).await;
            call.defer(msg);
            return LegEnd::Outcome(DialOutcome::CallerLeft);
        }
        let CallMsg::Ari(ev) = msg else {
            call.defer(msg);
            continue;
        };
        if !ev.channel_ids().any(|c| c == leg) {
            call.defer(CallMsg::Ari(ev));
            continue;
        }
        match ev {
            Event::Dial { peer, dialstatus, .. } if peer.id == leg => match dialstatus.as_str() {
                "RINGING" => call.publish(CallState::Ringing, None).await,
                "ANSWER" => return LegEnd::Outcome(DialOutcome::Answered(leg.to_string())),
                _ => {}
            },
            Event::ChannelDestroyed { channel, cause: c, cause_txt } if channel.id == leg => {
                call.ctx.router.forget(leg);
                let text = cause_txt.unwrap_or_else(|| "failed".to_string());
                if c == 17 {
                    return LegEnd::Outcome(DialOutcome::Failed {
                        result: CallResult::Busy,
                        reason: "busy".into(),
                    });
                }
                if c == 16 || c == 19 || c == 21 || c == 1 || c == 28 {
                    let reason = if c == 1 { NO_SUCH_NUMBER.to_string() } else { text.to_lowercase() };
                    let result = if c == 16 || c == 19 { CallResult::Missed } else { CallResult::Failed };
                    return LegEnd::Outcome(DialOutcome::Failed { result, reason });
                }
                if try_next_trunk(c) {
                    return LegEnd::Next(text.to_lowercase());
                }
                return LegEnd::Outcome(DialOutcome::Failed {
                    result: CallResult::Failed,
                    reason: text.to_lowercase(),
                });
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carrier_errors_and_timeouts_try_the_next_trunk_but_busy_and_rejections_do_not() {
        for c in [34, 38, 41, 42, 102, 18] {
            assert!(try_next_trunk(c), "cause {c}");
        }
        for c in [16, 17, 21, 1, 28] {
            assert!(!try_next_trunk(c), "cause {c}");
        }
    }
}
