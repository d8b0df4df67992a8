//! `/api/calls`: the call history (`history`: list, CSV, one call, the card's note), recordings
//! (`recording`: playback, download, `records.zip`, the listen audit, recording settings) and
//! call actions (`actions`: transfer, desk-phone callback). The SQL is in `callbase_db::calls`.
//!
//! Who sees what: telephony users and administrators only. Administrators see every call; users
//! their own calls and the tenant's unanswered inbound calls (the "missed" queue), or every call
//! when the tenant's `calls_visible_to_all` is on. A call outside that is "not found", like a call
//! of another tenant.

pub mod actions;
pub mod history;
pub mod media;
pub mod recording;

use callbase_core::crm::Masking;
use callbase_core::{TenantId, UserId};
use callbase_db::calls::history::{CallRow, Scope};
use callbase_db::Tx;
use callbase_recordings::names::recording_file_name;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};

/// The deepest page of calls or of the recordings audit (a deeper `OFFSET` is a slow scan, and an
/// unchecked `(page - 1) * per_page` overflowed into a negative `OFFSET`: 500). 422 `bad_page`.
pub const PAGE_MAX: i64 = 100_000;

#[derive(Debug, Serialize, ToSchema)]
pub struct Recording {
    /// `recording` (call in progress), `pending` (on its way to storage), `waiting` (for the
    /// Asterisk node that holds it, which does not answer), `stored`, `failed`, `lost` (with its
    /// node, declared gone), `deleted` (retention).
    pub state: String,
    pub bytes: Option<i64>,
    pub duration_ms: Option<i32>,
    /// The download name: `<id>_<phone>_<YYYY-MM-DD>.mp3`.
    pub file_name: String,
    /// Why a `waiting` or `lost` recording is not available, e.g. "lost with node node2".
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallRecord {
    pub id: Uuid,
    /// `inbound`, `outbound` or `internal`.
    pub direction: String,
    pub user_id: Option<UserId>,
    pub user_name: Option<String>,
    /// Every telephony user who talked on the call, in order (a transferred call has two or more;
    /// the last is `user_name`).
    pub agent_names: Vec<String>,
    pub number: String,
    pub did: Option<String>,
    pub trunk_slot: Option<i16>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub answered_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended_at: Option<OffsetDateTime>,
    /// Start to end, seconds.
    pub duration_secs: Option<i64>,
    /// Start to answer (time to connect), seconds.
    pub connect_secs: Option<i64>,
    /// Answer to end minus hold, seconds.
    pub talk_secs: Option<i64>,
    pub hold_secs: i32,
    /// answered, missed, busy, failed, refused, forwarded; null while the call runs.
    pub result: Option<String>,
    pub reason: Option<String>,
    pub route_note: Option<String>,
    pub note: Option<String>,
    pub call_type: Option<String>,
    pub call_result: Option<String>,
    pub legal_hold: bool,
    pub recording: Option<Recording>,
    /// After-call work: end of the call → the agent closed its card, seconds.
    pub wrapup_secs: Option<i32>,
    /// The CRM record linked to the call (matched, called from, or created from the card).
    pub client: Option<ClientLink>,
    /// The caller left a message: `recording` is it (issue #19).
    pub voicemail: bool,
    /// The message is new: nobody listened to it yet.
    pub voicemail_new: bool,
    /// A missed call someone called back (the first outbound call to the number after it):
    /// who, and when (RFC 3339) — the missed-calls worklist (issue #19).
    pub called_back_by: Option<String>,
    pub called_back_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientLink {
    pub record_id: i64,
    pub table_id: i64,
    pub title: String,
}

/// Who is asking, and what they may see.
pub(crate) struct Viewer {
    pub tenant: TenantId,
    pub user: UserId,
    pub admin: bool,
    pub sees_all: bool,
    pub masking: Option<Masking>,
}

/// The viewer of the call history: 409 `telephony_off`, 403 `not_telephony_user` for a user who
/// is neither a telephony user nor an administrator.
pub(crate) async fn viewer(tx: &mut Tx, cu: &CurrentUser) -> ApiResult<Viewer> {
    let state = callbase_db::telephony::state(tx, cu.tenant_id).await?;
    if !state.enabled {
        return Err(crate::extract::telephony_off());
    }
    let admin = cu.role.is_admin();
    if !admin && callbase_db::telephony::get_user(tx, cu.tenant_id, cu.user_id).await?.is_none() {
        return Err(ApiError::forbidden_code(
            "not_telephony_user",
            "call records are for telephony users; ask an administrator",
        ));
    }
    let all = callbase_db::calls::settings::calls_visible_to_all(tx, cu.tenant_id).await?;
    // Masking is the CRM's rule: the crm crate's view decides it.
    let groups: Vec<_> = cu.groups.iter().map(|g| g.0).collect();
    let masking = callbase_crm::view::masking_for(tx, cu.tenant_id, &groups).await?;
    Ok(Viewer { tenant: cu.tenant_id, user: cu.user_id, admin, sees_all: admin || all, masking })
}

/// What a recording that is not there waits for, or what it was lost with (the uploader's own
/// error texts stay in the logs: they may name internal addresses).
fn recording_reason(state: &str, node: Option<&str>) -> Option<String> {
    let node = node.map(|n| format!("node {n}")).unwrap_or_else(|| "its node".into());
    match state {
        "waiting" => Some(format!("waiting for {node}, which does not answer")),
        "lost" => Some(format!("lost with {node}")),
        _ => None,
    }
}

impl Viewer {
    pub fn scope(&self) -> Scope {
        Scope { tenant: self.tenant, user: self.user, sees_all: self.sees_all }
    }

    /// A call the viewer may see, or 404.
    pub async fn visible(&self, tx: &mut Tx, id: Uuid) -> ApiResult<CallRow> {
        callbase_db::calls::history::visible(tx, &self.scope(), id).await?.ok_or(ApiError::NotFound)
    }

    /// The number as this viewer may see it (masked for members of the masked groups; every
    /// response, export and file name goes through here).
    pub fn shown_number(&self, r: &CallRow) -> String {
        callbase_core::crm::shown(self.masking, &r.number)
    }

    pub fn file_name(&self, r: &CallRow) -> String {
        recording_file_name(&r.id.to_string(), &self.shown_number(r), r.started_at)
    }

    /// The call record as this viewer sees it.
    pub fn shape(&self, r: CallRow) -> CallRecord {
        let secs = |a: Option<OffsetDateTime>, b: Option<OffsetDateTime>| {
            a.zip(b).map(|(a, b)| (b - a).whole_seconds().max(0))
        };
        let talk = secs(r.answered_at, r.ended_at).map(|t| (t - i64::from(r.hold_secs)).max(0));
        let number = self.shown_number(&r);
        let recording = r.recording_state.clone().map(|state| Recording {
            reason: recording_reason(&state, r.node.as_deref()),
            state,
            bytes: r.recording_bytes,
            duration_ms: r.recording_ms,
            file_name: self.file_name(&r),
        });
        CallRecord {
            id: r.id,
            direction: r.direction,
            user_id: r.user_id.map(UserId),
            user_name: r.user_name,
            agent_names: r.agent_names.unwrap_or_default(),
            number,
            did: r.did,
            trunk_slot: r.trunk_slot,
            started_at: r.started_at,
            answered_at: r.answered_at,
            ended_at: r.ended_at,
            duration_secs: secs(Some(r.started_at), r.ended_at),
            connect_secs: secs(Some(r.started_at), r.answered_at),
            talk_secs: talk,
            hold_secs: r.hold_secs,
            result: r.result,
            reason: r.reason,
            route_note: r.route_note,
            note: r.note,
            call_type: r.call_type,
            call_result: r.call_result,
            legal_hold: r.legal_hold,
            wrapup_secs: r.wrapup_secs,
            client: r.crm_record_id.zip(r.crm_table_id).map(|(record_id, table_id)| ClientLink {
                record_id,
                table_id,
                title: r.crm_title.unwrap_or_default(),
            }),
            recording,
            voicemail: r.voicemail,
            voicemail_new: r.voicemail && r.voicemail_heard_at.is_none(),
            called_back_by: r.called_back_by,
            called_back_at: r
                .called_back_at
                .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()),
        }
    }
}
