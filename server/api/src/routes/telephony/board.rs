//! The live presence board (issue #18): every telephony user with their agent state and current
//! call, the calls nobody has taken yet, and the trunk lines in use — for administrators,
//! sub-administrators and members of supervisor groups. This route is the snapshot; the board then
//! follows `agent_state` and `board_call` events on `/events` (no polling). Numbers are masked by
//! the viewer's own rules, as everywhere.

use axum::extract::State;
use axum::Json;
use callbase_core::{GroupId, UserId};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Supervisor, TelephonyOn};
use crate::routes::calls::ClientLink;
use crate::routes::telephony::{node, Online};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Board {
    pub agents: Vec<BoardAgent>,
    /// Every call that has not ended, the agent's and the ones still ringing.
    pub calls: Vec<LiveCall>,
    /// The access groups, for the board's filter.
    pub groups: Vec<BoardGroup>,
    pub trunks: Vec<TrunkLines>,
    /// Each queue now (waiting callers, the longest wait) and today in the tenant's time zone
    /// (offered, answered, answered within the service-level time, abandoned, overflowed).
    pub queues: Vec<callbase_db::queues::QueueFigures>,
    /// RFC 3339: the server's time of this snapshot (durations count from the server's clock).
    pub now: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BoardAgent {
    pub user_id: UserId,
    pub name: String,
    pub extension: String,
    pub group_ids: Vec<GroupId>,
    /// `available`, `break`, `dnd` or `wrapup`.
    pub state: String,
    pub reason: Option<String>,
    /// RFC 3339: since when.
    pub since: String,
    pub wrapup_until: Option<String>,
    pub accept_incoming: bool,
    /// Registered devices (offline: neither).
    pub online: Online,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LiveCall {
    pub call_id: String,
    /// `inbound`, `outbound` or `internal`.
    pub direction: String,
    /// The other party, masked by the viewer's rules.
    pub number: String,
    pub trunk: Option<i16>,
    /// The agent on the call (none while an inbound call rings).
    pub user_id: Option<UserId>,
    /// The agents being rung while it rings.
    pub ringing: Vec<UserId>,
    /// `ringing`, `dialing`, `talking`, `transferring`, … (the call's phase).
    pub phase: String,
    pub on_hold: bool,
    pub recording: bool,
    /// The agent paused the recording.
    pub recording_paused: bool,
    pub started_at: String,
    pub answered_at: Option<String>,
    pub client: Option<ClientLink>,
    /// The parking slot it waits in (issue #18): no agent is on it; `user_id` parked it.
    pub park_slot: Option<i16>,
    /// The queue the caller waits in (phase `queued`), or was answered from (issue #19).
    pub queue_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BoardGroup {
    pub id: GroupId,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrunkLines {
    pub slot: i16,
    pub label: String,
    /// Calls on the trunk now.
    pub in_use: i64,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The board's snapshot.
#[utoipa::path(get, path = "/api/telephony/board", tag = "telephony",
    responses((status = 200, body = Board), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn get(
    State(st): State<AppState>,
    Supervisor(cu): Supervisor,
    _on: TelephonyOn,
) -> ApiResult<Json<Board>> {
    let tenant = cu.tenant_id;
    let mut tx = st.db.tenant_tx(tenant).await?;
    let users = callbase_db::telephony::list_users(&mut tx, tenant).await?;
    let states = callbase_db::agent_states::list(&mut tx, tenant).await?;
    let calls = callbase_db::board::live_calls(&mut tx, tenant).await?;
    let memberships = callbase_db::board::memberships(&mut tx, tenant).await?;
    let groups = callbase_db::accounts::list_groups(&mut tx, tenant).await?;
    let trunks = callbase_db::trunks::list(&mut tx, tenant).await?;
    let queues = callbase_db::queues::figures(&mut tx, tenant).await?;
    let group_ids: Vec<_> = cu.groups.iter().map(|g| g.0).collect();
    let masking = callbase_crm::view::masking_for(&mut tx, tenant, &group_ids).await?;
    tx.commit().await?;

    let pbx_node = node(&st, tenant).await.ok();
    let users: Vec<_> = users.into_iter().filter(|u| !u.disabled).collect();
    // Every agent's devices at once (two AMI questions each), not one agent after another.
    let online = futures_util::future::join_all(users.iter().map(|u| {
        let n = pbx_node.clone();
        async move {
            match n {
                Some(n) => n.pbx().online(tenant, u).await,
                None => Default::default(),
            }
        }
    }))
    .await;
    let mut agents = Vec::with_capacity(users.len());
    for (u, online) in users.into_iter().zip(online) {
        let s = states.iter().find(|s| s.user_id == u.user_id);
        agents.push(BoardAgent {
            user_id: u.user_id,
            name: u.name,
            extension: u.extension,
            group_ids: memberships
                .iter()
                .filter(|(m, _)| *m == u.user_id)
                .map(|(_, g)| GroupId(*g))
                .collect(),
            state: u.state,
            reason: s.and_then(|s| s.reason.clone()),
            since: s.map(|s| rfc3339(s.since)).unwrap_or_default(),
            wrapup_until: s.and_then(|s| s.wrapup_until).map(rfc3339),
            accept_incoming: u.accept_incoming,
            online: Online { browser: online.browser, desk: online.desk },
        });
    }
    let trunks = trunks
        .into_iter()
        .map(|t| TrunkLines {
            slot: t.slot,
            in_use: calls.iter().filter(|c| c.trunk_slot == Some(t.slot)).count() as i64,
            label: t.label,
        })
        .collect();
    let calls = calls
        .into_iter()
        .map(|c| {
            let phase = callbase_db::calls::history::live_phase(c.phase.as_deref(), c.answered_at.is_some())
                .to_string();
            LiveCall {
                call_id: c.id.to_string(),
                number: callbase_core::crm::shown(masking, &c.number),
                trunk: c.trunk_slot,
                ringing: if c.user_id.is_none() && phase == "ringing" {
                    c.audience.iter().map(|u| UserId(*u)).collect()
                } else {
                    vec![]
                },
                user_id: c.user_id,
                direction: c.direction,
                phase,
                on_hold: c.on_hold,
                recording: c.recording,
                recording_paused: c.recording_paused,
                started_at: rfc3339(c.started_at),
                answered_at: c.answered_at.map(rfc3339),
                park_slot: c.park_slot,
                queue_id: c.queue_id,
                client: c.crm_record_id.zip(c.crm_table_id).map(|(record_id, table_id)| ClientLink {
                    record_id,
                    table_id,
                    title: c.crm_title.unwrap_or_default(),
                }),
            }
        })
        .collect();
    Ok(Json(Board {
        agents,
        calls,
        groups: groups.into_iter().map(|g| BoardGroup { id: g.id, name: g.name }).collect(),
        trunks,
        queues,
        now: rfc3339(OffsetDateTime::now_utc()),
    }))
}
