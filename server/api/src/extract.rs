//! Extractors that gate a route on the tenant's telephony module, so a handler states what it
//! needs in its signature instead of opening a transaction to check it.
//!
//! Put them after the identity extractor (`CurrentUser`, `AdminUser`): axum runs extractors in
//! order, so a signed-out caller still gets 401 and a non-administrator 403 before 409.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use callbase_db::telephony::TelUserRow;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// The tenant's telephony module is on; 409 `telephony_off` otherwise.
pub struct TelephonyOn;

impl FromRequestParts<AppState> for TelephonyOn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let cu = CurrentUser::from_request_parts(parts, st).await?;
        let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
        let on = callbase_db::telephony::state(&mut tx, cu.tenant_id).await?.enabled;
        tx.commit().await?;
        if on {
            Ok(TelephonyOn)
        } else {
            Err(telephony_off())
        }
    }
}

/// The caller as a telephony user of a tenant whose telephony is on: 409 `telephony_off`, then
/// 403 `not_telephony_user`.
pub struct TelephonyUser {
    pub user: CurrentUser,
    pub tel: TelUserRow,
}

impl FromRequestParts<AppState> for TelephonyUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let cu = CurrentUser::from_request_parts(parts, st).await?;
        let tel = telephony_user(st, &cu).await?;
        Ok(TelephonyUser { user: cu, tel })
    }
}

/// The caller supervises: an administrator, a sub-administrator or a member of a group with the
/// supervisor permission (issue #18); 403 `not_supervisor` otherwise.
pub struct Supervisor(pub CurrentUser);

impl FromRequestParts<AppState> for Supervisor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let cu = CurrentUser::from_request_parts(parts, st).await?;
        if cu.role.is_admin() {
            return Ok(Supervisor(cu));
        }
        let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
        let supervises = callbase_db::accounts::supervises(&mut tx, cu.tenant_id, cu.user_id).await?;
        tx.commit().await?;
        if supervises {
            Ok(Supervisor(cu))
        } else {
            Err(ApiError::forbidden_code(
                "not_supervisor",
                "the presence board is for administrators and supervisors; ask an administrator",
            ))
        }
    }
}

/// 409 `telephony_off`.
pub fn telephony_off() -> ApiError {
    ApiError::conflict(
        "telephony_off",
        "telephony is turned off for this account; an administrator can turn it on",
    )
}

/// 403 `not_telephony_user`.
pub fn not_telephony_user() -> ApiError {
    ApiError::forbidden_code("not_telephony_user", "you are not a telephony user; ask an administrator")
}

/// The same check as [`TelephonyUser`], for code that is not a handler (the `/sip` relay).
pub async fn telephony_user(st: &AppState, cu: &CurrentUser) -> ApiResult<TelUserRow> {
    let tenant = cu.tenant_id;
    let mut tx = st.db.tenant_tx(tenant).await?;
    let on = callbase_db::telephony::state(&mut tx, tenant).await?.enabled;
    if !on {
        return Err(telephony_off());
    }
    let u = callbase_db::telephony::get_user(&mut tx, tenant, cu.user_id).await?;
    tx.commit().await?;
    u.ok_or_else(not_telephony_user)
}

/// 403 `admins_only` unless the caller is an administrator (sub-administrators pass
/// [`crate::auth::AdminUser`] but not this).
pub fn administrators_only(a: &CurrentUser, what: &str) -> ApiResult<()> {
    if a.role == callbase_core::Role::Administrator {
        Ok(())
    } else {
        Err(ApiError::forbidden_code("admins_only", format!("only administrators {what}")))
    }
}
