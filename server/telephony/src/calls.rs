//! Call orchestration over ARI: one task per call receives its channels' events in order.
//!
//! - Outbound (an agent's INVITE): the tenant's dial rules decide; a refused number never reaches
//!   a trunk. Otherwise a trunk leg is created on the first registered trunk (in the admin's
//!   order), early-bridged with the agent so ringback and early media reach the browser, then
//!   answered through. An unregistered trunk, a 5xx or a timeout moves on to the next trunk, and
//!   the call record says so.
//! - Inbound (a carrier INVITE on a trunk): answer, greeting, then ring every online telephony
//!   user who accepts incoming calls; the first to answer wins and the others stop ringing; no
//!   answer within the ring timeout, or nobody online, forwards to the tenant's forward number or
//!   ends as missed.
//! - In a call: hold starts music on hold for the other party (explicitly: a recording bridge
//!   does not pass hold on), blind transfer, hang-up on either side ends both.
//!
//! Call state goes to the `calls` table and, as `call` events, to the agents concerned over the
//! tenant's Redis channel (every replica's `/events` sockets).

use std::collections::HashSet;
use std::time::Duration;

use callbase_core::dial::{DialRules, Routed};
use callbase_core::events::{CallEvent, CallState, Event};
use callbase_core::sip::TrunkRewrite;
use callbase_core::{keys, TenantId, UserId};
use callbase_db::telephony::{self as tel, TelUserRow};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::time::Instant;
use uuid::Uuid;

use crate::agents;
use crate::fraud;
use crate::stasis::{Ctx, StasisCall, APP};

/// Commands from the API (any replica) to the Stasis worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Command {
    /// Blind transfer: the agent leaves, the other party is connected to `target`.
    Transfer { call_id: String, tenant: TenantId, user: UserId, target: String },
    /// Desk-phone click-to-call: ring the agent's own phone, then dial `number`.
    Callback { call_id: String, tenant: TenantId, user: UserId, number: String },
}

type Rx = mpsc::UnboundedReceiver<Value>;
type Tx = mpsc::UnboundedSender<Value>;

/// What one call knows about itself.
struct Call {
    ctx: Ctx,
    id: String,
    tenant: TenantId,
    direction: &'static str,
    number: String,
    did: Option<String>,
    trunk: Option<i16>,
    user: Option<UserId>,
    /// Users who see this call's events.
    audience: Vec<UserId>,
    client_ref: Option<String>,
    /// The CRM record the call belongs to (called from, or the caller's unique match).
    crm_record: Option<i64>,
    tx: Tx,
    held_since: Option<Instant>,
    hold_secs: i64,
    /// The call's mixing bridge (once created).
    bridge: Option<String>,
    /// Asterisk's name of the bridge recording, while one runs.
    recording: Option<String>,
    /// A health-probe call: no call record, no events, no recording (the probe keeps its own results).
    quiet: bool,
    /// Asterisk's creation time of the caller's channel (epoch ms), for agents' and probe calls: the
    /// time from it to the trunk leg's dial is our share of call setup ([`SETUP_SAMPLES`]).
    setup_start_ms: Option<i64>,
}

impl Call {
    /// A call with nothing known yet beyond who owns it: no user, trunk, bridge or recording.
    fn new(ctx: &Ctx, id: &str, tenant: TenantId, direction: &'static str, number: String, tx: &Tx) -> Call {
        Call {
            ctx: ctx.clone(),
            id: id.to_string(),
            tenant,
            direction,
            number,
            did: None,
            trunk: None,
            user: None,
            audience: vec![],
            client_ref: None,
            crm_record: None,
            tx: tx.clone(),
            held_since: None,
            hold_secs: 0,
            bridge: None,
            recording: None,
            quiet: false,
            setup_start_ms: None,
        }
    }

    async fn publish(&self, state: CallState, reason: Option<&str>) {
        self.publish_event(state, reason, None).await
    }

    /// A state whose news is where the call went (a transfer or forward target, masked like every
    /// number).
    async fn publish_target(&self, state: CallState, target: &str) {
        self.publish_event(state, None, Some(target)).await
    }

    async fn publish_event(&self, state: CallState, reason: Option<&str>, target: Option<&str>) {
        if self.quiet {
            return;
        }
        let ev = Event::Call(CallEvent {
            call_id: self.id.clone(),
            state,
            direction: self.direction.to_string(),
            number: self.number.as_str().into(),
            did: self.did.clone(),
            trunk: self.trunk,
            user_id: self.user,
            client_ref: self.client_ref.clone(),
            reason: reason.map(str::to_string),
            target: target.map(Into::into),
            at: OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            user_ids: self.audience.clone(),
        });
        let mut r = self.ctx.redis.clone();
        if let Err(e) = redis::cmd("PUBLISH")
            .arg(keys::events(self.tenant))
            .arg(ev.to_json())
            .query_async::<()>(&mut r)
            .await
        {
            tracing::warn!(error = %e, "cannot publish call event");
        }
    }

    async fn insert(&self) {
        if self.quiet {
            return;
        }
        let res = async {
            let mut tx = self.ctx.db.tenant_tx(self.tenant).await?;
            sqlx::query(
                // The CRM record the agent called from (only one of this tenant's: RLS hides others).
                "INSERT INTO calls (id, tenant_id, direction, user_id, number, did, trunk_slot, crm_record_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, (SELECT id FROM crm_records WHERE id = $8))",
            )
            .bind(Uuid::parse_str(&self.id).unwrap_or_default())
            .bind(self.tenant)
            .bind(self.direction)
            .bind(self.user)
            .bind(&self.number)
            .bind(&self.did)
            .bind(self.trunk)
            .bind(self.crm_record)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = res {
            tracing::error!(error = %e, call.id = %self.id, "cannot write the call record");
        }
    }

    /// Updates the call record: `f` appends the `SET` list (with bound values).
    async fn update(&self, f: impl FnOnce(&mut sqlx::QueryBuilder<'_, sqlx::Postgres>)) {
        if self.quiet {
            return;
        }
        let res = async {
            let mut tx = self.ctx.db.tenant_tx(self.tenant).await?;
            let mut q = sqlx::QueryBuilder::new("UPDATE calls SET ");
            f(&mut q);
            q.push(" WHERE id = ").push_bind(Uuid::parse_str(&self.id).unwrap_or_default());
            q.build().execute(&mut *tx).await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = res {
            tracing::error!(error = %e, call.id = %self.id, "cannot update the call record");
        }
    }

    async fn finish(&mut self, result: &str, reason: Option<&str>) {
        self.stop_recording().await;
        let hold = self.hold_secs + self.held_since.map_or(0, |s| s.elapsed().as_secs() as i64);
        let (result, reason) = (result.to_string(), reason.map(str::to_string));
        self.update(|q| {
            q.push("ended_at = now(), result = COALESCE(result, ")
                .push_bind(result)
                .push("), reason = COALESCE(reason, ");
            q.push_bind(reason).push("), hold_secs = ").push_bind(hold as i32);
        })
        .await;
    }

    /// A leg of this call: its events come to this actor. The channel id is ours, so no event is
    /// missed between creation and routing.
    async fn create_leg(
        &self,
        endpoint: &str,
        originator: &str,
        caller_id: Option<&str>,
    ) -> Result<String, String> {
        let leg = format!("{}-{}", self.id, &Uuid::new_v4().simple().to_string()[..8]);
        self.ctx.router.route(&leg, &self.tx);
        let args = format!("leg,{}", self.id);
        let mut q = vec![
            ("endpoint", endpoint),
            ("app", APP),
            ("appArgs", args.as_str()),
            ("channelId", leg.as_str()),
            ("originator", originator),
        ];
        let cid;
        if let Some(c) = caller_id {
            cid = c.to_string();
            q.push(("callerId", cid.as_str()));
        }
        let body = json!({"variables": {"PJSIP_HEADER(add,X-CB-Call)": self.id}});
        match self.ctx.ari.call(reqwest::Method::POST, "channels/create", &q, Some(&body)).await {
            Ok(Some(_)) => Ok(leg),
            Ok(None) => Err("endpoint not found".into()),
            Err(e) => {
                self.ctx.router.forget(&leg);
                Err(e.to_string())
            }
        }
    }

    /// Dials a created leg. `channels/create` returns before the channel has entered Stasis, and
    /// ARI refuses to dial (or bridge) it until then: retry briefly.
    async fn dial(&self, leg: &str, caller: &str, timeout: u64) -> bool {
        let t = timeout.to_string();
        let path = format!("channels/{leg}/dial");
        let q = [("caller", caller), ("timeout", t.as_str())];
        self.retry(|| self.ctx.ari.call(reqwest::Method::POST, &path, &q, None)).await
    }

    async fn retry<F, Fut>(&self, f: F) -> bool
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Option<Value>, crate::ari::AriError>>,
    {
        until_in_stasis(f).await
    }

    async fn hangup(&self, ch: &str) {
        let _ = self.ctx.ari.hangup(ch).await;
        self.ctx.router.forget(ch);
    }

    /// A mixing bridge with `proxy_media`: media always passes through the core. Without it two
    /// PCMU legs (desk phone ↔ trunk) were bridged natively and lost their audio when the bridge
    /// had to become softmix as the recording joined (docs/e2e-lab.md).
    async fn new_bridge(&mut self) -> Option<String> {
        let id = format!("b-{}", self.id);
        match self
            .ctx
            .ari
            .call(
                reqwest::Method::POST,
                "bridges",
                &[("type", "mixing,proxy_media"), ("bridgeId", &id), ("name", &id)],
                None,
            )
            .await
        {
            Ok(Some(_)) => {
                self.bridge = Some(id.clone());
                Some(id)
            }
            other => {
                tracing::error!(?other, call.id = %self.id, "cannot create a bridge");
                None
            }
        }
    }

    /// Starts recording the bridge, when the tenant records this call (recording starts at the
    /// answer; a transfer keeps the same recording going).
    async fn start_recording(&mut self) {
        if self.recording.is_some() || self.quiet {
            return;
        }
        let Some(bridge) = self.bridge.clone() else { return };
        if !crate::recording::should_record(&self.ctx.db, self.tenant, self.user).await {
            return;
        }
        let name = crate::recording::asterisk_name(&self.id);
        let q = [
            ("name", name.as_str()),
            ("format", "wav"),
            ("ifExists", "overwrite"),
            ("beep", "false"),
            ("terminateOn", "none"),
        ];
        match self.ctx.ari.call(reqwest::Method::POST, &format!("bridges/{bridge}/record"), &q, None).await {
            Ok(Some(_)) => {
                self.recording = Some(name.clone());
                self.update(|q| {
                    q.push("recording_state = 'recording', recording_name = ").push_bind(name);
                })
                .await;
            }
            other => tracing::warn!(?other, call.id = %self.id, "cannot start recording"),
        }
    }

    /// Stops the recording and hands it to the uploader (`pending`, with its object key).
    async fn stop_recording(&mut self) {
        let Some(name) = self.recording.take() else { return };
        if let Err(e) =
            self.ctx.ari.call(reqwest::Method::POST, &format!("recordings/live/{name}/stop"), &[], None).await
        {
            tracing::debug!(error = %e, "stopping the recording (it may have ended with the bridge)");
        }
        let key = crate::recording::new_key(self.tenant);
        self.update(|q| {
            q.push("recording_state = 'pending', recording_next_try = now(), recording_key = ")
                .push_bind(key);
        })
        .await;
    }

    async fn add(&self, bridge: &str, ch: &str) -> bool {
        let path = format!("bridges/{bridge}/addChannel");
        let q = [("channel", ch)];
        self.retry(|| self.ctx.ari.call(reqwest::Method::POST, &path, &q, None)).await
    }

    async fn post(&self, path: &str, q: &[(&str, &str)]) {
        if let Err(e) = self.ctx.ari.call(reqwest::Method::POST, path, q, None).await {
            tracing::debug!(error = %e, path, "ARI request failed");
        }
    }

    async fn delete(&self, path: &str) {
        let _ = self.ctx.ari.call(reqwest::Method::DELETE, path, &[], None).await;
    }
}

fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Is this event the end of channel `ch`?
fn ended(ev: &Value, ch: &str) -> bool {
    matches!(ev["type"].as_str(), Some("ChannelDestroyed" | "StasisEnd" | "ChannelHangupRequest"))
        && ev["channel"]["id"] == ch
}

fn cause(ev: &Value) -> i64 {
    ev["cause"].as_i64().unwrap_or(0)
}

/// Q.850 causes after which the next trunk is worth trying (carrier error, timeout, unreachable).
fn try_next_trunk(cause: i64) -> bool {
    matches!(cause, 0 | 3 | 18 | 20 | 27 | 34 | 38 | 41 | 42 | 44 | 47 | 102 | 111 | 127)
}

struct Tenancy {
    enabled: bool,
    rules: DialRules,
    state: tel::TelephonyRow,
    users: Vec<TelUserRow>,
    trunks: Vec<callbase_db::trunks::TrunkRow>,
}

async fn load(ctx: &Ctx, tenant: TenantId) -> Result<Tenancy, sqlx::Error> {
    let mut tx = ctx.db.tenant_tx(tenant).await?;
    let state = tel::state(&mut tx, tenant).await?;
    let rules = callbase_db::settings::dial_rules(&mut tx, tenant).await?;
    let users = tel::list_users(&mut tx, tenant).await?;
    let trunks = callbase_db::trunks::list(&mut tx, tenant).await?;
    tx.commit().await?;
    Ok(Tenancy { enabled: state.enabled, rules, state, users, trunks })
}

/// Trunk slots in outbound order, registered ones first-come: an unregistered trunk is skipped
/// (and the skip noted).
async fn trunk_order(ctx: &Ctx, t: &Tenancy) -> Vec<(callbase_db::trunks::TrunkRow, bool)> {
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

/// The devices of a user that can ring now (registered contacts).
async fn devices(ctx: &Ctx, tenant: TenantId, u: &TelUserRow) -> Vec<String> {
    let id = if u.browser_calls { agents::web_id(tenant, u.user_id) } else { u.sip_login.clone() };
    match agents::has_contact(ctx.ami.as_ref(), &ctx.ari, &id).await {
        Ok(true) => vec![id],
        Ok(false) => {
            tracing::debug!(device = %id, "device offline");
            vec![]
        }
        Err(e) => {
            tracing::warn!(device = %id, error = %e, "cannot tell whether a device is online");
            vec![]
        }
    }
}

/// Entry point for a channel that entered Stasis as a new call.
pub async fn run_call(ctx: Ctx, call: StasisCall, channel: Value, tx: Tx, rx: Rx) {
    let ch = channel["id"].as_str().unwrap_or_default().to_string();
    let res = match call.direction.as_str() {
        "inbound" => inbound(ctx.clone(), &call, &ch, &channel, tx, rx).await,
        "outbound" => match call.origin {
            Some(user) => {
                outbound(
                    ctx.clone(),
                    call.tenant,
                    UserId(user),
                    &ch,
                    &call.exten,
                    tx,
                    rx,
                    None,
                    asterisk_time_ms(&channel["creationtime"]),
                )
                .await
            }
            None => Err("agent call without a user".into()),
        },
        "probe" => {
            probe(ctx.clone(), &ch, &call.exten, asterisk_time_ms(&channel["creationtime"]), tx, rx).await
        }
        other => Err(format!("unknown direction {other}")),
    };
    if let Err(e) = res {
        tracing::warn!(error = %e, channel = %ch, "call ended with an error");
        let _ = ctx.ari.hangup(&ch).await;
    }
}

/// An agent's call out (browser INVITE or the answered first leg of a callback).
#[allow(clippy::too_many_arguments)]
async fn outbound(
    ctx: Ctx,
    tenant: TenantId,
    user: UserId,
    agent: &str,
    exten: &str,
    tx: Tx,
    mut rx: Rx,
    call_id: Option<String>,
    created_ms: Option<i64>,
) -> Result<(), String> {
    let t = load(&ctx, tenant).await.map_err(|e| e.to_string())?;
    let id = call_id.unwrap_or_else(|| Uuid::new_v4().to_string());
    let client_ref = channel_var(&ctx, agent, "PJSIP_HEADER(read,X-CB-Ref)").await;
    let mut crm_record = None;
    // Click-to-call by reference (`crm<record>x<field>`): users who see numbers masked dial the
    // CRM phone field, never the number; it is resolved here, inside the tenant.
    let resolved;
    let exten = match crm_reference(exten) {
        Some((record, field)) => {
            resolved = crm_phone(&ctx, tenant, record, field).await.unwrap_or_default();
            crm_record = Some(record);
            resolved.as_str()
        }
        None => exten,
    };
    let mut call = Call {
        user: Some(user),
        audience: vec![user],
        client_ref,
        crm_record,
        setup_start_ms: created_ms,
        ..Call::new(&ctx, &id, tenant, "outbound", exten.to_string(), &tx)
    };
    ctx.router.register_call(&id, &tx);
    let out = outbound_inner(&mut call, &t, agent, exten, &mut rx).await;
    ctx.router.forget_call(&id);
    out
}

/// A health-probe call (`[from-probe]` in the dialplan): `t<tenant>x<number>` dials `number`
/// through the tenant's trunks exactly as an agent's call would (trunk order, registration, rewrite),
/// but leaves no call record, event or recording. A failure hangs the probe up with the cause, so the
/// probe's SIP response says what broke.
async fn probe(
    ctx: Ctx,
    probe_ch: &str,
    exten: &str,
    created_ms: Option<i64>,
    tx: Tx,
    mut rx: Rx,
) -> Result<(), String> {
    let (tenant, number) = probe_target(exten).ok_or_else(|| format!("not a probe target: {exten}"))?;
    let since = || created_ms.map(|c| now_ms() - c);
    tracing::debug!(since_created_ms = ?since(), "probe call in Stasis");
    let t = load(&ctx, tenant).await.map_err(|e| e.to_string())?;
    tracing::debug!(since_created_ms = ?since(), "probe call: tenancy loaded");
    let id = Uuid::new_v4().to_string();
    let mut call = Call {
        quiet: true,
        setup_start_ms: created_ms,
        ..Call::new(&ctx, &id, tenant, "probe", number.to_string(), &tx)
    };
    if !t.enabled {
        // ARI knows a fixed set of reasons (an unknown one is a 400 and leaves the channel up).
        let _ = ctx
            .ari
            .call(reqwest::Method::DELETE, &format!("channels/{probe_ch}"), &[("reason", "rejected")], None)
            .await;
        return Ok(());
    }
    // The probe dials like an agent: the tenant's dial rules decide (premium ranges and directions
    // the tenant does not allow are refused here too, whatever number was saved).
    let dial = match t.rules.route(number, |_| false) {
        Ok(Routed::External { dial, .. }) => dial,
        other => {
            let why = other.err().map_or_else(|| "not an outside number".to_string(), |r| r.to_string());
            tracing::warn!(tenant.id = %tenant, reason = %why, "probe number refused by the dial rules");
            let _ = ctx
                .ari
                .call(
                    reqwest::Method::DELETE,
                    &format!("channels/{probe_ch}"),
                    &[("reason", "unallocated")],
                    None,
                )
                .await;
            return Ok(());
        }
    };
    let bridge = call.new_bridge().await.ok_or("no bridge")?;
    tracing::debug!(since_created_ms = ?since(), "probe call: bridge created");
    call.add(&bridge, probe_ch).await;
    tracing::debug!(since_created_ms = ?since(), "probe call: bridged");
    let outcome = dial_out(&mut call, &t, &dial, probe_ch, &bridge, &mut rx).await;
    match outcome {
        DialOutcome::Answered(leg) => {
            call.post(&format!("channels/{probe_ch}/answer"), &[]).await;
            while let Some(ev) = rx.recv().await {
                if ended(&ev, probe_ch) || ended(&ev, &leg) {
                    break;
                }
            }
            call.hangup(&leg).await;
            call.hangup(probe_ch).await;
        }
        DialOutcome::Failed { reason, .. } => {
            tracing::warn!(tenant.id = %tenant, %reason, "probe call through the trunk failed");
            let _ = ctx
                .ari
                .call(
                    reqwest::Method::DELETE,
                    &format!("channels/{probe_ch}"),
                    &[("reason", "congestion")],
                    None,
                )
                .await;
        }
        DialOutcome::CallerLeft => {}
    }
    call.delete(&format!("bridges/{bridge}")).await;
    Ok(())
}

/// Redis list of our share of call setup in ms — caller's channel created (INVITE in) → trunk leg
/// dialled (INVITE out) — for agents' and probe calls to a trunk, newest first, at most 10 000
/// (`callbase loadgen` reads it).
pub const SETUP_SAMPLES: &str = callbase_core::keys::PROBE_SETUP_SAMPLES;

/// An ARI timestamp (`2026-11-28T05:40:00.123+0000`) as epoch milliseconds.
pub fn asterisk_time_ms(v: &Value) -> Option<i64> {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond][offset_hour sign:mandatory][offset_minute]");
    let t = OffsetDateTime::parse(v.as_str()?, &f).ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// `t<tenant>x<number>` → (tenant, number).
pub fn probe_target(exten: &str) -> Option<(TenantId, &str)> {
    let (t, n) = exten.strip_prefix('t')?.split_once('x')?;
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) || n.is_empty() {
        return None;
    }
    Some((TenantId(t.parse().ok()?), n))
}

/// `crm<record>x<field>` → (record, field). (Letters and digits only: the dialplan's pattern
/// takes nothing else.)
pub fn crm_reference(exten: &str) -> Option<(i64, i64)> {
    let (r, f) = exten.strip_prefix("crm")?.split_once('x')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(r) && digits(f)).then(|| Some((r.parse().ok()?, f.parse().ok()?)))?
}

/// The E.164 number of a CRM record's phone field, inside the tenant.
async fn crm_phone(ctx: &Ctx, tenant: TenantId, record: i64, field: i64) -> Option<String> {
    let mut tx = ctx.db.tenant_tx(tenant).await.ok()?;
    let n = callbase_db::crm::phone_of(&mut tx, tenant, record, field).await.ok()?;
    let _ = tx.commit().await;
    n
}

async fn outbound_inner(
    call: &mut Call,
    t: &Tenancy,
    agent: &str,
    exten: &str,
    rx: &mut Rx,
) -> Result<(), String> {
    let tenant = call.tenant;
    if !t.enabled || !t.users.iter().any(|u| Some(u.user_id) == call.user && !u.disabled) {
        call.hangup(agent).await;
        return Ok(());
    }
    let exts: HashSet<String> = t.users.iter().map(|u| u.extension.clone()).collect();
    let routed = match t.rules.route(exten, |e| exts.contains(e)) {
        Ok(r) => r,
        Err(refusal) => {
            refuse(call, agent, refusal.code(), &refusal.to_string()).await;
            return Ok(());
        }
    };
    match routed {
        Routed::Internal { extension } => {
            call.direction = "internal";
            call.number = extension.clone();
            let Some(target) = t.users.iter().find(|u| u.extension == extension && !u.disabled) else {
                call.hangup(agent).await;
                return Ok(());
            };
            call.audience.push(target.user_id);
            call.insert().await;
            call.publish(CallState::Dialing, None).await;
            let devs: Vec<(String, UserId)> =
                devices(&call.ctx, tenant, target).await.into_iter().map(|d| (d, target.user_id)).collect();
            let bridge = call.new_bridge().await.ok_or("no bridge")?;
            call.add(&bridge, agent).await;
            call.post(&format!("channels/{agent}/ring"), &[]).await;
            let won = ring_users(call, &devs, agent, t.state.ring_timeout_secs as u64, rx, &bridge).await?;
            match won {
                RingOutcome::Answered(leg, who) => {
                    call.post(&format!("channels/{agent}/answer"), &[]).await;
                    answered(call, Some(who)).await;
                    talk(call, &bridge, agent, &leg, rx).await;
                }
                RingOutcome::CallerLeft => call.finish("missed", Some("caller hung up")).await,
                RingOutcome::NoAnswer => {
                    call.hangup(agent).await;
                    call.publish(CallState::Ended, Some("no answer")).await;
                    call.finish("missed", Some("no answer")).await;
                }
            }
            call.delete(&format!("bridges/{bridge}")).await;
            Ok(())
        }
        Routed::External { direction, e164, dial } => {
            call.number = e164.clone().unwrap_or_else(|| dial.clone());
            let me = t.users.iter().find(|u| Some(u.user_id) == call.user);
            let attempt =
                fraud::Attempt { tenant, user: me, direction, e164: e164.as_deref(), call_id: &call.id };
            // Held until the call ends: it counts towards the concurrent-call caps meanwhile.
            let _live = match guard(&call.ctx).admit(&attempt).await {
                Ok(live) => live,
                Err(refused) => {
                    refuse(call, agent, refused.code(), &refused.to_string()).await;
                    return Ok(());
                }
            };
            call.insert().await;
            call.publish(CallState::Dialing, None).await;
            let bridge = call.new_bridge().await.ok_or("no bridge")?;
            call.add(&bridge, agent).await;
            let outcome = dial_out(call, t, &dial, agent, &bridge, rx).await;
            match outcome {
                DialOutcome::Answered(leg) => {
                    call.post(&format!("channels/{agent}/answer"), &[]).await;
                    answered(call, call.user).await;
                    talk(call, &bridge, agent, &leg, rx).await;
                }
                DialOutcome::Failed { result, reason } => {
                    call.hangup(agent).await;
                    call.publish(CallState::Ended, Some(&reason)).await;
                    call.finish(result, Some(&reason)).await;
                }
                DialOutcome::CallerLeft => {
                    call.publish(CallState::Ended, Some("cancelled")).await;
                    call.finish("missed", Some("cancelled before answer")).await;
                }
            }
            call.delete(&format!("bridges/{bridge}")).await;
            Ok(())
        }
    }
}

/// Refuses an agent's call before any trunk: recorded as `refused` with the reason, answered 404.
async fn refuse(call: &mut Call, agent: &str, code: &str, reason: &str) {
    call.insert().await;
    call.publish(CallState::Refused, Some(reason)).await;
    call.finish("refused", Some(reason)).await;
    tracing::info!(tenant.id = %call.tenant, call.id = %call.id, code, "outbound call refused");
    let _ = call
        .ctx
        .ari
        .call(reqwest::Method::DELETE, &format!("channels/{agent}"), &[("reason", "unallocated")], None)
        .await;
}

fn guard(ctx: &Ctx) -> fraud::Guard {
    fraud::Guard { db: ctx.db.clone(), redis: ctx.redis.clone() }
}

async fn channel_var(ctx: &Ctx, ch: &str, var: &str) -> Option<String> {
    match ctx
        .ari
        .call(reqwest::Method::GET, &format!("channels/{ch}/variable"), &[("variable", var)], None)
        .await
    {
        Ok(Some(v)) => v["value"].as_str().filter(|s| !s.is_empty()).map(str::to_string),
        _ => None,
    }
}

enum DialOutcome {
    Answered(String),
    Failed { result: &'static str, reason: String },
    CallerLeft,
}

/// Dials `dial` out through the tenant's trunks in order, the leg early-bridged with `caller`.
async fn dial_out(
    call: &mut Call,
    t: &Tenancy,
    dial: &str,
    caller: &str,
    bridge: &str,
    rx: &mut Rx,
) -> DialOutcome {
    let order = trunk_order(&call.ctx, t).await;
    if order.is_empty() {
        return DialOutcome::Failed { result: "failed", reason: "no trunk is set up".into() };
    }
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
        let leg = match call.create_leg(&endpoint, caller, None).await {
            Ok(l) => l,
            Err(e) => {
                notes.push(format!("trunk {} ({}): {e}", trunk.position, trunk.label));
                continue;
            }
        };
        call.add(bridge, &leg).await;
        if !call.dial(&leg, caller, 60).await {
            call.hangup(&leg).await;
            notes.push(format!("trunk {} ({}): dial failed", trunk.position, trunk.label));
            continue;
        }
        tracing::info!(call.id = %call.id, trunk = trunk.slot, ms_since_start = now_ms() - started, "trunk leg dialled");
        if let Some(t0) = call.setup_start_ms {
            // Channel created (INVITE in) → trunk leg dialled (INVITE out).
            let mut r = call.ctx.redis.clone();
            let key = SETUP_SAMPLES;
            let _: Result<(), _> =
                redis::pipe().lpush(key, now_ms() - t0).ltrim(key, 0, 9999).query_async(&mut r).await;
        }
        loop {
            let Some(ev) = rx.recv().await else { return DialOutcome::CallerLeft };
            if ended(&ev, caller) {
                call.hangup(&leg).await;
                return DialOutcome::CallerLeft;
            }
            if ev["type"] == "Dial" && ev["peer"]["id"] == leg.as_str() {
                match ev["dialstatus"].as_str().unwrap_or_default() {
                    "RINGING" => call.publish(CallState::Ringing, None).await,
                    "ANSWER" => {
                        if !notes.is_empty() {
                            let note = notes.join("; ");
                            call.update(|q| {
                                q.push("route_note = ").push_bind(note);
                            })
                            .await;
                        }
                        let slot = trunk.slot;
                        call.update(|q| {
                            q.push("trunk_slot = ").push_bind(slot);
                        })
                        .await;
                        return DialOutcome::Answered(leg);
                    }
                    _ => {}
                }
            }
            if ev["type"] == "ChannelDestroyed" && ev["channel"]["id"] == leg.as_str() {
                call.ctx.router.forget(&leg);
                let c = cause(&ev);
                let text = ev["cause_txt"].as_str().unwrap_or("failed").to_string();
                if c == 17 {
                    return DialOutcome::Failed { result: "busy", reason: "busy".into() };
                }
                if c == 16 || c == 19 || c == 21 || c == 1 || c == 28 {
                    let reason =
                        if c == 1 { "number does not exist".to_string() } else { text.to_lowercase() };
                    return DialOutcome::Failed {
                        result: if c == 16 || c == 19 { "missed" } else { "failed" },
                        reason,
                    };
                }
                if try_next_trunk(c) {
                    notes.push(format!(
                        "trunk {} ({}): {}",
                        trunk.position,
                        trunk.label,
                        text.to_lowercase()
                    ));
                    break;
                }
                return DialOutcome::Failed { result: "failed", reason: text.to_lowercase() };
            }
        }
    }
    let reason =
        if notes.is_empty() { "no trunk could place the call".to_string() } else { notes.join("; ") };
    let note = reason.clone();
    call.update(|q| {
        q.push("route_note = ").push_bind(note);
    })
    .await;
    DialOutcome::Failed { result: "failed", reason }
}

async fn answered(call: &mut Call, who: Option<UserId>) {
    call.user = who;
    call.update(|q| {
        q.push("answered_at = now(), user_id = ").push_bind(who);
    })
    .await;
    call.publish(CallState::Answered, None).await;
    call.start_recording().await;
}

enum RingOutcome {
    Answered(String, UserId),
    NoAnswer,
    CallerLeft,
}

/// Rings `devices` (with their users) for at most `timeout_secs`; the first to answer is bridged
/// with `caller`, the others are hung up.
async fn ring_users(
    call: &mut Call,
    devices: &[(String, UserId)],
    caller: &str,
    timeout_secs: u64,
    rx: &mut Rx,
    bridge: &str,
) -> Result<RingOutcome, String> {
    // The dial copies the caller's caller ID to each leg: members of masked groups are rung last,
    // with the caller's set to the client's name or the masked number meanwhile (caller_id.rs).
    let users: Vec<UserId> = devices.iter().map(|(_, u)| *u).collect();
    let masked = match call.direction {
        "internal" => None,
        _ => {
            crate::caller_id::masked_legs(&call.ctx, call.tenant, &call.number, call.crm_record, &users).await
        }
    };
    let is_masked = |u: &UserId| masked.as_ref().is_some_and(|m| m.users.contains(u));
    let (hidden, shown): (Vec<_>, Vec<_>) = devices.iter().partition(|(_, u)| is_masked(u));
    let mut original = None;
    let mut legs: Vec<(String, UserId)> = Vec::new();
    for (i, (dev, user)) in shown.iter().chain(hidden.iter()).copied().enumerate() {
        if i == shown.len() {
            let Some(m) = &masked else { break };
            match crate::caller_id::show(&call.ctx, caller, &m.shown).await {
                Ok(o) => original = Some(o),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot mask the caller ID: masked users' phones are not rung");
                    break;
                }
            }
        }
        match call.create_leg(&format!("PJSIP/{dev}"), caller, None).await {
            Ok(leg) => {
                if call.dial(&leg, caller, timeout_secs).await {
                    legs.push((leg, *user));
                } else {
                    tracing::warn!(device = %dev, "cannot dial a device");
                    call.hangup(&leg).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, device = %dev, "cannot ring a device"),
        }
    }
    if let Some(o) = original {
        crate::caller_id::restore(&call.ctx, caller, &o).await;
    }
    if legs.is_empty() {
        return Ok(RingOutcome::NoAnswer);
    }
    call.publish(CallState::Ringing, None).await;
    let deadline = Instant::now() + Duration::from_secs(timeout_secs);
    loop {
        let ev = match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) => ev,
            Ok(None) => return Err("event stream closed".into()),
            Err(_) => {
                for (l, _) in &legs {
                    call.hangup(l).await;
                }
                return Ok(RingOutcome::NoAnswer);
            }
        };
        if ended(&ev, caller) {
            for (l, _) in &legs {
                call.hangup(l).await;
            }
            return Ok(RingOutcome::CallerLeft);
        }
        let answered_leg = (ev["type"] == "Dial" && ev["dialstatus"] == "ANSWER")
            .then(|| ev["peer"]["id"].as_str())
            .flatten()
            .or_else(|| {
                (ev["type"] == "ChannelStateChange" && ev["channel"]["state"] == "Up")
                    .then(|| ev["channel"]["id"].as_str())
                    .flatten()
            })
            .map(str::to_string);
        if let Some(won) = answered_leg {
            if let Some((_, who)) = legs.iter().find(|(l, _)| *l == won).cloned() {
                for (l, _) in &legs {
                    if *l != won {
                        call.hangup(l).await;
                    }
                }
                call.delete(&format!("channels/{caller}/ring")).await;
                call.add(bridge, &won).await;
                return Ok(RingOutcome::Answered(won, who));
            }
        }
        if ev["type"] == "ChannelDestroyed" {
            let gone = ev["channel"]["id"].as_str().unwrap_or_default().to_string();
            legs.retain(|(l, _)| *l != gone);
            call.ctx.router.forget(&gone);
            if legs.is_empty() {
                return Ok(RingOutcome::NoAnswer);
            }
        }
    }
}

/// The connected part of a call: hold/unhold, transfer, until one side hangs up.
async fn talk(call: &mut Call, bridge: &str, agent: &str, other: &str, rx: &mut Rx) {
    let mut agent = agent.to_string();
    let other = other.to_string();
    let result_reason;
    loop {
        let Some(ev) = rx.recv().await else {
            result_reason = "lost";
            break;
        };
        let kind = ev["type"].as_str().unwrap_or_default();
        let ch = ev["channel"]["id"].as_str().unwrap_or_default();
        match kind {
            "ChannelHold" if ch == agent || ch == other => {
                let peer = if ch == agent { &other } else { &agent };
                call.post(&format!("channels/{peer}/moh"), &[]).await;
                call.held_since.get_or_insert_with(Instant::now);
                call.publish(CallState::Held, None).await;
            }
            "ChannelUnhold" if ch == agent || ch == other => {
                let peer = if ch == agent { &other } else { &agent };
                call.delete(&format!("channels/{peer}/moh")).await;
                if let Some(s) = call.held_since.take() {
                    call.hold_secs += s.elapsed().as_secs() as i64;
                }
                call.publish(CallState::Unheld, None).await;
            }
            "transfer" => {
                let target = ev["target"].as_str().unwrap_or_default().to_string();
                match transfer(call, bridge, &agent, &other, &target, rx).await {
                    Some(new_agent) => {
                        agent = new_agent;
                        continue;
                    }
                    None => {
                        result_reason = "transferred";
                        break;
                    }
                }
            }
            _ if ended(&ev, &agent) || ended(&ev, &other) => {
                result_reason = if ch == agent { "agent hung up" } else { "other party hung up" };
                break;
            }
            _ => {}
        }
    }
    call.hangup(&agent).await;
    call.hangup(&other).await;
    call.publish(CallState::Ended, Some(result_reason)).await;
    call.finish("answered", None).await;
}

/// Blind transfer: the agent leaves at once; `other` hears ringback while `target` rings. Returns
/// the new agent channel when the target answers.
async fn transfer(
    call: &mut Call,
    bridge: &str,
    agent: &str,
    other: &str,
    target: &str,
    rx: &mut Rx,
) -> Option<String> {
    let t = load(&call.ctx, call.tenant).await.ok()?;
    let exts: HashSet<String> = t.users.iter().map(|u| u.extension.clone()).collect();
    call.delete(&format!("channels/{other}/moh")).await;
    call.hangup(agent).await;
    call.post(&format!("channels/{other}/ring"), &[]).await;
    call.publish_target(CallState::Transferring, target).await;
    let result = match t.rules.route(target, |e| exts.contains(e)) {
        Ok(Routed::Internal { extension }) => {
            let u = t.users.iter().find(|u| u.extension == extension)?.clone();
            call.audience.push(u.user_id);
            let devs = devices(&call.ctx, call.tenant, &u).await;
            let devs: Vec<(String, UserId)> = devs.into_iter().map(|d| (d, u.user_id)).collect();
            match ring_users(call, &devs, other, t.state.ring_timeout_secs as u64, rx, bridge).await {
                Ok(RingOutcome::Answered(leg, who)) => {
                    answered(call, Some(who)).await;
                    Some(leg)
                }
                _ => None,
            }
        }
        Ok(Routed::External { direction, e164, dial }) => {
            let me = t.users.iter().find(|u| Some(u.user_id) == call.user);
            let attempt = fraud::Attempt {
                tenant: call.tenant,
                user: me,
                direction,
                e164: e164.as_deref(),
                call_id: &call.id,
            };
            match guard(&call.ctx).check_destination(&attempt).await {
                Err(refused) => {
                    tracing::info!(call.id = %call.id, reason = %refused, "transfer target refused by the fraud guard");
                    None
                }
                Ok(()) => match dial_out(call, &t, &dial, other, bridge, rx).await {
                    DialOutcome::Answered(leg) => {
                        call.delete(&format!("channels/{other}/ring")).await;
                        call.publish(CallState::Answered, None).await;
                        Some(leg)
                    }
                    _ => None,
                },
            }
        }
        Err(refusal) => {
            tracing::info!(call.id = %call.id, reason = %refusal, "transfer target refused by dial rules");
            None
        }
    };
    if result.is_none() {
        call.hangup(other).await;
    }
    result
}

/// A call from a trunk.
async fn inbound(
    ctx: Ctx,
    sc: &StasisCall,
    caller: &str,
    channel: &Value,
    tx: Tx,
    mut rx: Rx,
) -> Result<(), String> {
    let t = load(&ctx, sc.tenant).await.map_err(|e| e.to_string())?;
    let raw = channel["caller"]["number"].as_str().unwrap_or_default().to_string();
    let number = t.rules.to_e164(&raw).unwrap_or(raw);
    let id = Uuid::new_v4().to_string();
    let candidates: Vec<&TelUserRow> = t.users.iter().filter(|u| u.accept_incoming && !u.disabled).collect();
    let crm_record = unique_client(&ctx, sc.tenant, &number).await;
    let mut call = Call {
        did: Some(sc.exten.clone()),
        trunk: sc.origin.map(|s| s as i16),
        audience: candidates.iter().map(|u| u.user_id).collect(),
        crm_record,
        ..Call::new(&ctx, &id, sc.tenant, "inbound", number, &tx)
    };
    if !t.enabled {
        call.hangup(caller).await;
        return Ok(());
    }
    ctx.router.register_call(&id, &tx);
    call.insert().await;
    tracing::info!(tenant.id = %sc.tenant, call.id = %id, did = %sc.exten, "inbound call");
    let res = inbound_inner(&mut call, &t, &candidates, caller, &mut rx).await;
    ctx.router.forget_call(&id);
    res
}

async fn inbound_inner(
    call: &mut Call,
    t: &Tenancy,
    candidates: &[&TelUserRow],
    caller: &str,
    rx: &mut Rx,
) -> Result<(), String> {
    call.post(&format!("channels/{caller}/answer"), &[]).await;
    if let (Some(g), Some(base)) = (&t.state.greeting_key, &call.ctx.media_base) {
        // Asterisk fetches the converted greeting from the server (res_http_media_cache).
        let media = format!("sound:{}/media/greetings/{g}", base.trim_end_matches('/'));
        if !play_and_wait(call, caller, &media, rx).await {
            call.publish(CallState::Ended, Some("caller hung up")).await;
            call.finish("missed", Some("caller hung up during the greeting")).await;
            return Ok(());
        }
    }
    // Ask Asterisk about every candidate's device at once: this runs while the caller waits.
    let online =
        futures_util::future::join_all(candidates.iter().map(|u| devices(&call.ctx, call.tenant, u))).await;
    let devs: Vec<(String, UserId)> = candidates
        .iter()
        .zip(online)
        .flat_map(|(u, ds)| ds.into_iter().map(move |d| (d, u.user_id)))
        .collect();
    let bridge = call.new_bridge().await.ok_or("no bridge")?;
    call.add(&bridge, caller).await;
    call.post(&format!("channels/{caller}/ring"), &[]).await;
    // The client's responsible manager, when online, rings alone first (tenant setting).
    let manager = match responsible_manager(&call.ctx, call.tenant, &call.number).await {
        Some((m, secs)) if devs.iter().any(|(_, u)| *u == m) => Some((m, secs)),
        _ => None,
    };
    let outcome = if devs.is_empty() {
        RingOutcome::NoAnswer
    } else if let Some((m, secs)) = manager {
        let mine: Vec<(String, UserId)> = devs.iter().filter(|(_, u)| *u == m).cloned().collect();
        let everyone = std::mem::replace(&mut call.audience, vec![m]);
        tracing::info!(call.id = %call.id, manager = %m, secs, "ringing the responsible manager first");
        let first = ring_users(call, &mine, caller, secs, rx, &bridge).await?;
        call.audience = everyone;
        match first {
            RingOutcome::NoAnswer => {
                ring_users(call, &devs, caller, t.state.ring_timeout_secs as u64, rx, &bridge).await?
            }
            other => other,
        }
    } else {
        ring_users(call, &devs, caller, t.state.ring_timeout_secs as u64, rx, &bridge).await?
    };
    match outcome {
        RingOutcome::Answered(leg, who) => {
            answered(call, Some(who)).await;
            talk(call, &bridge, &leg, caller, rx).await;
        }
        RingOutcome::CallerLeft => {
            call.publish(CallState::Missed, Some("caller hung up")).await;
            call.finish("missed", Some("caller hung up before an answer")).await;
        }
        RingOutcome::NoAnswer => {
            let why = if devs.is_empty() { "nobody online" } else { "no answer" };
            forward(call, t, caller, &bridge, why, rx).await;
        }
    }
    call.delete(&format!("bridges/{bridge}")).await;
    Ok(())
}

/// The one call-table record holding the caller's number (none when several or none do).
async fn unique_client(ctx: &Ctx, tenant: TenantId, e164: &str) -> Option<i64> {
    let found = callbase_crm::lookup(&ctx.db, tenant, e164, callbase_crm::Reach::Exact).await.ok()?;
    found.unique_record().map(|r| r.0)
}

/// With the tenant's "responsible manager" setting on: the user in the first user-reference field
/// of the first call-table record holding the caller's number, and how long they ring alone.
async fn responsible_manager(ctx: &Ctx, tenant: TenantId, e164: &str) -> Option<(UserId, u64)> {
    let mut tx = ctx.db.tenant_tx(tenant).await.ok()?;
    let row: Option<(i64, i32)> = sqlx::query_as(
        "SELECT (r.data->>f.id::text)::bigint, s.manager_first_secs FROM telephony s \
         JOIN crm_phones p ON p.tenant_id = s.tenant_id AND p.e164 = $2 \
         JOIN crm_tables ct ON ct.id = p.table_id AND ct.call_table \
         JOIN crm_records r ON r.id = p.record_id \
         JOIN LATERAL (SELECT id FROM crm_fields WHERE table_id = p.table_id AND kind = 'user' ORDER BY position, id LIMIT 1) f ON true \
         WHERE s.tenant_id = $1 AND s.manager_first AND jsonb_typeof(r.data->f.id::text) = 'number' \
         ORDER BY p.record_id LIMIT 1",
    )
    .bind(tenant)
    .bind(e164)
    .fetch_optional(&mut *tx)
    .await
    .ok()?;
    let _ = tx.commit().await;
    row.map(|(u, secs)| (UserId(u), secs.max(1) as u64))
}

/// No answer: forward to the tenant's number through a trunk, or end as missed.
async fn forward(call: &mut Call, t: &Tenancy, caller: &str, bridge: &str, why: &str, rx: &mut Rx) {
    call.publish(CallState::Missed, Some(why)).await;
    let Some(fwd) = t.state.forward_number.clone().filter(|f| !f.is_empty()) else {
        call.hangup(caller).await;
        call.finish("missed", Some(why)).await;
        return;
    };
    // The forward number passed the dial rules when it was saved; the rules (and the fraud limits)
    // may have changed since, so they decide again now.
    let (direction, e164, dial) = match t.rules.route(&fwd, |_| false) {
        Ok(Routed::External { direction, e164, dial }) => (direction, e164, dial),
        Ok(Routed::Internal { .. }) => {
            call.hangup(caller).await;
            call.finish("missed", Some(&format!("{why}; the forward number {fwd} is not an outside number")))
                .await;
            return;
        }
        Err(refusal) => {
            tracing::warn!(call.id = %call.id, code = refusal.code(), "forward number refused by the dial rules");
            call.hangup(caller).await;
            call.finish("missed", Some(&format!("{why}; forwarding refused: {refusal}"))).await;
            return;
        }
    };
    let attempt = fraud::Attempt {
        tenant: call.tenant,
        user: None,
        direction,
        e164: e164.as_deref(),
        call_id: &call.id,
    };
    let _live = match guard(&call.ctx).admit(&attempt).await {
        Ok(live) => live,
        Err(refused) => {
            tracing::warn!(call.id = %call.id, code = refused.code(), "forwarding refused by the fraud guard");
            call.hangup(caller).await;
            call.finish("missed", Some(&format!("{why}; forwarding refused: {refused}"))).await;
            return;
        }
    };
    let note = format!("{why}: forwarded to {fwd}");
    call.update(|q| {
        q.push("result = 'forwarded', reason = ").push_bind(note);
    })
    .await;
    match dial_out(call, t, &dial, caller, bridge, rx).await {
        DialOutcome::Answered(leg) => {
            call.delete(&format!("channels/{caller}/ring")).await;
            call.publish_target(CallState::Forwarded, &fwd).await;
            call.start_recording().await;
            // The forwarded conversation runs until either side hangs up.
            loop {
                let Some(ev) = rx.recv().await else { break };
                if ended(&ev, caller) || ended(&ev, &leg) {
                    break;
                }
            }
            call.hangup(caller).await;
            call.hangup(&leg).await;
            call.publish(CallState::Ended, None).await;
            call.finish("forwarded", None).await;
        }
        DialOutcome::Failed { reason, .. } => {
            call.hangup(caller).await;
            call.finish("missed", Some(&format!("{why}; forwarding failed: {reason}"))).await;
        }
        DialOutcome::CallerLeft => call.finish("missed", Some(why)).await,
    }
}

/// Plays `media` to `ch` and waits for it to finish; false when the channel hung up.
async fn play_and_wait(call: &Call, ch: &str, media: &str, rx: &mut Rx) -> bool {
    let pb = format!("pb-{}", Uuid::new_v4().simple());
    if call
        .ctx
        .ari
        .call(
            reqwest::Method::POST,
            &format!("channels/{ch}/play"),
            &[("media", media), ("playbackId", &pb)],
            None,
        )
        .await
        .is_err()
    {
        return true;
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) => {
                if ended(&ev, ch) {
                    return false;
                }
                if ev["type"] == "PlaybackFinished" && ev["playback"]["id"] == pb.as_str() {
                    return true;
                }
            }
            _ => return true,
        }
    }
}

/// Desk-phone click-to-call: the agent's phone rings first; when they pick up, the number is
/// dialled as an outbound call of theirs.
/// Runs an ARI call on a channel we just created until the channel is in Stasis (ARI answers 409
/// or 422 before that). The channel is usually there within a few milliseconds: back off from 2 ms
/// to 50 ms (a flat 50 ms wait was most of our share of call setup, `callbase loadgen`), ~2 s in all.
async fn until_in_stasis<F, Fut>(f: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Option<Value>, crate::ari::AriError>>,
{
    let mut wait = Duration::from_millis(2);
    for _ in 0..50 {
        match f().await {
            Ok(Some(_)) => return true,
            Err(crate::ari::AriError::Status { status: 409 | 422, .. }) => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_millis(50));
            }
            _ => return false,
        }
    }
    false
}

pub async fn callback(ctx: Ctx, cmd: Command) {
    let Command::Callback { call_id, tenant, user, number } = cmd else { return };
    let Ok(t) = load(&ctx, tenant).await else { return };
    let Some(u) = t.users.iter().find(|u| u.user_id == user).cloned() else { return };
    let device = if u.browser_calls { agents::web_id(tenant, user) } else { u.sip_login.clone() };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let leg = format!("{call_id}-agent");
    ctx.router.route(&leg, &tx);
    let args = format!("leg,{call_id}");
    let caller_id = format!("\"{number}\" <{number}>");
    let created = ctx
        .ari
        .call(
            reqwest::Method::POST,
            "channels/create",
            &[
                ("endpoint", &format!("PJSIP/{device}")),
                ("app", APP),
                ("appArgs", &args),
                ("channelId", &leg),
                ("callerId", &caller_id),
            ],
            None,
        )
        .await;
    // The dial waits for the new leg to be in Stasis, like every other leg's (a 409 before it is).
    let dial_path = format!("channels/{leg}/dial");
    if !matches!(created, Ok(Some(_)))
        || !until_in_stasis(|| ctx.ari.call(reqwest::Method::POST, &dial_path, &[("timeout", "30")], None))
            .await
    {
        tracing::warn!(call.id = %call_id, "callback: cannot ring the agent's phone");
        ctx.router.forget(&leg);
        let _ = ctx.ari.hangup(&leg).await;
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(35);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) => {
                if ended(&ev, &leg) {
                    ctx.router.forget(&leg);
                    return;
                }
                let up = (ev["type"] == "Dial" && ev["dialstatus"] == "ANSWER")
                    || (ev["type"] == "ChannelStateChange" && ev["channel"]["state"] == "Up");
                if up {
                    break;
                }
            }
            _ => {
                let _ = ctx.ari.hangup(&leg).await;
                ctx.router.forget(&leg);
                return;
            }
        }
    }
    if let Err(e) = outbound(ctx.clone(), tenant, user, &leg, &number, tx, rx, Some(call_id), None).await {
        tracing::warn!(error = %e, "callback call failed");
        let _ = ctx.ari.hangup(&leg).await;
    }
    ctx.router.forget(&leg);
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

    #[test]
    fn asterisk_timestamps_parse() {
        assert_eq!(asterisk_time_ms(&json!("1970-01-01T00:00:01.250+0000")), Some(1250));
        assert_eq!(asterisk_time_ms(&json!("1970-01-01T03:00:01.250+0300")), Some(1250));
        assert_eq!(asterisk_time_ms(&json!("yesterday")), None);
    }

    #[test]
    fn probe_targets_are_parsed_strictly() {
        assert_eq!(probe_target("t12x9999"), Some((TenantId(12), "9999")));
        assert_eq!(probe_target("t12x+74951234567"), Some((TenantId(12), "+74951234567")));
        assert_eq!(probe_target("tx9999"), None);
        assert_eq!(probe_target("t12x"), None);
        assert_eq!(probe_target("t1ax9"), None);
        assert_eq!(probe_target("echo"), None);
    }

    #[test]
    fn crm_references_are_parsed_strictly() {
        assert_eq!(crm_reference("crm12x345"), Some((12, 345)));
        for bad in ["crm12", "crmx2", "crm1x", "crm+1x2", "crmax1", "79161234567", "crm1x2x3", "crm-1-2"] {
            assert_eq!(crm_reference(bad), None, "{bad}");
        }
    }

    #[test]
    fn end_events_are_recognised_per_channel() {
        let ev = json!({"type": "ChannelDestroyed", "channel": {"id": "a"}, "cause": 16});
        assert!(ended(&ev, "a"));
        assert!(!ended(&ev, "b"));
        assert!(!ended(&json!({"type": "ChannelStateChange", "channel": {"id": "a"}}), "a"));
        assert_eq!(cause(&ev), 16);
    }

    #[test]
    fn commands_round_trip_as_tagged_json() {
        let c = Command::Transfer {
            call_id: "x".into(),
            tenant: TenantId(1),
            user: UserId(2),
            target: "102".into(),
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["cmd"], "transfer");
        assert!(matches!(serde_json::from_value::<Command>(v).unwrap(), Command::Transfer { .. }));
    }
}
