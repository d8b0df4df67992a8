//! The live presence board's reads (issue #18): the calls of a tenant that have not ended and the
//! access groups of its users. Agents' states come from `agent_states`, trunks from `trunks`.

use callbase_core::{TenantId, UserId};
use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Tx;

/// A call that has not ended.
#[derive(Debug, Clone, FromRow)]
pub struct LiveCall {
    pub id: Uuid,
    pub direction: String,
    pub user_id: Option<UserId>,
    pub number: String,
    pub trunk_slot: Option<i16>,
    pub started_at: OffsetDateTime,
    pub answered_at: Option<OffsetDateTime>,
    /// `setup`, `greeting`, `ringing`, `dialing`, `talking`, `transferring`, `forwarded`.
    pub phase: Option<String>,
    pub on_hold: bool,
    pub recording: bool,
    pub recording_paused: bool,
    /// Who sees the call's events: while an inbound call rings, the agents being rung.
    pub audience: Vec<i64>,
    pub crm_record_id: Option<i64>,
    pub crm_table_id: Option<i64>,
    pub crm_title: Option<String>,
    /// The parking slot it waits in (issue #18).
    pub park_slot: Option<i16>,
    /// The queue the caller waits in, or was answered from (issue #19).
    pub queue_id: Option<i64>,
}

/// How old an open call record may be and still be shown: a record a lost node left open (until
/// the sweep closes it) is not a live call after a day.
const LIVE_WINDOW: &str = "1 day";

pub async fn live_calls(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<LiveCall>> {
    sqlx::query_as(&format!(
        "SELECT c.id, c.direction, c.user_id, c.number, c.trunk_slot, c.started_at, c.answered_at, c.phase,
            c.held_since IS NOT NULL AS on_hold, coalesce(c.recording_state = 'recording', false) AS recording,
            c.recording_paused, c.audience, c.crm_record_id, cr.table_id AS crm_table_id,
            crm_record_title(cr.table_id, cr.data) AS crm_title, c.park_slot, c.queue_id
         FROM calls c LEFT JOIN crm_records cr ON cr.id = c.crm_record_id
         WHERE c.tenant_id = $1 AND c.ended_at IS NULL AND c.started_at > now() - interval '{LIVE_WINDOW}'
         ORDER BY c.started_at"
    ))
    .bind(tenant)
    .fetch_all(&mut **tx)
    .await
}

/// Every membership of the tenant: (user, group).
pub async fn memberships(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<(UserId, i64)>> {
    sqlx::query_as("SELECT user_id, group_id FROM memberships WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_all(&mut **tx)
        .await
}
