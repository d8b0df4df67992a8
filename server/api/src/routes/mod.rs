pub mod audit;
pub mod auth;
pub mod calls;
pub mod crm;
pub mod dial_rules;
pub mod events;
pub mod groups;
pub mod health;
pub mod integrations;
pub mod phone;
pub mod platform;
pub mod probe;
pub mod reports;
pub mod security;
pub mod telephony;
pub mod trunks;
pub mod two_factor;
pub mod users;
pub mod v1;

use callbase_core::{GroupId, Role, UserId};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupRef {
    pub id: GroupId,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct User {
    pub id: UserId,
    pub login: String,
    pub name: String,
    pub email: String,
    pub disabled: bool,
    /// The strongest role among the user's groups.
    pub role: Role,
    pub groups: Vec<GroupRef>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl User {
    pub fn from_row(u: &callbase_db::accounts::UserRow, groups: &[(GroupId, String, Role)]) -> Self {
        User {
            id: u.id,
            login: u.login.clone(),
            name: u.name.clone(),
            email: u.email.clone(),
            disabled: u.disabled,
            role: groups.iter().map(|g| g.2).max().unwrap_or(Role::User),
            groups: groups.iter().map(|(id, name, _)| GroupRef { id: *id, name: name.clone() }).collect(),
            created_at: u.created_at,
        }
    }
}

/// The tenant's account slug (part of every SIP login, and what confirms destructive actions).
pub async fn tenant_account(
    st: &crate::AppState,
    tenant: callbase_core::TenantId,
) -> crate::error::ApiResult<String> {
    let mut tx = st.db.global_tx().await?;
    let t = callbase_db::accounts::tenant_by_id(&mut tx, tenant)
        .await?
        .ok_or(crate::error::ApiError::NotFound)?;
    tx.commit().await?;
    Ok(t.account)
}
