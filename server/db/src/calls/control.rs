//! What a new owner of a node's Stasis app needs to continue its live calls (issue 16: calls
//! survive their controller). The call actor writes its phase, channels, bridge and hold as they
//! change ([`checkpoint`]); after a takeover the Stasis worker reads the node's open calls
//! ([`open_on_node`], worker pool: across tenants) and adopts or closes each
//! (`server/telephony/src/call/adopt.rs`). Every write of a controller is fenced by its lease's
//! token ([`fence`]).

use callbase_core::TenantId;
use sqlx::types::Uuid;
use time::OffsetDateTime;

use super::CallDirection;
use crate::Tx;

/// The call's control state as its actor knows it (owned: the actor's writer writes it later).
#[derive(Debug, Clone, Default)]
pub struct Checkpoint {
    pub phase: &'static str,
    pub agent_channel: Option<String>,
    pub other_channel: Option<String>,
    pub bridge_id: Option<String>,
    pub held_since: Option<OffsetDateTime>,
    /// Seconds on hold in holds that have ended.
    pub hold_secs: i32,
    /// An attended transfer's consultation (issue #18): the consulted party's leg once answered,
    /// the consult bridge, the consulted colleague.
    pub consult_channel: Option<String>,
    pub consult_bridge: Option<String>,
    pub consult_user: Option<i64>,
}

/// Writes the call's control state (in the call's tenant transaction).
pub async fn checkpoint(tx: &mut Tx, id: Uuid, c: &Checkpoint) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE calls SET phase = $2, agent_channel = $3, other_channel = $4, bridge_id = COALESCE($5, bridge_id), \
         held_since = $6, hold_secs = $7, consult_channel = $8, consult_bridge = $9, consult_user = $10 \
         WHERE id = $1 AND ended_at IS NULL",
        id,
        c.phase,
        c.agent_channel,
        c.other_channel,
        c.bridge_id,
        c.held_since,
        c.hold_secs,
        c.consult_channel,
        c.consult_bridge,
        c.consult_user,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stamps the call record with the fencing token of the Stasis lease its controller holds
/// (`callbase_telephony::lease`), in the transaction of the controller's write. False when a
/// controller with a newer token has written the record since: the caller rolls its write back.
/// A record that is not there (yet) passes: there is nothing to fence.
pub async fn fence(tx: &mut Tx, id: Uuid, token: u64) -> sqlx::Result<bool> {
    let token = i64::try_from(token).unwrap_or(i64::MAX);
    let row = sqlx::query_scalar!(
        "UPDATE calls SET fence = GREATEST(fence, $2) WHERE id = $1 RETURNING fence",
        id,
        token
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.is_none_or(|fence| fence <= token))
}

/// Commits a controller's write of call `id` if the record is not fenced against `token` ([`fence`]);
/// false when it is (the write is rolled back).
pub async fn commit_fenced(mut tx: Tx, id: Uuid, token: u64) -> sqlx::Result<bool> {
    if !fence(&mut tx, id, token).await? {
        tx.rollback().await?;
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

/// An open call of a node, with everything its controller wrote.
#[derive(Debug, Clone)]
pub struct OpenCall {
    pub id: Uuid,
    pub tenant_id: i64,
    pub direction: String,
    pub user_id: Option<i64>,
    pub number: String,
    pub did: Option<String>,
    pub trunk_slot: Option<i16>,
    pub crm_record_id: Option<i64>,
    pub phase: Option<String>,
    pub first_channel: Option<String>,
    pub agent_channel: Option<String>,
    pub other_channel: Option<String>,
    pub bridge_id: Option<String>,
    pub held_since: Option<OffsetDateTime>,
    pub hold_secs: i32,
    pub result: Option<String>,
    pub recording_state: Option<String>,
    pub recording_name: Option<String>,
    pub answered_at: Option<OffsetDateTime>,
    pub audience: Vec<i64>,
    pub consult_channel: Option<String>,
    pub consult_bridge: Option<String>,
    pub consult_user: Option<i64>,
    pub park_slot: Option<i16>,
    pub parked_by: Option<i64>,
    pub parked_at: Option<OffsetDateTime>,
    /// The queue the caller waits in (issue #19): an adopted caller goes back to its place.
    pub queue_id: Option<i64>,
}

impl OpenCall {
    pub fn tenant(&self) -> TenantId {
        TenantId(self.tenant_id)
    }

    pub fn direction(&self) -> CallDirection {
        match self.direction.as_str() {
            "inbound" => CallDirection::Inbound,
            "internal" => CallDirection::Internal,
            _ => CallDirection::Outbound,
        }
    }

    /// Is `channel` one of this call's? Legs the call created are named `<call id>-<suffix>`.
    pub fn owns(&self, channel: &str) -> bool {
        let id = self.id.to_string();
        [&self.first_channel, &self.agent_channel, &self.other_channel, &self.consult_channel]
            .iter()
            .any(|c| c.as_deref() == Some(channel))
            || channel.strip_prefix(id.as_str()).is_some_and(|rest| rest.starts_with('-'))
    }
}

/// The open calls of `node`, oldest first (worker pool: every tenant's).
pub async fn open_on_node(pool: &sqlx::PgPool, node: &str) -> sqlx::Result<Vec<OpenCall>> {
    sqlx::query_as!(
        OpenCall,
        "SELECT id, tenant_id, direction, user_id, number, did, trunk_slot, crm_record_id, phase, first_channel, \
         agent_channel, other_channel, bridge_id, held_since, hold_secs, result, recording_state, recording_name, \
         answered_at, audience, consult_channel, consult_bridge, consult_user, park_slot, parked_by, parked_at, \
         queue_id FROM calls WHERE ended_at IS NULL AND node = $1 ORDER BY started_at",
        node
    )
    .fetch_all(pool)
    .await
}
