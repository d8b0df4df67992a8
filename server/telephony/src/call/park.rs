//! Call parking (issue #18): the agent parks a connected call in one of the tenant's slots; the
//! customer waits alone in the call's bridge hearing music on hold and the agent's leg ends. Any
//! agent of the tenant picks it up by dialling `*8<slot>` (the phone's Pick up dials it): their
//! channel joins the call's bridge and they become the call's agent. A call nobody picks up within
//! the tenant's park timeout rings the agent who parked it (for the ring timeout); unanswered, it
//! waits again, and after [`RING_BACKS`] ring-backs it ends.
//!
//! The slot is in the call record (`callbase_db::calls::parking`, one open call per slot), claimed
//! under the controller's Stasis lease like every write of the record; a new controller after a
//! restart continues a parked call from its record (`adopt.rs`): the wait, the ring-back, a pickup.

use std::time::Duration;

use callbase_core::events::{CallState, Event, ParkingChange};
use callbase_core::UserId;
use callbase_db::calls::control;
use time::OffsetDateTime;
use tokio::time::Instant;

use super::ring::{devices, ring_users, RingOutcome};
use super::{now_rfc3339, Call, Op, Phase};
use crate::context::{CallMsg, CallRx};

/// Ring-backs of a call nobody picks up before it ends.
pub const RING_BACKS: u32 = 3;

/// What a parked call knows of its parking.
#[derive(Debug, Clone)]
pub struct Parking {
    pub slot: i16,
    /// Who parked it (rung back).
    pub by: Option<UserId>,
    /// When the current wait started.
    pub since: Instant,
}

/// The `*8<slot>` a phone dials to pick a parked call up.
pub(super) fn pickup_code(exten: &str) -> Option<i16> {
    exten.strip_prefix("*8")?.parse().ok().filter(|s| (1..=callbase_db::calls::parking::SLOTS).contains(s))
}

impl Call {
    /// Claims a slot (`want`, or the next free one) in the call record, fenced by the lease.
    async fn claim_slot(&self, want: Option<i16>, by: UserId) -> Option<i16> {
        for _ in 0..3 {
            let res = async {
                let mut tx = self.ctx.db.tenant_tx(self.tenant).await?;
                let slot = callbase_db::calls::parking::park(&mut tx, self.tenant, self.id, want, by).await?;
                Ok::<_, sqlx::Error>(
                    control::commit_fenced(tx, self.id, self.ctx.fence.token).await?.then_some(slot),
                )
            }
            .await;
            match res {
                Ok(Some(slot)) => return slot,
                Ok(None) => return None,
                // Two calls parked at once took the same free slot: the index refused this one.
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => continue,
                Err(e) => {
                    tracing::error!(error = %e, call.id = %self.id, "cannot park the call");
                    return None;
                }
            }
        }
        None
    }

    /// Tells every phone of the tenant that the call entered (or left) its slot.
    async fn publish_parking(&self, slot: i16, parked: bool) {
        let ev = Event::Parking(ParkingChange {
            call_id: self.id.to_string(),
            slot,
            parked,
            number: self.number.as_str().into(),
            parked_by: self.parked.as_ref().and_then(|p| p.by),
            at: now_rfc3339(),
        });
        self.emit(&[ev]).await;
    }

    /// Parks the call: a slot is claimed, the customer hears music on hold and the agent's leg ends.
    /// False when no slot is free (the call goes on as it was).
    pub(super) async fn park(&mut self, agent: &str, other: &str, want: Option<i16>, by: UserId) -> bool {
        let Some(slot) = self.claim_slot(want, by).await else {
            tracing::info!(call.id = %self.id, "no parking slot is free: the call goes on");
            self.publish(CallState::Answered, Some("every parking slot is taken")).await;
            return false;
        };
        // The agent leaves: whoever supervised them leaves too.
        self.end_supervisions("call parked").await;
        self.customer_waits(other).await;
        self.parked = Some(Parking { slot, by: Some(by), since: Instant::now() });
        self.hangup(agent).await;
        self.legs.agent = None;
        self.set_phase(Phase::Parked);
        self.checkpoint();
        tracing::info!(call.id = %self.id, slot, "call parked");
        self.publish_target(CallState::Parked, &slot.to_string()).await;
        self.publish_parking(slot, true).await;
        true
    }

    /// Leaves the slot: the record and every phone hear of it.
    async fn leave_slot(&mut self) {
        let Some(slot) = self.parked.as_ref().map(|p| p.slot) else { return };
        self.write(Op::Unparked);
        self.publish_parking(slot, false).await;
        self.parked = None;
    }

    /// `channel` (an agent's, who dialled the slot's pickup code) joins the customer.
    async fn take(&mut self, bridge: &str, other: &str, channel: &str, user: UserId) -> bool {
        self.ctx.router.route(channel, &self.tx);
        let _ = self.ctx.ari.answer(channel).await;
        if !self.add(bridge, channel).await {
            tracing::warn!(call.id = %self.id, channel, "the pickup's channel could not join the call");
            self.hangup(channel).await;
            return false;
        }
        self.customer_back(other).await;
        self.leave_slot().await;
        self.legs.agent = Some(channel.to_string());
        self.set_phase(Phase::Talking);
        self.checkpoint();
        super::talk::answered(self, Some(user), other).await;
        true
    }

    /// A parked call waits for a pickup, rings its parker after the park timeout, and ends when the
    /// customer hangs up (or nobody took it after [`RING_BACKS`] ring-backs). Returns the new
    /// agent's channel, or why the call ended.
    pub(super) async fn parked(
        &mut self,
        bridge: &str,
        other: &str,
        rx: &mut CallRx,
    ) -> Result<String, &'static str> {
        let t = match super::load(&self.ctx, self.tenant).await {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "parked call: cannot read the tenant's telephony");
                return Err("the parked call was lost");
            }
        };
        let timeout = Duration::from_secs(t.state.park_timeout_secs.max(5) as u64);
        let mut ring_backs = 0;
        loop {
            let since = self.parked.as_ref().map_or_else(Instant::now, |p| p.since);
            // None: the park timeout passed.
            let msg = match self.deferred.pop_front() {
                Some(m) => Some(m),
                None => match tokio::time::timeout_at(since + timeout, rx.recv()).await {
                    Ok(Some(m)) => Some(m),
                    Ok(None) => return Err("lost"),
                    Err(_) => None,
                },
            };
            let Some(msg) = msg else {
                ring_backs += 1;
                if let Some(leg) = self.ring_back(&t, bridge, other, rx).await {
                    return Ok(leg);
                }
                // A pickup or the customer's hang-up stopped the ring-back: it is handled first.
                if ring_backs >= RING_BACKS && self.deferred.is_empty() {
                    return Err("parked call not picked up");
                }
                if let Some(p) = self.parked.as_mut() {
                    p.since = Instant::now();
                }
                continue;
            };
            match msg {
                CallMsg::Pickup { channel, user } => {
                    let taken = self.take(bridge, other, &channel, user).await;
                    if taken {
                        tracing::info!(call.id = %self.id, user.id = %user, "parked call picked up");
                        return Ok(channel);
                    }
                }
                CallMsg::Supervise { id, .. } => {
                    self.write(Op::SupervisionEnded { id, result: "the call is parked".into() })
                }
                CallMsg::Ari(ev) if ev.ends(other) => return Err("other party hung up"),
                _ => {}
            }
        }
    }
}

impl Call {
    /// Rings the agent who parked the call; the new agent's channel when they answer.
    async fn ring_back(
        &mut self,
        t: &super::Tenancy,
        bridge: &str,
        other: &str,
        rx: &mut CallRx,
    ) -> Option<String> {
        let by = self.parked.as_ref().and_then(|p| p.by)?;
        let parker = t.users.iter().find(|u| u.user_id == by)?.clone();
        let devs = devices(&self.ctx, self.tenant, &parker).await;
        if devs.is_empty() {
            return None;
        }
        let devs: Vec<(String, UserId)> = devs.into_iter().map(|d| (d, parker.user_id)).collect();
        let out = ring_users(self, &devs, other, t.state.ring_timeout_secs as u64, rx, bridge).await;
        self.set_phase(Phase::Parked);
        let Ok(RingOutcome::Answered(leg, who)) = out else { return None };
        self.customer_back(other).await;
        self.leave_slot().await;
        self.legs.agent = Some(leg.clone());
        self.set_phase(Phase::Talking);
        self.checkpoint();
        super::talk::answered(self, Some(who), other).await;
        tracing::info!(call.id = %self.id, "a parked call rang back and was answered");
        Some(leg)
    }
}

/// `user` dialled `*8<slot>` from `channel`: the call parked there takes the channel. Nothing
/// parked there (or not on this node) → the channel is refused as a number that does not exist.
pub(super) async fn pick_up(
    ctx: &crate::context::Ctx,
    tenant: callbase_core::TenantId,
    user: UserId,
    channel: &str,
    slot: i16,
) {
    let found = async {
        let mut tx = ctx.db.tenant_tx(tenant).await?;
        let id = callbase_db::calls::parking::in_slot(&mut tx, tenant, slot).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(id)
    }
    .await;
    let id = found.unwrap_or_else(|e| {
        tracing::error!(error = %e, slot, "pickup: cannot read the parking slot");
        None
    });
    let msg = CallMsg::Pickup { channel: channel.to_string(), user };
    if id.is_some_and(|id| ctx.router.send_to_call(&id.to_string(), msg)) {
        tracing::info!(slot, user.id = %user, "pickup of a parked call");
        return;
    }
    tracing::info!(slot, "pickup: no call is parked in the slot");
    let _ = ctx
        .ari
        .call(reqwest::Method::DELETE, &format!("channels/{channel}"), &[("reason", "unallocated")], None)
        .await;
}

/// How long ago a parked call's wait started, from its record (after a restart).
pub(super) fn waited(parked_at: Option<OffsetDateTime>) -> Duration {
    parked_at
        .map(|at| OffsetDateTime::now_utc() - at)
        .and_then(|d| Duration::try_from(d).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pickup_codes_name_a_slot_of_the_tenant() {
        assert_eq!(pickup_code("*81"), Some(1));
        assert_eq!(pickup_code("*820"), Some(20));
        for not in ["*80", "*821", "*8", "*8x", "81", "*11", "*8-1"] {
            assert_eq!(pickup_code(not), None, "{not}");
        }
    }
}
