//! Who is looking at the CRM: loaded once per request from plain values (the API's signed-in
//! user), never from an HTTP type. A [`Viewer`] carries what shapes every answer: the number
//! masking that applies to this user, the tenant's dial rules (phone values are shown and matched
//! in E.164), and the tenant's user names (user-reference fields).

use std::collections::HashMap;

use callbase_core::dial::DialRules;
use callbase_core::{GroupId, TenantId, UserId};
use callbase_db::{Db, Tx};

pub use callbase_core::crm::{MaskMode, Masking};

use crate::error::CrmResult;
use crate::repo;

/// The signed-in user as the CRM needs them.
#[derive(Debug, Clone)]
pub struct Who {
    pub tenant: TenantId,
    pub user: UserId,
    /// The user's access groups (masking is given to groups).
    pub groups: Vec<GroupId>,
    /// Administrator or sub-administrator.
    pub admin: bool,
}

/// A user looking at the CRM, with what shapes their answers.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub tenant: TenantId,
    pub user: UserId,
    pub admin: bool,
    /// How this user sees numbers (`None`: as they are).
    pub masking: Option<Masking>,
    pub rules: DialRules,
    users: HashMap<i64, String>,
}

impl Viewer {
    /// Reads the masking, dial rules and user names inside the request's tenant transaction.
    pub async fn load(tx: &mut Tx, who: &Who) -> CrmResult<Viewer> {
        let masking = masking_for(tx, who.tenant, &who.groups).await?;
        let rules = callbase_db::settings::dial_rules(tx, who.tenant).await?;
        let users = callbase_db::accounts::user_names(tx, who.tenant).await?;
        Ok(Viewer { tenant: who.tenant, user: who.user, admin: who.admin, masking, rules, users })
    }

    pub fn is_masked(&self) -> bool {
        self.masking.is_some()
    }

    /// A number as this viewer may see it.
    pub fn show_number(&self, number: &str) -> String {
        callbase_core::crm::shown(self.masking, number)
    }

    /// The name of a user of the tenant (user-reference fields).
    pub fn user_name(&self, id: i64) -> Option<String> {
        self.users.get(&id).cloned()
    }

    /// The tenant's users by id → name.
    pub fn user_names(&self) -> &HashMap<i64, String> {
        &self.users
    }
}

/// The masking that applies to a member of `groups` (a member of any masked group).
pub async fn masking_for(tx: &mut Tx, tenant: TenantId, groups: &[GroupId]) -> CrmResult<Option<Masking>> {
    let Some((masked_groups, mode, chars)) = repo::settings::masking(tx, tenant).await? else {
        return Ok(None);
    };
    Ok(masking_of(&masked_groups, mode, chars, groups))
}

/// The tenant's masking itself, as a masked group's member sees numbers (a webhook endpoint set to
/// mask numbers); none when the account has no telephony settings.
pub async fn tenant_masking(tx: &mut Tx, tenant: TenantId) -> CrmResult<Option<Masking>> {
    Ok(repo::settings::masking(tx, tenant)
        .await?
        .map(|(_, mode, chars)| Masking { mode, chars: chars.max(1) as usize }))
}

/// [`masking_for`] in a transaction of its own (the `/events` socket re-reads it on a change).
pub async fn masking(db: &Db, tenant: TenantId, groups: &[GroupId]) -> CrmResult<Option<Masking>> {
    let mut tx = db.tenant_tx(tenant).await?;
    let m = masking_for(&mut tx, tenant, groups).await?;
    tx.commit().await?;
    Ok(m)
}

/// The masking of a member of `groups` when `masked_groups` see numbers masked.
fn masking_of(masked_groups: &[i64], mode: MaskMode, chars: i32, groups: &[GroupId]) -> Option<Masking> {
    groups
        .iter()
        .any(|g| masked_groups.contains(&g.0))
        .then(|| Masking { mode, chars: chars.max(1) as usize })
}

/// What a masked viewer is left with when the settings cannot be read: nothing of any number.
pub const FAIL_CLOSED: Masking = Masking { mode: MaskMode::Hidden, chars: 15 };

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_members_of_a_masked_group_see_numbers_masked() {
        let m = masking_of(&[3, 7], MaskMode::Prefix, 6, &[GroupId(1), GroupId(7)]);
        assert_eq!(m, Some(Masking { mode: MaskMode::Prefix, chars: 6 }));
        assert_eq!(masking_of(&[3, 7], MaskMode::Prefix, 6, &[GroupId(1)]), None);
        assert_eq!(masking_of(&[], MaskMode::Hidden, 6, &[GroupId(1)]), None);
        assert_eq!(masking_of(&[1], MaskMode::Prefix, 0, &[GroupId(1)]).map(|m| m.chars), Some(1));
    }
}
