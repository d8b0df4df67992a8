//! Sign-up, login, logout, current user.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use axum_extra::extract::cookie::{CookieJar, SignedCookieJar};
use callbase_core::inputs::{parse_email, parse_name};
use callbase_core::{AccountSlug, Login, Password, Role, TenantId, UserId};
use callbase_db::accounts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{self, password, session, throttle, ClientIp, CurrentUser};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::routes::User;
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantInfo {
    pub id: TenantId,
    pub account: String,
    pub name: String,
    /// The account's time zone (IANA; `UTC` until an administrator sets one): the app shows dates
    /// and times in it.
    pub time_zone: String,
}

/// The signed-in user, their tenant and role, and the CSRF token to send as `X-CSRF-Token`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub user: User,
    pub tenant: TenantInfo,
    pub role: Role,
    /// Sees the live presence board: an administrator, a sub-administrator or a member of a group
    /// with the supervisor permission.
    pub supervisor: bool,
    pub csrf: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CsrfToken {
    pub csrf: String,
}

/// Returns the CSRF token (from the `cb_csrf` cookie, set now if missing).
#[utoipa::path(get, path = "/api/auth/csrf", tag = "auth", responses((status = 200, body = CsrfToken)))]
pub async fn csrf(State(st): State<AppState>, jar: CookieJar) -> (CookieJar, Json<CsrfToken>) {
    if let Some(c) = jar.get(auth::CSRF_COOKIE) {
        let csrf = c.value().to_string();
        return (jar, Json(CsrfToken { csrf }));
    }
    let csrf = session::random_token();
    let jar = jar.add(auth::csrf_cookie(st.cfg.auth.cookie_secure, csrf.clone()));
    (jar, Json(CsrfToken { csrf }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignupBody {
    /// Account slug: lowercase letters, digits, '-'; part of every SIP login.
    pub account: String,
    pub tenant_name: String,
    pub login: String,
    pub name: String,
    pub email: String,
    pub password: String,
}

/// Creates a tenant with its first administrator and signs them in. At most
/// `limits.signups_per_ip_per_hour` per client IP (429 `rate_limited` with `Retry-After`).
#[utoipa::path(post, path = "/api/signup", tag = "auth", request_body = SignupBody, responses(
    (status = 201, body = Me), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn signup(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    ApiJson(b): ApiJson<SignupBody>,
) -> ApiResult<(StatusCode, CookieJar, Json<Me>)> {
    // Sign-up is public: limited per client IP (each tenant can make trunk changes that reload
    // Asterisk, so unlimited tenants would be unlimited reloads).
    let limit = st.cfg.limits.signups_per_ip_per_hour;
    crate::limits::hit(
        &st.redis,
        &callbase_core::keys::rate_signups(&ip.to_string()),
        limit,
        3600,
        "sign-ups from this address",
    )
    .await?;
    let account = AccountSlug::parse(&b.account)?;
    let tenant_name = parse_name(&b.tenant_name)?;
    let login = Login::parse(&b.login)?;
    let name = parse_name(&b.name)?;
    let email = parse_email(&b.email)?;
    let pw = Password::parse(&b.password, &[login.as_str(), account.as_str()])?;
    let hash = password::hash(pw.expose().to_string()).await?;

    let mut tx = st.db.global_tx().await?;
    let (tenant, admin_group) = match accounts::create_tenant(&mut tx, account.as_str(), &tenant_name).await {
        Err(e) if callbase_db::constraint(&e) == Some("tenants_account_key") => {
            return Err(ApiError::conflict(
                "account_taken",
                format!("the account name '{}' is taken", account.as_str()),
            ));
        }
        r => r?,
    };
    let new = accounts::NewUser { login: login.as_str(), name: &name, email: &email, password_hash: &hash };
    let user = accounts::insert_user(&mut tx, tenant.id, &new).await?;
    accounts::set_memberships(&mut tx, tenant.id, user.id, &[admin_group])
        .await?
        .map_err(|_| anyhow::anyhow!("built-in group vanished during sign-up"))?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant.id, user.id = %user.id, "tenant signed up");
    let (jar, me) = start_session(&st, jar, tenant.id, user.id).await?;
    Ok((StatusCode::CREATED, jar, Json(me)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    pub account: String,
    pub login: String,
    pub password: String,
    /// The authenticator app's code or a recovery code, when two-factor sign-in is on (the first
    /// attempt without it answers 401 `two_factor_required`).
    #[serde(default)]
    pub code: Option<String>,
}

/// Signs in. Wrong account, login or password all answer the same 401; attempts are throttled per
/// client IP and per account+login — or, for a browser holding the device cookie of an earlier
/// sign-in of this user, per device — (429 with `Retry-After`). A successful sign-in sets the
/// device cookie.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginBody, responses(
    (status = 200, body = Me), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    ApiJson(b): ApiJson<LoginBody>,
) -> ApiResult<(CookieJar, SignedCookieJar, Json<Me>)> {
    let account = b.account.trim().to_lowercase();
    let login = b.login.trim().to_lowercase();
    let ip = ip.to_string();
    let mut tx = st.db.global_tx().await?;
    let mut user = None;
    if let Some(t) = accounts::tenant_by_account(&mut tx, &account).await? {
        callbase_db::set_tenant(&mut tx, t.id).await?;
        user = accounts::user_by_login(&mut tx, t.id, &login).await?;
    }
    tx.commit().await?;
    // The attempt is counted before the (slow) verification, atomically with the check.
    let device = st.devices.read(&headers).await?;
    let client = match (&device, &user) {
        (Some(d), Some(u)) if d.is_for(u.tenant_id, u.id) => throttle::Client::Trusted(d),
        _ => throttle::Client::New { account: &account, login: &login },
    };
    let reservation = match st.throttle.reserve(&client, &ip).await? {
        Ok(r) => r,
        Err(wait) => return Err(ApiError::Throttled { retry_after: wait as u64 }),
    };
    let ok = password::verify(b.password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    match user {
        Some(u) if ok && !u.disabled => {
            // A wrong or missing second factor leaves the attempt counted as a failure.
            crate::routes::two_factor::second_factor(&st, u.tenant_id, u.id, b.code.as_deref()).await??;
            st.throttle.succeeded(reservation).await?;
            let device = st.devices.issue(u.tenant_id, u.id).await?;
            let (jar, me) = start_session(&st, jar, u.tenant_id, u.id).await?;
            Ok((jar, device, Json(me)))
        }
        _ => Err(ApiError::BadCredentials),
    }
}

/// Ends the current session.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(
    State(st): State<AppState>,
    session: Option<Extension<auth::SessionCtx>>,
    jar: CookieJar,
) -> ApiResult<(StatusCode, CookieJar)> {
    if let Some(Extension(s)) = session {
        st.sessions.delete(&s.token).await?;
        // The sockets opened with this session close too, on every replica.
        st.sockets.revoke_session(s.data.tenant_id, s.data.user_id, &s.token).await;
    }
    Ok((StatusCode::NO_CONTENT, jar.add(auth::removal_cookie(st.cfg.auth.cookie_secure))))
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(State(st): State<AppState>, cu: CurrentUser) -> ApiResult<Json<Me>> {
    let mut tx = st.db.global_tx().await?;
    let tenant = accounts::tenant_by_id(&mut tx, cu.tenant_id).await?.ok_or(ApiError::Unauthenticated)?;
    tx.commit().await?;
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let supervisor = cu.role.is_admin() || accounts::supervises(&mut tx, cu.tenant_id, cu.user_id).await?;
    let time_zone = callbase_db::reports::time_zone(&mut tx, cu.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(Me {
        user: User::from_row(&cu.user, &cu.groups),
        tenant: TenantInfo { id: tenant.id, account: tenant.account, name: tenant.name, time_zone },
        role: cu.role,
        supervisor,
        csrf: cu.csrf,
    }))
}

/// Creates a session with a fresh CSRF token and sets both cookies.
async fn start_session(
    st: &AppState,
    jar: CookieJar,
    tenant: TenantId,
    uid: UserId,
) -> ApiResult<(CookieJar, Me)> {
    let csrf = session::random_token();
    let token = st.sessions.create(tenant, uid, csrf.clone()).await?;
    let secure = st.cfg.auth.cookie_secure;
    let jar = jar.add(auth::session_cookie(secure, token)).add(auth::csrf_cookie(secure, csrf.clone()));
    let mut tx = st.db.tenant_tx(tenant).await?;
    let t = accounts::tenant_by_id(&mut tx, tenant).await?.ok_or(ApiError::NotFound)?;
    let u = accounts::user_by_id(&mut tx, tenant, uid).await?.ok_or(ApiError::NotFound)?;
    let groups = accounts::user_groups(&mut tx, tenant, uid).await?;
    let in_supervisor_group = accounts::supervises(&mut tx, tenant, uid).await?;
    let time_zone = callbase_db::reports::time_zone(&mut tx, tenant).await?;
    tx.commit().await?;
    let role = groups.iter().map(|g| g.2).max().unwrap_or(Role::User);
    let me = Me {
        user: User::from_row(&u, &groups),
        tenant: TenantInfo { id: t.id, account: t.account, name: t.name, time_zone },
        role,
        supervisor: role.is_admin() || in_supervisor_group,
        csrf,
    };
    Ok((jar, me))
}
