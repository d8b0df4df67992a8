//! The CRM settings of a tenant: caller matching, number masking for groups, the responsible
//! manager. Saving them tells every open `/events` socket of the tenant to re-read who is masked
//! (`Event::CrmSettings`).

use callbase_core::crm::MaskMode;
use callbase_core::events::Event;
use callbase_core::{GroupId, TenantId};
use callbase_db::Db;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{CrmError, CrmResult};
use crate::repo::settings::{self as repo, SettingsRow};

/// Caller matching, number masking and the responsible manager.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CrmSettings {
    /// 0: exact matches only; 1–4: when nothing matches exactly, match numbers differing only in
    /// that many last digits.
    pub similar_match_digits: i32,
    /// Members of these groups see numbers masked.
    #[schema(value_type = Vec<i64>)]
    pub mask_group_ids: Vec<GroupId>,
    pub mask_mode: MaskMode,
    /// `prefix` mode: this many leading characters become `*` (1–15).
    pub mask_chars: i32,
    /// An inbound call from a client whose manager is online rings the manager first.
    pub manager_first: bool,
    /// For this many seconds (5–120), then everyone.
    pub manager_first_secs: i32,
}

impl From<SettingsRow> for CrmSettings {
    fn from(r: SettingsRow) -> Self {
        CrmSettings {
            similar_match_digits: r.similar_match_digits,
            mask_group_ids: r.mask_group_ids.into_iter().map(GroupId).collect(),
            mask_mode: r.mask_mode,
            mask_chars: r.mask_chars,
            manager_first: r.manager_first,
            manager_first_secs: r.manager_first_secs,
        }
    }
}

impl CrmSettings {
    /// The ranges the settings must be in (no IO; the groups are checked against the tenant's).
    pub fn check(&self) -> CrmResult<()> {
        if !(0..=4).contains(&self.similar_match_digits) {
            return Err(CrmError::invalid(
                "invalid_similar_match",
                "similar-number matching ignores 0–4 last digits",
            ));
        }
        if !(1..=15).contains(&self.mask_chars) {
            return Err(CrmError::invalid("invalid_mask_chars", "mask 1–15 characters"));
        }
        if !(5..=120).contains(&self.manager_first_secs) {
            return Err(CrmError::invalid(
                "invalid_manager_first_secs",
                "ring the manager first for 5–120 s",
            ));
        }
        Ok(())
    }

    fn row(&self) -> SettingsRow {
        SettingsRow {
            similar_match_digits: self.similar_match_digits,
            mask_group_ids: self.mask_group_ids.iter().map(|g| g.0).collect(),
            mask_mode: self.mask_mode,
            mask_chars: self.mask_chars,
            manager_first: self.manager_first,
            manager_first_secs: self.manager_first_secs,
        }
    }
}

pub async fn get(db: &Db, tenant: TenantId) -> CrmResult<CrmSettings> {
    let mut tx = db.tenant_tx(tenant).await?;
    let row = repo::get(&mut tx, tenant).await?;
    tx.commit().await?;
    Ok(row.into())
}

/// Saves the settings, then tells the tenant's `/events` sockets (the settings are saved even when
/// Redis cannot take the message; that is logged).
pub async fn put(
    db: &Db,
    redis: &mut redis::aio::ConnectionManager,
    tenant: TenantId,
    b: CrmSettings,
) -> CrmResult<CrmSettings> {
    b.check()?;
    let mut tx = db.tenant_tx(tenant).await?;
    if let Err(unknown) = callbase_db::accounts::check_groups(&mut tx, tenant, &b.mask_group_ids).await? {
        let g = unknown[0];
        return Err(CrmError::invalid("unknown_group", format!("group {g} does not exist")));
    }
    repo::put(&mut tx, tenant, &b.row()).await?;
    tx.commit().await?;
    // Open `/events` sockets re-read who is masked.
    let published: redis::RedisResult<()> = redis::cmd("PUBLISH")
        .arg(callbase_core::keys::events(tenant))
        .arg(Event::CrmSettings.to_json())
        .query_async(redis)
        .await;
    if let Err(e) = published {
        tracing::warn!(error = %e, "cannot tell the event sockets about the new masking");
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> CrmSettings {
        CrmSettings {
            similar_match_digits: 2,
            mask_group_ids: vec![GroupId(3)],
            mask_mode: MaskMode::Prefix,
            mask_chars: 6,
            manager_first: true,
            manager_first_secs: 15,
        }
    }

    #[test]
    fn settings_out_of_range_are_refused_with_their_code() {
        assert!(ok().check().is_ok());
        let code = |s: CrmSettings| s.check().unwrap_err().code();
        assert_eq!(code(CrmSettings { similar_match_digits: 5, ..ok() }), Some("invalid_similar_match"));
        assert_eq!(code(CrmSettings { mask_chars: 0, ..ok() }), Some("invalid_mask_chars"));
        assert_eq!(code(CrmSettings { manager_first_secs: 121, ..ok() }), Some("invalid_manager_first_secs"));
    }
}
