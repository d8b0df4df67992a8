//! Two-factor sign-in: a user sets up TOTP (an authenticator app), confirms it with a first code
//! and gets ten recovery codes, shown once; sign-in then asks for a code (or a recovery code). An
//! administrator may require it of every administrator and sub-administrator of the tenant: until
//! they set it up, admin routes answer 403 `two_factor_setup_required`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use callbase_core::{Role, TenantId, UserId};
use callbase_db::two_factor as repo;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::two_factor as totp;
use crate::auth::{password, CurrentUser};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::routes::audit::{self, Actor};
use crate::AppState;

fn now() -> u64 {
    time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TwoFactorStatus {
    pub enabled: bool,
    /// A secret was set up and waits for its first code.
    pub pending: bool,
    /// The tenant requires two-factor sign-in of administrators and sub-administrators.
    pub tenant_requires: bool,
    /// Whether it is required of this user (an admin of a tenant that requires it).
    pub required: bool,
    pub recovery_codes_left: i64,
}

async fn status_of(st: &AppState, cu: &CurrentUser) -> ApiResult<TwoFactorStatus> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let s = repo::state(&mut tx, cu.tenant_id, cu.user_id).await?.ok_or(ApiError::NotFound)?;
    let tenant_requires = repo::required(&mut tx, cu.tenant_id).await?;
    let left = repo::recovery_codes_left(&mut tx, cu.tenant_id, cu.user_id).await?;
    tx.commit().await?;
    Ok(TwoFactorStatus {
        enabled: s.totp_secret.is_some(),
        pending: s.totp_pending.is_some(),
        tenant_requires,
        required: tenant_requires && cu.role.is_admin(),
        recovery_codes_left: left,
    })
}

/// The signed-in user's two-factor sign-in.
#[utoipa::path(get, path = "/api/auth/two-factor", tag = "auth", responses((status = 200, body = TwoFactorStatus), (status = 401, body = ErrorBody)))]
pub async fn status(State(st): State<AppState>, cu: CurrentUser) -> ApiResult<Json<TwoFactorStatus>> {
    Ok(Json(status_of(&st, &cu).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TwoFactorSetup {
    /// Base32, for typing into an app by hand.
    pub secret: String,
    /// `otpauth://…`, for a QR code.
    pub otpauth_url: String,
}

/// Starts setting up TOTP: a new secret, pending until confirmed with a code.
#[utoipa::path(post, path = "/api/auth/two-factor/setup", tag = "auth", responses(
    (status = 200, body = TwoFactorSetup), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn setup(State(st): State<AppState>, cu: CurrentUser) -> ApiResult<Json<TwoFactorSetup>> {
    let account = crate::routes::tenant_account(&st, cu.tenant_id).await?;
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let s = repo::state(&mut tx, cu.tenant_id, cu.user_id).await?.ok_or(ApiError::NotFound)?;
    if s.totp_secret.is_some() {
        return Err(ApiError::conflict(
            "two_factor_on",
            "two-factor sign-in is already on; turn it off first to set up a new app",
        ));
    }
    let secret = totp::new_secret();
    repo::set_pending(&mut tx, cu.tenant_id, cu.user_id, &secret).await?;
    tx.commit().await?;
    let otpauth_url = totp::otpauth_url(&secret, &account, &cu.user.login);
    Ok(Json(TwoFactorSetup { secret, otpauth_url }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CodeBody {
    /// The 6-digit code the app shows now.
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Shown once: each signs in once when the app is not at hand.
    pub recovery_codes: Vec<String>,
}

/// Confirms the pending secret with a code; two-factor sign-in is on from now, and ten recovery
/// codes are returned once.
#[utoipa::path(post, path = "/api/auth/two-factor/enable", tag = "auth", request_body = CodeBody, responses(
    (status = 200, body = RecoveryCodes), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn enable(
    State(st): State<AppState>,
    cu: CurrentUser,
    who: Actor,
    ApiJson(b): ApiJson<CodeBody>,
) -> ApiResult<Json<RecoveryCodes>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let s = repo::state(&mut tx, cu.tenant_id, cu.user_id).await?.ok_or(ApiError::NotFound)?;
    let pending =
        s.totp_pending.ok_or_else(|| ApiError::conflict("no_two_factor_setup", "start the setup first"))?;
    let step = totp::check(&pending, &b.code, now()).ok_or_else(|| {
        ApiError::unprocessable(
            "invalid_code",
            "that code is not the one the app shows now; check the phone's clock",
        )
    })?;
    let codes = totp::new_recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| totp::recovery_hash(c)).collect();
    repo::enable(&mut tx, cu.tenant_id, cu.user_id, step, &hashes).await?;
    tx.commit().await?;
    audit::record(&st, &who, "two_factor.enable", &cu.user.login, None, None).await?;
    Ok(Json(RecoveryCodes { recovery_codes: codes }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordBody {
    pub password: String,
}

/// Turns two-factor sign-in off (the password confirms it). Refused for an administrator of a
/// tenant that requires it.
#[utoipa::path(post, path = "/api/auth/two-factor/disable", tag = "auth", request_body = PasswordBody, responses(
    (status = 204), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn disable(
    State(st): State<AppState>,
    cu: CurrentUser,
    who: Actor,
    ApiJson(b): ApiJson<PasswordBody>,
) -> ApiResult<StatusCode> {
    if !password::verify(b.password, Some(cu.user.password_hash.clone())).await? {
        return Err(ApiError::unprocessable("wrong_password", "the password is wrong"));
    }
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    if cu.role.is_admin() && repo::required(&mut tx, cu.tenant_id).await? {
        return Err(ApiError::conflict(
            "two_factor_required",
            "your organisation requires two-factor sign-in of administrators",
        ));
    }
    repo::disable(&mut tx, cu.tenant_id, cu.user_id).await?;
    tx.commit().await?;
    audit::record(&st, &who, "two_factor.disable", &cu.user.login, None, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct TwoFactorPolicy {
    /// Require two-factor sign-in of administrators and sub-administrators.
    pub require_for_admins: bool,
}

/// The tenant's requirement (administrators only; turning it on needs two-factor sign-in on for
/// the administrator who does it, so nobody locks the tenant out by accident).
#[utoipa::path(put, path = "/api/security/two-factor", tag = "security", request_body = TwoFactorPolicy, responses(
    (status = 200, body = TwoFactorPolicy), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn set_policy(
    State(st): State<AppState>,
    cu: CurrentUser,
    who: Actor,
    ApiJson(b): ApiJson<TwoFactorPolicy>,
) -> ApiResult<Json<TwoFactorPolicy>> {
    if cu.role != Role::Administrator {
        return Err(ApiError::Forbidden);
    }
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let before = repo::required(&mut tx, cu.tenant_id).await?;
    let mine = repo::state(&mut tx, cu.tenant_id, cu.user_id).await?.ok_or(ApiError::NotFound)?;
    if b.require_for_admins && mine.totp_secret.is_none() {
        return Err(ApiError::conflict(
            "enable_two_factor_first",
            "turn on two-factor sign-in for yourself first",
        ));
    }
    repo::set_required(&mut tx, cu.tenant_id, b.require_for_admins).await?;
    tx.commit().await?;
    audit::record(
        &st,
        &who,
        "security.two_factor_policy",
        "",
        Some(serde_json::json!({"require_for_admins": before})),
        Some(serde_json::json!({"require_for_admins": b.require_for_admins})),
    )
    .await?;
    Ok(Json(b))
}

/// What sign-in needs after a right password: `Ok(())` to go on, or the 401 to answer.
pub async fn second_factor(
    st: &AppState,
    tenant: TenantId,
    user: UserId,
    code: Option<&str>,
) -> ApiResult<Result<(), ApiError>> {
    let mut tx = st.db.tenant_tx(tenant).await?;
    let s = repo::state(&mut tx, tenant, user).await?.ok_or(ApiError::NotFound)?;
    let Some(secret) = s.totp_secret else { return Ok(Ok(())) };
    let unauthorized = |code: &'static str, message: &str| ApiError::BadRequest {
        status: StatusCode::UNAUTHORIZED,
        code,
        message: message.into(),
    };
    let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(Err(unauthorized(
            "two_factor_required",
            "enter the code from your authenticator app, or a recovery code",
        )));
    };
    let ok = if totp::looks_like_recovery(code) {
        repo::use_recovery_code(&mut tx, tenant, user, &totp::recovery_hash(code)).await?
    } else {
        match totp::check(&secret, code, now()) {
            Some(step) => repo::use_step(&mut tx, tenant, user, step).await?,
            None => false,
        }
    };
    tx.commit().await?;
    Ok(if ok {
        Ok(())
    } else {
        Err(unauthorized("two_factor_invalid", "that code is wrong or was already used"))
    })
}
