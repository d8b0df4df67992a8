//! Listen, whisper, barge (issue #18): a supervisor joins the agent's side of a connected call with
//! their own phone, which rings first.
//!
//! - listen: an ARI snoop channel on the agent's leg spies on both directions (`spy=both`) and
//!   whispers nothing; it and the supervisor's leg share a bridge of their own: the supervisor hears
//!   both sides, nobody hears the supervisor;
//! - whisper: the same snoop also whispers into what the agent's leg plays (`whisper=out`): only the
//!   agent hears the supervisor;
//! - barge: the supervisor's leg joins the call's bridge (three-way).
//!
//! The supervisor's leg and the snoop channel are the call's own legs (`<call id>-…`): the call's
//! actor gets their events, a new controller adopts them with the call (`adopt.rs`, from the
//! `supervisions` row the actor writes), and they end with the call, the agent's leaving or the
//! supervisor hanging up. Every supervision is a row of `supervisions` (the audit).

use callbase_core::UserId;
use callbase_db::supervisions::Mode;
use serde_json::json;
use uuid::Uuid;

use super::ring::devices;
use super::{until_in_stasis, Call, Op};
use crate::context::{CallMsg, APP};

/// How long the supervisor's phone rings.
const RING_SECS: u64 = 30;

/// One supervision of the call.
#[derive(Debug, Clone)]
pub struct Supervision {
    pub id: i64,
    pub mode: Mode,
    /// The supervisor's devices while they ring.
    pub ringing: Vec<String>,
    /// The supervisor's leg once it answered…
    pub leg: Option<String>,
    /// …the snoop channel on the agent's leg (listen, whisper)…
    pub snoop: Option<String>,
    /// …and the bridge of the two.
    pub bridge: Option<String>,
}

impl Supervision {
    fn channels(&self) -> impl Iterator<Item = &String> {
        self.ringing.iter().chain(&self.leg).chain(&self.snoop)
    }
}

impl Call {
    /// Rings the supervisor's phone for supervision `id` of this call.
    pub(super) async fn supervise(&mut self, id: i64, supervisor: UserId, mode: Mode) {
        // The supervisor's row alone (not the whole tenancy: rules, every user, trunks).
        let found = async {
            let mut tx = self.ctx.db.tenant_tx(self.tenant).await?;
            let u = callbase_db::telephony::get_user(&mut tx, self.tenant, supervisor).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(u)
        }
        .await;
        let user = found.unwrap_or_else(|e| {
            tracing::error!(error = %e, "supervision: cannot read the supervisor's telephony user");
            None
        });
        let devs = match &user {
            Some(u) => devices(&self.ctx, self.tenant, u).await,
            None => vec![],
        };
        let label = match mode {
            Mode::Listen => "Listen",
            Mode::Whisper => "Whisper",
            Mode::Barge => "Barge",
        };
        let mut s = Supervision { id, mode, ringing: vec![], leg: None, snoop: None, bridge: None };
        for dev in devs {
            let leg = format!("{}-{}", self.id, &Uuid::new_v4().simple().to_string()[..8]);
            self.ctx.router.route(&leg, &self.tx);
            let endpoint = format!("PJSIP/{dev}");
            let args = format!("leg,{}", self.id);
            let q = [
                ("endpoint", endpoint.as_str()),
                ("app", APP),
                ("appArgs", args.as_str()),
                ("channelId", leg.as_str()),
            ];
            // The supervisor's phone shows what it is asked to do, not the client's number (an
            // outgoing PJSIP leg's From is its connected line).
            let body = json!({"variables": {
                "CONNECTEDLINE(name)": label,
                "CONNECTEDLINE(num)": "supervise",
                "PJSIP_HEADER(add,X-CB-Supervision)": id.to_string(),
            }});
            let created = self.ctx.ari.call(reqwest::Method::POST, "channels/create", &q, Some(&body)).await;
            let timeout = RING_SECS.to_string();
            let dial = format!("channels/{leg}/dial");
            let dq = [("timeout", timeout.as_str())];
            if matches!(created, Ok(Some(_)))
                && until_in_stasis(|| self.ctx.ari.call(reqwest::Method::POST, &dial, &dq, None)).await
            {
                s.ringing.push(leg);
            } else {
                tracing::warn!(device = %dev, ?created, "supervision: cannot ring the supervisor's device");
                self.hangup(&leg).await;
            }
        }
        if s.ringing.is_empty() {
            self.write(Op::SupervisionEnded { id, result: "no phone".into() });
            return;
        }
        self.supervisions.push(s);
    }

    /// A message of the talk loop that concerns a supervision; true when it was one.
    pub(super) async fn supervision_event(&mut self, msg: &CallMsg, agent: &str, bridge: &str) -> bool {
        let CallMsg::Ari(ev) = msg else { return false };
        let Some(i) =
            self.supervisions.iter().position(|s| ev.channel_ids().any(|c| s.channels().any(|x| x == c)))
        else {
            return false;
        };
        if let Some(won) = ev.answered_channel() {
            if self.supervisions[i].ringing.iter().any(|l| l == won) {
                let won = won.to_string();
                self.connect_supervisor(i, &won, agent, bridge).await;
            }
            return true;
        }
        let s = &self.supervisions[i];
        if let Some(ch) = ev.channel().map(|c| c.id.clone()).filter(|c| ev.ends(c)) {
            if s.ringing.contains(&ch) {
                let s = &mut self.supervisions[i];
                s.ringing.retain(|l| *l != ch);
                self.ctx.router.forget(&ch);
                if s.ringing.is_empty() && s.leg.is_none() {
                    let id = s.id;
                    self.supervisions.remove(i);
                    self.write(Op::SupervisionEnded { id, result: "no answer".into() });
                }
            } else {
                let result =
                    if s.leg.as_deref() == Some(ch.as_str()) { "supervisor hung up" } else { "agent left" };
                self.end_supervision(i, result).await;
            }
        }
        true
    }

    /// The supervisor answered on `leg`: the other devices stop ringing and the leg joins the call
    /// as the mode says.
    async fn connect_supervisor(&mut self, i: usize, leg: &str, agent: &str, bridge: &str) {
        for l in std::mem::take(&mut self.supervisions[i].ringing) {
            if l != leg {
                self.hangup(&l).await;
            }
        }
        let (id, mode) = (self.supervisions[i].id, self.supervisions[i].mode);
        self.supervisions[i].leg = Some(leg.to_string());
        let joined = match mode {
            Mode::Barge => self.add(bridge, leg).await,
            Mode::Listen | Mode::Whisper => self.snoop(i, leg, agent).await,
        };
        if !joined {
            tracing::warn!(supervision = id, "supervision: cannot join the supervisor to the call");
            self.end_supervision(i, "failed").await;
            return;
        }
        let s = &self.supervisions[i];
        self.write(Op::SupervisionAnswered {
            id,
            channel: leg.to_string(),
            snoop: s.snoop.clone(),
            bridge: s.bridge.clone(),
        });
        tracing::info!(supervision = id, mode = mode.as_str(), "a supervisor joined the call");
    }

    /// A snoop channel on the agent's leg and a bridge with the supervisor's leg.
    async fn snoop(&mut self, i: usize, leg: &str, agent: &str) -> bool {
        let (id, mode) = (self.supervisions[i].id, self.supervisions[i].mode);
        let snoop = format!("{}-s{}", self.id, &Uuid::new_v4().simple().to_string()[..7]);
        self.supervisions[i].snoop = Some(snoop.clone());
        let whisper = if mode == Mode::Whisper { "out" } else { "none" };
        if !self.snoop_on(agent, &snoop, whisper).await {
            return false;
        }
        let b = format!("s-{}-{id}", self.id);
        let bq = [("type", "mixing"), ("bridgeId", b.as_str()), ("name", b.as_str())];
        if !matches!(self.ctx.ari.call(reqwest::Method::POST, "bridges", &bq, None).await, Ok(Some(_))) {
            return false;
        }
        self.supervisions[i].bridge = Some(b.clone());
        self.add(&b, &snoop).await && self.add(&b, leg).await
    }

    /// Ends supervision `i`: its channels are hung up, its bridge goes, its row is closed.
    async fn end_supervision(&mut self, i: usize, result: &str) {
        let s = self.supervisions.remove(i);
        for ch in s.channels() {
            self.hangup(ch).await;
        }
        if let Some(b) = &s.bridge {
            self.delete(&format!("bridges/{b}")).await;
        }
        tracing::info!(supervision = s.id, result, "a supervision ended");
        self.write(Op::SupervisionEnded { id: s.id, result: result.to_string() });
    }

    /// Ends every supervision (the call ends, or the agent leaves it).
    pub(super) async fn end_supervisions(&mut self, result: &str) {
        while !self.supervisions.is_empty() {
            self.end_supervision(0, result).await;
        }
    }
}

impl Call {
    /// After a takeover (`adopt.rs`): the call's connected supervisions go on under this actor; one
    /// whose supervisor's phone was still ringing is closed, and its ringing legs (among `owned`, the
    /// call's channels Asterisk listed) are hung up with every other leg of the call nobody knows.
    pub(super) async fn adopt_supervisions(&mut self, owned: &[String]) {
        let rows = async {
            let mut tx = self.ctx.db.tenant_tx(self.tenant).await?;
            let rows = callbase_db::supervisions::open_of_call(&mut tx, self.id).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(rows)
        }
        .await;
        let rows = match rows {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, call.id = %self.id, "adoption: cannot read the call's supervisions");
                return;
            }
        };
        for r in rows {
            match (r.answered_at, r.supervisor_channel, Mode::parse(&r.mode)) {
                (Some(_), Some(leg), Some(mode)) => {
                    let s = Supervision {
                        id: r.id,
                        mode,
                        ringing: vec![],
                        leg: Some(leg),
                        snoop: r.snoop_channel,
                        bridge: r.bridge_id,
                    };
                    for ch in s.channels() {
                        self.ctx.router.route(ch, &self.tx);
                        // A hang-up before the route above would never reach us: look again.
                        if let Ok(None) = self
                            .ctx
                            .ari
                            .call(reqwest::Method::GET, &format!("channels/{ch}"), &[], None)
                            .await
                        {
                            let _ = self.tx.send(super::adopt::destroyed(ch));
                        }
                    }
                    tracing::info!(supervision = s.id, "adopted a supervision");
                    self.supervisions.push(s);
                }
                _ => self.write(Op::SupervisionEnded {
                    id: r.id,
                    result: "interrupted by a server restart".into(),
                }),
            }
        }
        let known: Vec<&String> = [&self.legs.agent, &self.legs.other]
            .into_iter()
            .flatten()
            .chain(std::iter::once(&self.legs.first))
            .chain(self.consult.iter().flat_map(|c| &c.leg))
            .chain(self.supervisions.iter().flat_map(|s| s.channels()))
            .collect();
        let strays: Vec<String> = owned.iter().filter(|c| !known.contains(c)).cloned().collect();
        for ch in strays {
            tracing::info!(call.id = %self.id, channel = %ch, "adoption: hanging up a leg of the call nobody runs");
            self.hangup(&ch).await;
        }
    }
}
