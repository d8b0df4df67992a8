//! The CRM's columns of `telephony` (one row per tenant, absent until telephony or these settings
//! were first saved): caller matching, number masking, the responsible manager.

use callbase_core::crm::MaskMode;
use callbase_core::{TenantId, UserId};
use callbase_db::Tx;

/// The stored settings (defaults when the tenant has no row yet: see [`get`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsRow {
    pub similar_match_digits: i32,
    pub mask_group_ids: Vec<i64>,
    pub mask_mode: MaskMode,
    pub mask_chars: i32,
    pub manager_first: bool,
    pub manager_first_secs: i32,
}

impl Default for SettingsRow {
    /// The column defaults of migration 0009.
    fn default() -> Self {
        SettingsRow {
            similar_match_digits: 0,
            mask_group_ids: vec![],
            mask_mode: MaskMode::Prefix,
            mask_chars: 6,
            manager_first: false,
            manager_first_secs: 15,
        }
    }
}

fn mode(s: &str) -> MaskMode {
    if s == "hidden" {
        MaskMode::Hidden
    } else {
        MaskMode::Prefix
    }
}

fn mode_str(m: MaskMode) -> &'static str {
    match m {
        MaskMode::Hidden => "hidden",
        MaskMode::Prefix => "prefix",
    }
}

pub async fn get(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<SettingsRow> {
    let row = sqlx::query!(
        "SELECT similar_match_digits, mask_group_ids, mask_mode, mask_chars, manager_first, manager_first_secs \
         FROM telephony WHERE tenant_id = $1",
        tenant.0,
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map_or_else(SettingsRow::default, |r| SettingsRow {
        similar_match_digits: r.similar_match_digits,
        mask_group_ids: r.mask_group_ids,
        mask_mode: mode(&r.mask_mode),
        mask_chars: r.mask_chars,
        manager_first: r.manager_first,
        manager_first_secs: r.manager_first_secs,
    }))
}

/// The masked groups, the mode and the characters hidden; None when the tenant has no row (nobody
/// is masked).
pub async fn masking(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Option<(Vec<i64>, MaskMode, i32)>> {
    let row = sqlx::query!(
        "SELECT mask_group_ids, mask_mode, mask_chars FROM telephony WHERE tenant_id = $1",
        tenant.0,
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| (r.mask_group_ids, mode(&r.mask_mode), r.mask_chars)))
}

/// Inserts or replaces the CRM settings.
pub async fn put(tx: &mut Tx, tenant: TenantId, s: &SettingsRow) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO telephony (tenant_id, similar_match_digits, mask_group_ids, mask_mode, mask_chars, manager_first, manager_first_secs) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id) DO UPDATE SET similar_match_digits = $2, mask_group_ids = $3, \
         mask_mode = $4, mask_chars = $5, manager_first = $6, manager_first_secs = $7",
        tenant.0,
        s.similar_match_digits,
        &s.mask_group_ids,
        mode_str(s.mask_mode),
        s.mask_chars,
        s.manager_first,
        s.manager_first_secs,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The tenant's number masking as the telephony side needs it: the mode, how many characters are
/// hidden, and which of `users` are members of a masked group. None when nobody of `users` is.
pub async fn masked_among(
    tx: &mut Tx,
    tenant: TenantId,
    users: &[UserId],
) -> sqlx::Result<Option<(MaskMode, usize, Vec<UserId>)>> {
    let ids: Vec<i64> = users.iter().map(|u| u.0).collect();
    let row = sqlx::query!(
        r#"SELECT t.mask_mode, t.mask_chars, ARRAY(SELECT DISTINCT m.user_id FROM memberships m
             WHERE m.tenant_id = t.tenant_id AND m.group_id = ANY(t.mask_group_ids) AND m.user_id = ANY($2)) AS "masked!"
           FROM telephony t WHERE t.tenant_id = $1"#,
        tenant.0,
        &ids,
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.filter(|r| !r.masked.is_empty()).map(|r| {
        (mode(&r.mask_mode), r.mask_chars.max(1) as usize, r.masked.into_iter().map(UserId).collect())
    }))
}
