//! Two-factor sign-in state (migrations/0017_two_factor.sql): a user's TOTP secret (pending until
//! confirmed), the last accepted time step (a code works once), hashed recovery codes, and the
//! tenant's requirement for administrators.

use callbase_core::{TenantId, UserId};

use crate::Tx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct State {
    pub totp_secret: Option<String>,
    pub totp_pending: Option<String>,
    pub totp_last_step: Option<i64>,
}

pub async fn state(tx: &mut Tx, tenant: TenantId, user: UserId) -> sqlx::Result<Option<State>> {
    sqlx::query_as(
        "SELECT totp_secret, totp_pending, totp_last_step FROM users WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(user)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn set_pending(tx: &mut Tx, tenant: TenantId, user: UserId, secret: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET totp_pending = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(user)
        .bind(secret)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Turns the pending secret on (accepted at `step`) and replaces the recovery codes.
pub async fn enable(
    tx: &mut Tx,
    tenant: TenantId,
    user: UserId,
    step: i64,
    code_hashes: &[String],
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(user)
        .bind(step)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant)
        .bind(user)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO recovery_codes (tenant_id, user_id, code_hash) SELECT $1, $2, unnest($3::text[])",
    )
    .bind(tenant)
    .bind(user)
    .bind(code_hashes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn disable(tx: &mut Tx, tenant: TenantId, user: UserId) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(user)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant)
        .bind(user)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records that a code of `step` was used; false when that step (or a later one) already was, so
/// a code seen by someone else cannot be replayed.
pub async fn use_step(tx: &mut Tx, tenant: TenantId, user: UserId, step: i64) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE users SET totp_last_step = $3 WHERE tenant_id = $1 AND id = $2 AND (totp_last_step IS NULL OR totp_last_step < $3)",
    )
    .bind(tenant)
    .bind(user)
    .bind(step)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Spends a recovery code; false when it is unknown or already used.
pub async fn use_recovery_code(
    tx: &mut Tx,
    tenant: TenantId,
    user: UserId,
    code_hash: &str,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE recovery_codes SET used_at = now() WHERE tenant_id = $1 AND user_id = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .bind(tenant)
    .bind(user)
    .bind(code_hash)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn recovery_codes_left(tx: &mut Tx, tenant: TenantId, user: UserId) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM recovery_codes WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL",
    )
    .bind(tenant)
    .bind(user)
    .fetch_one(&mut **tx)
    .await
}

/// The tenant requires two-factor sign-in and this user has not set it up (one query: the admin
/// extractor asks it on every request).
pub async fn setup_pending(tx: &mut Tx, tenant: TenantId, user: UserId) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT COALESCE((SELECT require_two_factor FROM tenant_security WHERE tenant_id = $1), false)
            AND COALESCE((SELECT totp_secret IS NULL FROM users WHERE tenant_id = $1 AND id = $2), false)",
    )
    .bind(tenant)
    .bind(user)
    .fetch_one(&mut **tx)
    .await
}

pub async fn required(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<bool> {
    Ok(sqlx::query_scalar("SELECT require_two_factor FROM tenant_security WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_optional(&mut **tx)
        .await?
        .unwrap_or(false))
}

pub async fn set_required(tx: &mut Tx, tenant: TenantId, on: bool) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO tenant_security (tenant_id, require_two_factor) VALUES ($1, $2)
         ON CONFLICT (tenant_id) DO UPDATE SET require_two_factor = EXCLUDED.require_two_factor",
    )
    .bind(tenant)
    .bind(on)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
