//! What the Stasis worker ([`crate::stasis`]) and the call actors ([`crate::call`]) share: the
//! connections ([`Ctx`]), the routing of events to the actor owning each channel ([`Router`]), and
//! what an actor receives ([`CallMsg`]). Neither of them imports the other's internals through here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use callbase_core::{TenantId, UserId};
use tokio::sync::mpsc;

use crate::ami::Ami;
use crate::ari::events::Event;
use crate::ari::Ari;
use crate::lease::Held;

/// The application name the dialplan uses.
pub const APP: &str = "callbase";

/// A call handed to us, with its tenant attribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StasisCall {
    pub direction: String,
    pub tenant: TenantId,
    /// The trunk slot (inbound) or the agent's user id (outbound).
    pub origin: Option<i64>,
    pub exten: String,
}

/// What a call actor receives, in order.
// Almost every message is an event, moved once through the actor's channel: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum CallMsg {
    /// An ARI event of one of its channels.
    Ari(Event),
    /// Blind transfer to `target` (a command from an API replica).
    Transfer { target: String },
    /// A supervisor joins (issue #18; a command from an API replica).
    Supervise { id: i64, supervisor: UserId, mode: callbase_db::supervisions::Mode },
    /// The agent pauses or resumes the recording (a command from an API replica).
    PauseRecording { paused: bool },
    /// Attended transfer (issue #18): the agent consults `target` while the customer waits…
    Consult { target: String },
    /// …and returns to the customer (`complete`: false; also cancels a consultation still
    /// ringing) or completes the transfer (true).
    ConsultEnd { complete: bool },
    /// The agent parks the call (issue #18) in `slot` or the next free one.
    Park { slot: Option<i16>, by: UserId },
    /// `user` dialled the pickup code of the call's slot from `channel`: the channel is the call's
    /// to take (issue #18).
    Pickup { channel: String, user: UserId },
}

impl CallMsg {
    /// Is this the end of channel `ch`?
    pub fn ends(&self, ch: &str) -> bool {
        matches!(self, CallMsg::Ari(ev) if ev.ends(ch))
    }
}

pub type CallTx = mpsc::UnboundedSender<CallMsg>;
pub type CallRx = mpsc::UnboundedReceiver<CallMsg>;

/// Routes ARI events to the actor owning each channel.
#[derive(Clone, Default)]
pub struct Router {
    routes: Arc<Mutex<HashMap<String, CallTx>>>,
    /// Running calls by call id, for commands.
    calls: Arc<Mutex<HashMap<String, CallTx>>>,
}

impl Router {
    /// Sends the events of `channel` to `to` from now on.
    pub fn route(&self, channel: &str, to: &CallTx) {
        self.routes.lock().expect("router").insert(channel.to_string(), to.clone());
    }

    pub fn forget(&self, channel: &str) {
        self.routes.lock().expect("router").remove(channel);
    }

    /// Forgets `channel`'s route if it still leads to `to` (another actor may have taken it).
    pub fn forget_routed_to(&self, channel: &str, to: &CallTx) {
        let mut routes = self.routes.lock().expect("router");
        if routes.get(channel).is_some_and(|r| r.same_channel(to)) {
            routes.remove(channel);
        }
    }

    pub fn register_call(&self, call_id: &str, to: &CallTx) {
        self.calls.lock().expect("router").insert(call_id.to_string(), to.clone());
    }

    pub fn forget_call(&self, call_id: &str) {
        self.calls.lock().expect("router").remove(call_id);
    }

    /// Does an actor of this process run the call `call_id`?
    pub fn runs_call(&self, call_id: &str) -> bool {
        self.calls.lock().expect("router").contains_key(call_id)
    }

    /// Does an actor of this process own channel `channel`?
    pub fn owns(&self, channel: &str) -> bool {
        self.routes.lock().expect("router").contains_key(channel)
    }

    /// Hands `msg` to the actor owning `channel`; false when none does.
    pub fn send_to_channel(&self, channel: &str, msg: CallMsg) -> bool {
        match self.routes.lock().expect("router").get(channel) {
            Some(tx) => tx.send(msg).is_ok(),
            None => false,
        }
    }

    /// Hands `msg` to the running call `call_id`; false when this node does not run it.
    pub fn send_to_call(&self, call_id: &str, msg: CallMsg) -> bool {
        match self.calls.lock().expect("router").get(call_id) {
            Some(tx) => tx.send(msg).is_ok(),
            None => false,
        }
    }

    /// Hands `ev` to the actor of its channel, its dial peer or its playback's channel; false when
    /// no actor owns any of them.
    pub fn dispatch(&self, ev: &Event) -> bool {
        let routes = self.routes.lock().expect("router");
        for id in ev.channel_ids() {
            if let Some(tx) = routes.get(id) {
                let _ = tx.send(CallMsg::Ari(ev.clone()));
                return true;
            }
        }
        false
    }
}

/// Everything an actor needs.
#[derive(Clone)]
pub struct Ctx {
    /// Asterisk, [fenced](Ari::fenced) by `fence`.
    pub ari: Ari,
    pub ami: Option<Ami>,
    pub db: callbase_db::Db,
    pub redis: redis::aio::ConnectionManager,
    pub router: Router,
    /// Base URL Asterisk fetches server-served media from (greetings).
    pub media_base: Option<String>,
    /// The Asterisk node this Stasis app runs on (`asterisk.node`): call records say which node
    /// runs them, so a new owner of the node's Stasis app knows which calls to adopt.
    pub node: String,
    /// The node's Stasis lease as this worker holds it: the actors act only while it is current
    /// (`crate::lease`, "Fencing"); its token goes into the call records they write.
    pub fence: Held,
}

impl Ctx {
    /// Runs a call's actor (or the adoption of the node's calls) as a task that stops once the
    /// Stasis lease is no longer current: the lease's new holder runs the call from then on, and
    /// this actor's ARI requests and record writes would be refused anyway. Says so once per
    /// actor: at warn level when the lease was lost, at info level when it was handed over on
    /// purpose (a graceful stop).
    pub fn spawn_actor<F>(&self, actor: String, work: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let fence = self.fence.clone();
        tokio::spawn(async move {
            tokio::select! {
                biased;
                _ = fence.lost() => {}
                _ = work => {}
            }
            if fence.is_current() {
                return;
            }
            if fence.handed_over() {
                tracing::info!(
                    actor,
                    token = fence.token,
                    "the Stasis lease is handed over (graceful stop): the actor stops and the lease's next \
                     holder runs its call"
                );
            } else {
                tracing::warn!(
                    actor,
                    token = fence.token,
                    "refused: the Stasis lease is no longer this replica's; the actor stops (no more ARI \
                     requests or call record writes) and the lease's new holder runs its call"
                );
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ev(v: serde_json::Value) -> Event {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn events_go_to_the_actor_of_their_channel_peer_or_playback_target() {
        let r = Router::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        r.route("leg-1", &tx);
        assert!(r.dispatch(&ev(json!({"type": "Dial", "peer": {"id": "leg-1"}}))));
        assert!(
            r.dispatch(&ev(json!({"type": "PlaybackFinished", "playback": {"target_uri": "channel:leg-1"}})))
        );
        assert!(!r.dispatch(&ev(json!({"type": "StasisStart", "channel": {"id": "other"}}))));
        assert!(matches!(rx.try_recv().unwrap(), CallMsg::Ari(Event::Dial { .. })));
        r.forget("leg-1");
        assert!(!r.dispatch(&ev(json!({"type": "Dial", "peer": {"id": "leg-1"}}))));
    }

    #[test]
    fn commands_reach_running_calls_only() {
        let r = Router::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        r.register_call("c1", &tx);
        assert!(r.send_to_call("c1", CallMsg::Transfer { target: "102".into() }));
        assert_eq!(rx.try_recv().unwrap(), CallMsg::Transfer { target: "102".into() });
        r.forget_call("c1");
        assert!(!r.send_to_call("c1", CallMsg::Transfer { target: "102".into() }));
    }
}
