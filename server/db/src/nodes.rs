//! The node registry (`nodes`) and where each tenant runs (`tenants.node_id`): migration 0021.
//! The API's role reads the registry and places its own tenant; registering, moving and changing
//! nodes are the worker's (the CLI and the platform admin API).

use callbase_core::TenantId;
use sqlx::{FromRow, PgPool};

use crate::Tx;

/// A platform Asterisk node.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, serde::Serialize)]
pub struct NodeRow {
    pub id: String,
    pub ari_url: String,
    pub ami_addr: Option<String>,
    pub ws_url: Option<String>,
    pub sip_addr: Option<String>,
    pub capacity: i32,
    pub state: String,
    pub db_role: String,
}

/// A node with how many tenants it carries.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct NodeLoad {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub node: NodeRow,
    pub tenants: i64,
}

const COLUMNS: &str = "id, ari_url, ami_addr, ws_url, sip_addr, capacity, state, db_role";

/// Every node, by id.
pub async fn all(pool: &PgPool) -> sqlx::Result<Vec<NodeRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM nodes ORDER BY id")).fetch_all(pool).await
}

/// Every node with its number of tenants.
pub async fn loads(pool: &PgPool) -> sqlx::Result<Vec<NodeLoad>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS}, (SELECT count(*) FROM tenants t WHERE t.node_id = n.id) AS tenants
           FROM nodes n ORDER BY id"
    ))
    .fetch_all(pool)
    .await
}

/// Adds a node or changes where it is reached, its capacity and its role (its state and its
/// tenants stay).
pub async fn upsert(pool: &PgPool, n: &NodeRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO nodes (id, ari_url, ami_addr, ws_url, sip_addr, capacity, state, db_role)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET ari_url = EXCLUDED.ari_url, ami_addr = EXCLUDED.ami_addr,
             ws_url = EXCLUDED.ws_url, sip_addr = EXCLUDED.sip_addr, capacity = EXCLUDED.capacity,
             db_role = EXCLUDED.db_role, updated_at = now()",
    )
    .bind(&n.id)
    .bind(&n.ari_url)
    .bind(&n.ami_addr)
    .bind(&n.ws_url)
    .bind(&n.sip_addr)
    .bind(n.capacity)
    .bind(&n.state)
    .bind(&n.db_role)
    .execute(pool)
    .await?;
    Ok(())
}

/// Sets a node's state (`live`, `draining`, `down`; `gone` is [`declare_gone`]'s); false when
/// there is no such node.
pub async fn set_state(pool: &PgPool, id: &str, state: &str) -> sqlx::Result<bool> {
    let r = sqlx::query("UPDATE nodes SET state = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(state)
        .execute(pool)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// The node a tenant runs on, if placed.
pub async fn of_tenant(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT node_id FROM tenants WHERE id = $1")
        .bind(tenant)
        .fetch_optional(&mut **tx)
        .await
        .map(Option::flatten)
}

/// Places the tenant on the least-loaded live node with room unless it has a node (migration
/// 0021, `place_tenant`); `None` when every live node is full.
pub async fn place(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT place_tenant($1)").bind(tenant).fetch_one(&mut **tx).await
}

/// Places every tenant that has telephony on and no node on `node` (tenants from before nodes
/// existed) unless the node is gone; returns how many.
pub async fn adopt_unplaced(pool: &PgPool, node: &str) -> sqlx::Result<u64> {
    let r = sqlx::query(
        "UPDATE tenants SET node_id = $1
          WHERE node_id IS NULL AND id IN (SELECT tenant_id FROM telephony WHERE enabled)
            AND EXISTS (SELECT 1 FROM nodes WHERE id = $1 AND state <> 'gone')",
    )
    .bind(node)
    .execute(pool)
    .await?;
    Ok(r.rows_affected())
}

/// Moves a tenant to `node`; returns the node it was on. `None` (nothing changed) when the tenant
/// does not exist.
pub async fn move_tenant(
    pool: &PgPool,
    tenant: TenantId,
    node: &str,
) -> sqlx::Result<Option<Option<String>>> {
    sqlx::query_scalar(
        "UPDATE tenants t SET node_id = $2 FROM (SELECT id, node_id FROM tenants WHERE id = $1 FOR UPDATE) old
          WHERE t.id = old.id RETURNING old.node_id",
    )
    .bind(tenant)
    .bind(node)
    .fetch_optional(pool)
    .await
}

/// The tenants on a node.
pub async fn tenants_on(pool: &PgPool, node: &str) -> sqlx::Result<Vec<TenantId>> {
    sqlx::query_scalar("SELECT id FROM tenants WHERE node_id = $1 ORDER BY id")
        .bind(node)
        .fetch_all(pool)
        .await
}

/// Places a tenant of `from` on another live node with room (`from` is passed over: it is not
/// live). `None`, and the tenant stays on `from`, when no node has room.
pub async fn place_elsewhere(pool: &PgPool, tenant: TenantId, from: &str) -> sqlx::Result<Option<String>> {
    let mut tx = pool.begin().await?;
    let r = sqlx::query("UPDATE tenants SET node_id = NULL WHERE id = $1 AND node_id = $2")
        .bind(tenant)
        .bind(from)
        .execute(&mut *tx)
        .await?;
    if r.rows_affected() == 0 {
        // Moved meanwhile (an operator): nothing to do.
        tx.rollback().await?;
        return Ok(None);
    }
    let placed: Option<String> =
        sqlx::query_scalar("SELECT place_tenant($1)").bind(tenant).fetch_one(&mut *tx).await?;
    if placed.is_none() {
        tx.rollback().await?;
        return Ok(None);
    }
    tx.commit().await?;
    Ok(placed)
}

/// What declaring a node gone did ([`declare_gone`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gone {
    /// No node has that id.
    NoNode,
    /// Tenants are still placed on it (this many): they must be moved first.
    HasTenants(i64),
    /// The node is `gone`: this many recordings it held were marked lost and this many call
    /// records it left open were closed.
    Done { recordings_lost: u64, calls_closed: u64 },
}

/// The operator says the node will not come back (migration 0023): it turns `gone`, every
/// recording still on it (being recorded, queued or waiting for it) is marked `lost` with the
/// reason, and the call records it left open are closed with it. Refused while tenants are on it.
/// One transaction; the node's row is locked, which also holds off moves onto it meanwhile.
pub async fn declare_gone(pool: &PgPool, id: &str) -> sqlx::Result<Gone> {
    let mut tx = pool.begin().await?;
    let found: Option<String> = sqlx::query_scalar("SELECT state FROM nodes WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    if found.is_none() {
        return Ok(Gone::NoNode);
    }
    let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants WHERE node_id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    if tenants > 0 {
        return Ok(Gone::HasTenants(tenants));
    }
    sqlx::query("UPDATE nodes SET state = 'gone', updated_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let why = format!("lost with node {id}");
    let lost = sqlx::query(
        "UPDATE calls SET recording_state = 'lost', recording_error = $2
          WHERE node = $1 AND recording_state IN ('recording', 'pending', 'waiting')",
    )
    .bind(id)
    .bind(&why)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let closed = sqlx::query(
        "UPDATE calls SET ended_at = now(), phase = 'ended', held_since = NULL,
                result = COALESCE(result, CASE WHEN answered_at IS NOT NULL THEN 'answered'
                                               WHEN direction = 'inbound' THEN 'missed' ELSE 'failed' END),
                reason = COALESCE(reason, $2)
          WHERE node = $1 AND ended_at IS NULL",
    )
    .bind(id)
    .bind(&why)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(Gone::Done { recordings_lost: lost, calls_closed: closed })
}
