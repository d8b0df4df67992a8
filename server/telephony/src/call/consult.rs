//! Attended transfer (issue #18): the agent puts the other party (the customer) on hold and consults
//! a colleague or a number, then returns to the customer or completes the transfer.
//!
//! - consult: the customer stays alone in the call's bridge hearing music on hold; the agent's leg
//!   moves to a consult bridge of its own (`c-<call id>`) and hears the consulted party ring there
//!   (a colleague's devices, or a number through the trunks under the dial rules and fraud limits);
//! - return (or the consulted party hangs up, or the consultation does not answer): the consulted
//!   leg is hung up and the agent moves back to the customer;
//! - complete (or the agent hangs up while the consulted party is on the line): the consulted leg
//!   joins the customer and the agent's leg is hung up; a colleague becomes the call's agent and
//!   joins its `agents`. The recording (of the call's bridge) goes on.
//!
//! The consulted leg is the call's own (`<call id>-…`) and the consultation is in the call record
//! (`consult_*`, written with every checkpoint): a new controller after a restart adopts an answered
//! consultation and returns the agent to the customer from one still ringing (`adopt.rs`).

use std::collections::HashSet;

use callbase_core::dial::Routed;
use callbase_core::events::CallState;
use callbase_core::UserId;
use tokio::time::Instant;

use super::ring::{devices, ring_users, RingOutcome};
use super::trunk_dial::{dial_out, DialOutcome};
use super::{guard, load, Call, Phase};
use crate::context::CallMsg;

/// The agent's consultation.
#[derive(Debug, Clone)]
pub struct Consult {
    /// What the agent asked for (an extension or a number).
    pub target: String,
    /// The consulted colleague (None: a number through the trunks).
    pub user: Option<UserId>,
    /// The consult bridge.
    pub bridge: String,
    /// The consulted party's leg once it answered.
    pub leg: Option<String>,
}

impl Call {
    /// Keeps a message a wait (ringing, dialling) of a consultation or of a parked call's
    /// ring-back took, for the talk loop (or the parked call's wait).
    pub(super) fn defer(&mut self, msg: CallMsg) {
        if self.consult.is_some() || self.parked.is_some() {
            self.deferred.push_back(msg);
        }
    }

    /// Does `msg` stop a consultation's ringing (the agent returns to the customer, or the customer
    /// hangs up) or a parked call's ring-back (someone picks it up)?
    pub(super) fn interrupts(&self, msg: &CallMsg) -> bool {
        let consult = self.consult.is_some()
            && (matches!(msg, CallMsg::ConsultEnd { .. })
                || self.legs.other.as_deref().is_some_and(|o| msg.ends(o)));
        consult || (self.parked.is_some() && matches!(msg, CallMsg::Pickup { .. }))
    }

    /// The next message for the talk loop: one a wait kept first.
    pub(super) async fn next_msg(&mut self, rx: &mut crate::context::CallRx) -> Option<CallMsg> {
        match self.deferred.pop_front() {
            Some(m) => Some(m),
            None => rx.recv().await,
        }
    }

    /// Moves `ch` from bridge `from` into `to`.
    async fn move_channel(&self, ch: &str, from: &str, to: &str) -> bool {
        self.post(&format!("bridges/{from}/removeChannel"), &[("channel", ch)]).await;
        self.add(to, ch).await
    }

    /// The customer waits: music on hold, counted as hold time.
    pub(super) async fn customer_waits(&mut self, other: &str) {
        self.post(&format!("channels/{other}/moh"), &[]).await;
        self.held_since.get_or_insert_with(Instant::now);
    }

    /// The customer is back with someone: music stops, the hold time is kept.
    pub(super) async fn customer_back(&mut self, other: &str) {
        self.delete(&format!("channels/{other}/moh")).await;
        if let Some(s) = self.held_since.take() {
            self.hold_secs += s.elapsed().as_secs() as i64;
        }
    }

    /// Starts a consultation of `target` and rings it; the agent is back with the customer when it
    /// is refused or not answered (the reason is in the `consult_ended` event).
    #[tracing::instrument(skip_all, fields(tenant.id = %self.tenant, call.id = %self.id))]
    pub(super) async fn consult(
        &mut self,
        bridge: &str,
        agent: &str,
        other: &str,
        target: &str,
        rx: &mut crate::context::CallRx,
    ) {
        if self.consult.is_some() {
            return;
        }
        let t = match load(&self.ctx, self.tenant).await {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "consult: cannot read the tenant's telephony");
                self.publish(CallState::ConsultEnded, Some("the consultation could not start")).await;
                return;
            }
        };
        let exts: HashSet<String> = t.users.iter().map(|u| u.extension.clone()).collect();
        let route = t.rules.route(target, |e| exts.contains(e));
        // What will ring, decided before the customer is put on hold.
        let colleague = match &route {
            Ok(Routed::Internal { extension }) => {
                let Some(u) = t.users.iter().find(|u| &u.extension == extension).cloned() else { return };
                if Some(u.user_id) == self.user {
                    self.publish(CallState::ConsultEnded, Some("you cannot consult yourself")).await;
                    return;
                }
                let devs = devices(&self.ctx, self.tenant, &u).await;
                if devs.is_empty() {
                    self.publish(CallState::ConsultEnded, Some("the colleague is offline")).await;
                    return;
                }
                Some((u, devs))
            }
            Ok(Routed::External { direction, e164, .. }) => {
                let me = t.users.iter().find(|u| Some(u.user_id) == self.user);
                let attempt = crate::fraud::Attempt {
                    tenant: self.tenant,
                    user: me,
                    direction: *direction,
                    e164: e164.as_deref(),
                    call_id: &self.id.to_string(),
                };
                if let Err(refused) = guard(&self.ctx).check_destination(&attempt).await {
                    tracing::info!(reason = %refused, "consult target refused by the fraud guard");
                    self.publish(CallState::ConsultEnded, Some(&refused.to_string())).await;
                    return;
                }
                None
            }
            Err(refusal) => {
                self.publish(CallState::ConsultEnded, Some(&refusal.to_string())).await;
                return;
            }
        };
        // The consult bridge; the customer waits, the agent moves there.
        let cb = format!("c-{}", self.id);
        let q = [("type", "mixing,proxy_media"), ("bridgeId", cb.as_str()), ("name", cb.as_str())];
        if !matches!(self.ctx.ari.call(reqwest::Method::POST, "bridges", &q, None).await, Ok(Some(_))) {
            self.publish(CallState::ConsultEnded, Some("the consultation could not start")).await;
            return;
        }
        self.customer_waits(other).await;
        self.move_channel(agent, bridge, &cb).await;
        self.consult = Some(Consult {
            target: target.to_string(),
            user: colleague.as_ref().map(|(u, _)| u.user_id),
            bridge: cb.clone(),
            leg: None,
        });
        self.set_phase(Phase::Consulting);
        self.checkpoint();
        self.publish_target(CallState::Consulting, target).await;
        self.post(&format!("channels/{agent}/ring"), &[]).await;

        let answered = match (colleague, route) {
            (Some((u, devs)), _) => {
                if !self.audience.contains(&u.user_id) {
                    self.audience.push(u.user_id);
                }
                let devs: Vec<(String, UserId)> = devs.into_iter().map(|d| (d, u.user_id)).collect();
                match ring_users(self, &devs, agent, t.state.ring_timeout_secs as u64, rx, &cb).await {
                    Ok(RingOutcome::Answered(leg, _)) => Ok(leg),
                    Ok(RingOutcome::NoAnswer) => Err("no answer"),
                    Ok(RingOutcome::CallerLeft) => Err("cancelled"),
                    Err(_) => Err("the consultation failed"),
                }
            }
            (None, Ok(Routed::External { dial, .. })) => {
                let trunk = self.trunk;
                let out = dial_out(self, &t, &dial, agent, &cb, rx).await;
                // The call's own trunk stays what the call record shows.
                self.trunk = trunk;
                match out {
                    DialOutcome::Answered(leg) => Ok(leg),
                    DialOutcome::Failed { .. } => Err("no answer"),
                    DialOutcome::CallerLeft => Err("cancelled"),
                }
            }
            _ => Err("the consultation failed"),
        };
        self.delete(&format!("channels/{agent}/ring")).await;
        self.set_phase(Phase::Consulting);
        match answered {
            Ok(leg) => {
                if let Some(c) = self.consult.as_mut() {
                    c.leg = Some(leg);
                }
                self.checkpoint();
                tracing::info!(target, "consultation answered");
                self.publish_target(CallState::Consulted, target).await;
            }
            Err(why) => {
                tracing::info!(target, why, "consultation ended before an answer");
                self.end_consult(bridge, agent, other, why).await;
            }
        }
    }

    /// Ends the consultation: the consulted leg goes and the agent is back with the customer.
    pub(super) async fn end_consult(&mut self, bridge: &str, agent: &str, other: &str, why: &str) {
        let Some(c) = self.consult.take() else { return };
        if let Some(leg) = &c.leg {
            self.hangup(leg).await;
        }
        self.move_channel(agent, &c.bridge, bridge).await;
        self.delete(&format!("bridges/{}", c.bridge)).await;
        self.customer_back(other).await;
        self.set_phase(Phase::Talking);
        self.checkpoint();
        self.publish(CallState::ConsultEnded, Some(why)).await;
    }

    /// Completes the transfer: the consulted party joins the customer, the agent's leg is hung up.
    /// Returns the call's new agent channel (None: nothing was consulted yet; the consultation is
    /// then ended instead).
    pub(super) async fn complete_consult(
        &mut self,
        bridge: &str,
        agent: &str,
        other: &str,
    ) -> Option<String> {
        let Some(leg) = self.consult.as_ref().and_then(|c| c.leg.clone()) else {
            self.end_consult(bridge, agent, other, "cancelled").await;
            return None;
        };
        let c = self.consult.take()?;
        // The agent leaves: whoever supervised them leaves too.
        self.end_supervisions("agent left").await;
        self.hangup(agent).await;
        self.move_channel(&leg, &c.bridge, bridge).await;
        self.delete(&format!("bridges/{}", c.bridge)).await;
        self.customer_back(other).await;
        self.legs.agent = Some(leg.clone());
        self.set_phase(Phase::Talking);
        self.checkpoint();
        tracing::info!(target = %c.target, "attended transfer completed");
        match c.user {
            Some(u) => super::talk::answered(self, Some(u), other).await,
            None => self.publish(CallState::Answered, None).await,
        }
        Some(leg)
    }
}
