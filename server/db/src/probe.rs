//! Health-probe results (migrations/0010_probe.sql). The worker writes across tenants (worker pool,
//! BYPASSRLS); tenants read their own trunk path's results under RLS.

use callbase_core::TenantId;
use sqlx::{FromRow, PgPool};
use time::OffsetDateTime;

use crate::Tx;

/// One probe call as stored.
#[derive(Debug, Clone, FromRow)]
pub struct ProbeRow {
    pub at: OffsetDateTime,
    pub node: String,
    pub tenant_id: Option<TenantId>,
    pub number: String,
    pub ok: bool,
    pub register_ms: Option<f32>,
    pub invite_ok_ms: Option<f32>,
    pub ice_ms: Option<f32>,
    pub dtls_ms: Option<f32>,
    pub rtt_ms: Option<f32>,
    pub loss_pct: Option<f32>,
    pub jitter_ms: Option<f32>,
    pub error: Option<String>,
}

/// What the worker records.
#[derive(Debug, Clone, Default)]
pub struct NewProbe<'a> {
    pub node: &'a str,
    pub tenant: Option<TenantId>,
    pub number: &'a str,
    pub ok: bool,
    pub register_ms: Option<f64>,
    pub invite_ok_ms: Option<f64>,
    pub ice_ms: Option<f64>,
    pub dtls_ms: Option<f64>,
    pub rtt_ms: Option<f64>,
    pub loss_pct: Option<f64>,
    pub jitter_ms: Option<f64>,
    pub error: Option<&'a str>,
}

pub async fn insert(pool: &PgPool, p: &NewProbe<'_>) -> sqlx::Result<()> {
    let f = |v: Option<f64>| v.map(|v| v as f32);
    sqlx::query(
        "INSERT INTO probe_results (node, tenant_id, number, ok, register_ms, invite_ok_ms, ice_ms, dtls_ms, rtt_ms, loss_pct, jitter_ms, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(p.node)
    .bind(p.tenant)
    .bind(p.number)
    .bind(p.ok)
    .bind(f(p.register_ms))
    .bind(f(p.invite_ok_ms))
    .bind(f(p.ice_ms))
    .bind(f(p.dtls_ms))
    .bind(f(p.rtt_ms))
    .bind(f(p.loss_pct))
    .bind(f(p.jitter_ms))
    .bind(p.error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Tenants on `node` whose trunk path is probed: telephony on, a probe number set, at least one
/// trunk. A tenant with no node yet runs on `default_node` (the node of the settings).
pub async fn targets_on(
    pool: &PgPool,
    node: &str,
    default_node: &str,
) -> sqlx::Result<Vec<(TenantId, String)>> {
    sqlx::query_as(
        "SELECT t.tenant_id, t.probe_number FROM telephony t JOIN tenants n ON n.id = t.tenant_id
          WHERE t.enabled AND t.probe_number IS NOT NULL AND EXISTS (SELECT 1 FROM trunks k WHERE k.tenant_id = t.tenant_id)
            AND coalesce(n.node_id, $2) = $1
          ORDER BY t.tenant_id",
    )
    .bind(node)
    .bind(default_node)
    .fetch_all(pool)
    .await
}

/// Drops results older than `days`.
pub async fn prune(pool: &PgPool, days: i32) -> sqlx::Result<u64> {
    Ok(sqlx::query("DELETE FROM probe_results WHERE at < now() - make_interval(days => $1)")
        .bind(days)
        .execute(pool)
        .await?
        .rows_affected())
}

/// The latest results of every path (platform admins: `callbase probe-status`), newest first.
pub async fn latest_all(pool: &PgPool, limit: i64) -> sqlx::Result<Vec<ProbeRow>> {
    sqlx::query_as(
        "SELECT at, node, tenant_id, number, ok, register_ms, invite_ok_ms, ice_ms, dtls_ms, rtt_ms, loss_pct, jitter_ms, error
           FROM probe_results ORDER BY at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// A tenant's trunk-path results of the last `hours`, oldest first (RLS: this tenant's only).
pub async fn history(tx: &mut Tx, tenant: TenantId, hours: i32) -> sqlx::Result<Vec<ProbeRow>> {
    sqlx::query_as(
        "SELECT at, node, tenant_id, number, ok, register_ms, invite_ok_ms, ice_ms, dtls_ms, rtt_ms, loss_pct, jitter_ms, error
           FROM probe_results WHERE tenant_id = $1 AND at > now() - make_interval(hours => $2) ORDER BY at, id",
    )
    .bind(tenant)
    .bind(hours)
    .fetch_all(&mut **tx)
    .await
}

pub async fn probe_number(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Option<String>> {
    Ok(sqlx::query_scalar::<_, Option<String>>("SELECT probe_number FROM telephony WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_optional(&mut **tx)
        .await?
        .flatten())
}

pub async fn set_probe_number(tx: &mut Tx, tenant: TenantId, number: Option<&str>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO telephony (tenant_id, probe_number) VALUES ($1, $2)
         ON CONFLICT (tenant_id) DO UPDATE SET probe_number = EXCLUDED.probe_number",
    )
    .bind(tenant)
    .bind(number)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
