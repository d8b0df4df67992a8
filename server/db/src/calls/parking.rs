//! Call parking (issue #18): a parked call holds one of its tenant's slots ([`SLOTS`]) in its
//! record until it is picked up or ends. Written by the call's controller (fenced by its Stasis
//! lease like every write of its record), read by the phones' list and by a pickup.

use callbase_core::{TenantId, UserId};
use sqlx::types::Uuid;
use time::OffsetDateTime;

use crate::Tx;

/// A tenant's parking slots: 1 to this.
pub const SLOTS: i16 = 20;

/// Parks call `id` in slot `want` or, when it is taken, the next free one (then the lowest free);
/// `None` when every slot is taken or the call ended. Two calls parked at once may pick the same
/// free slot: the unique index refuses the second (a unique violation: try again).
pub async fn park(
    tx: &mut Tx,
    tenant: TenantId,
    id: Uuid,
    want: Option<i16>,
    by: UserId,
) -> sqlx::Result<Option<i16>> {
    sqlx::query_scalar!(
        "UPDATE calls SET park_slot = free.slot, parked_by = $3, parked_at = now()
         FROM (SELECT s::smallint AS slot FROM generate_series(1, $5::int) s
               WHERE NOT EXISTS (SELECT 1 FROM calls o WHERE o.tenant_id = $1 AND o.park_slot = s
                                 AND o.ended_at IS NULL AND o.id <> $2)
               ORDER BY (s < COALESCE($4, 1)), s LIMIT 1) free
         WHERE calls.id = $2 AND calls.tenant_id = $1 AND calls.ended_at IS NULL
         RETURNING free.slot AS \"slot!\"",
        tenant.0,
        id,
        by.0,
        want.map(i32::from),
        i32::from(SLOTS),
    )
    .fetch_optional(&mut **tx)
    .await
}

/// The call left its slot (picked up, rung back and answered, or ended).
pub async fn unpark(tx: &mut Tx, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!("UPDATE calls SET park_slot = NULL, parked_by = NULL, parked_at = NULL WHERE id = $1", id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A parked call as the phones and the board list it.
#[derive(Debug, Clone)]
pub struct Parked {
    pub call_id: Uuid,
    pub slot: i16,
    /// The customer's number (shown by each viewer's masking rules).
    pub number: String,
    pub crm_record_id: Option<i64>,
    pub crm_table_id: Option<i64>,
    pub crm_title: Option<String>,
    pub parked_by: Option<i64>,
    pub parked_by_name: Option<String>,
    pub parked_at: OffsetDateTime,
}

/// The tenant's parked calls, by slot.
pub async fn list(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Vec<Parked>> {
    sqlx::query_as!(
        Parked,
        r#"SELECT c.id AS call_id, c.park_slot AS "slot!", c.number, c.crm_record_id, cr.table_id AS "crm_table_id?",
               crm_record_title(cr.table_id, cr.data) AS "crm_title?", c.parked_by,
               u.name AS "parked_by_name?", c.parked_at AS "parked_at!"
           FROM calls c LEFT JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.parked_by
               LEFT JOIN crm_records cr ON cr.id = c.crm_record_id
           WHERE c.tenant_id = $1 AND c.park_slot IS NOT NULL AND c.ended_at IS NULL
           ORDER BY c.park_slot"#,
        tenant.0
    )
    .fetch_all(&mut **tx)
    .await
}

/// The call parked in `slot` of the tenant, if any.
pub async fn in_slot(tx: &mut Tx, tenant: TenantId, slot: i16) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        "SELECT id FROM calls WHERE tenant_id = $1 AND park_slot = $2 AND ended_at IS NULL",
        tenant.0,
        slot
    )
    .fetch_optional(&mut **tx)
    .await
}
