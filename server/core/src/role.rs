//! Roles. An access group grants a role; a user's role is the strongest one among their groups.

use serde::{Deserialize, Serialize};

/// Ordered weakest → strongest, so `max()` over a user's groups gives the effective role.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    sqlx::Type,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Role {
    User,
    SubAdministrator,
    Administrator,
}

impl Role {
    /// Administrators and sub-administrators manage users, groups and telephony settings.
    pub fn is_admin(self) -> bool {
        self >= Role::SubAdministrator
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::SubAdministrator => "sub_administrator",
            Role::Administrator => "administrator",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strongest_role_wins() {
        let roles = [Role::User, Role::Administrator, Role::SubAdministrator];
        assert_eq!(roles.iter().copied().max(), Some(Role::Administrator));
        assert!(Role::SubAdministrator.is_admin());
        assert!(!Role::User.is_admin());
    }
}
