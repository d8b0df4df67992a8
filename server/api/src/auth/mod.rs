//! Authentication and request protection: sessions, CSRF, the current-user extractors.

pub mod api_key;
pub mod device;
pub mod password;
pub mod session;
pub mod throttle;
pub mod two_factor;

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use callbase_core::{GroupId, Role, TenantId, UserId};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::AppState;
pub use session::SessionData;

pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_COOKIE: &str = "cb_csrf";

/// The session cookie's name: `__Host-` prefixed when served over HTTPS, which pins it to this
/// exact origin (no Domain, Path=/, Secure).
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-cb_session"
    } else {
        "cb_session"
    }
}

pub fn session_cookie(secure: bool, token: String) -> Cookie<'static> {
    let mut c = Cookie::new(session_cookie_name(secure), token);
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_path("/");
    c.set_secure(secure);
    c
}

pub fn removal_cookie(secure: bool) -> Cookie<'static> {
    let mut c = session_cookie(secure, String::new());
    c.make_removal();
    c
}

/// The double-submit CSRF cookie: readable by the page's JS (not HttpOnly), strict same-site.
pub fn csrf_cookie(secure: bool, token: String) -> Cookie<'static> {
    let mut c = Cookie::new(CSRF_COOKIE, token);
    c.set_http_only(false);
    c.set_same_site(SameSite::Strict);
    c.set_path("/");
    c.set_secure(secure);
    c
}

/// The live session of the request, put into request extensions by [`protect`].
#[derive(Clone)]
pub struct SessionCtx {
    pub token: String,
    pub data: SessionData,
}

pub(crate) fn same_origin(headers: &HeaderMap, allowed: &[String]) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    // Browsers send exactly one Origin on every unsafe method; with none, the token check below
    // still applies. Every value present must be ours (a duplicated header is not a loophole).
    headers.get_all(header::ORIGIN).iter().all(|o| {
        let Ok(origin) = o.to_str() else { return false };
        allowed.iter().any(|a| a == origin)
            || (!host.is_empty()
                && (origin == format!("http://{host}") || origin == format!("https://{host}")))
    })
}

/// Middleware on `/api` (but `/api/v1`): loads the session (if any) and enforces CSRF on state-changing methods:
/// a foreign `Origin` is refused, and `X-CSRF-Token` must match the `cb_csrf` cookie and, with a
/// session, the token bound to it.
pub async fn protect(State(st): State<AppState>, jar: CookieJar, mut req: Request, next: Next) -> Response {
    // The public API authenticates by API key only (`api_key.rs`): no session, no CSRF.
    if req.uri().path().starts_with("/api/v1/") {
        return next.run(req).await;
    }
    let secure = st.cfg.auth.cookie_secure;
    let mut session = None;
    if let Some(token) = jar.get(session_cookie_name(secure)).map(|c| c.value().to_string()) {
        match st.sessions.get(&token).await {
            Ok(Some(data)) => session = Some(SessionCtx { token, data }),
            Ok(None) => {}
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method {
        if !same_origin(req.headers(), &st.cfg.http.allowed_origins()) {
            return ApiError::Csrf("bad_origin").into_response();
        }
        let header = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
        let cookie = jar.get(CSRF_COOKIE).map(|c| c.value()).unwrap_or("");
        let matches_cookie = !header.is_empty() && bool::from(header.as_bytes().ct_eq(cookie.as_bytes()));
        let matches_session =
            session.as_ref().is_none_or(|s| bool::from(header.as_bytes().ct_eq(s.data.csrf.as_bytes())));
        if !(matches_cookie && matches_session) {
            return ApiError::Csrf("csrf").into_response();
        }
    }
    if let Some(s) = session {
        req.extensions_mut().insert(s);
    }
    let mut resp = next.run(req).await;
    // Hand every API client a CSRF cookie on its first GET, so the SPA never has to ask.
    if !unsafe_method && jar.get(CSRF_COOKIE).is_none() && !resp.headers().contains_key(header::SET_COOKIE) {
        let c = csrf_cookie(secure, session::random_token());
        if let Ok(v) = c.encoded().to_string().parse() {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// The authenticated user of a request, with their effective role. Extracting it answers 401 when
/// there is no live session and ends the sessions of a user who was disabled meanwhile.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub role: Role,
    pub groups: Vec<(GroupId, String, Role)>,
    pub user: callbase_db::accounts::UserRow,
    pub csrf: String,
    pub session_token: String,
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(cu) = parts.extensions.get::<CurrentUser>() {
            return Ok(cu.clone());
        }
        let ctx = parts.extensions.get::<SessionCtx>().cloned().ok_or(ApiError::Unauthenticated)?;
        let (tenant, uid) = (ctx.data.tenant_id, ctx.data.user_id);
        let mut tx = st.db.tenant_tx(tenant).await?;
        let user = callbase_db::accounts::user_by_id(&mut tx, tenant, uid).await?;
        let Some(user) = user.filter(|u| !u.disabled) else {
            st.sessions.delete_all_for(tenant, uid).await?;
            return Err(ApiError::Unauthenticated);
        };
        let groups = callbase_db::accounts::user_groups(&mut tx, tenant, uid).await?;
        tx.commit().await?;
        let role = groups.iter().map(|g| g.2).max().unwrap_or(Role::User);
        let cu = CurrentUser {
            tenant_id: tenant,
            user_id: uid,
            role,
            groups,
            user,
            csrf: ctx.data.csrf,
            session_token: ctx.token,
        };
        parts.extensions.insert(cu.clone());
        Ok(cu)
    }
}

/// A current user who is an administrator or sub-administrator; 403 for everyone else.
pub struct AdminUser(pub CurrentUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let cu = CurrentUser::from_request_parts(parts, st).await?;
        if !cu.role.is_admin() {
            return Err(ApiError::Forbidden);
        }
        if two_factor::setup_required(st, &cu).await? {
            return Err(ApiError::forbidden_code(
                "two_factor_setup_required",
                "your organisation requires two-factor sign-in of administrators: set it up on the Security page first",
            ));
        }
        Ok(AdminUser(cu))
    }
}

/// The client's IP: the socket peer, or the first `X-Forwarded-For` hop when the server is
/// configured to sit behind a trusted proxy.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        if st.cfg.http.trust_forwarded_for {
            let fwd = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok());
            if let Some(ip) = fwd {
                return Ok(ClientIp(ip));
            }
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        Ok(ClientIp(peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn origin_must_match_host_or_allow_list() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&h, &[]), "no Origin header: left to the token check");
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&h, &[]));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://evil.example"));
        assert!(!same_origin(&h, &[]));
        assert!(same_origin(&h, &["http://evil.example".to_string()]));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        h.append(header::ORIGIN, HeaderValue::from_static("http://evil.example"));
        assert!(!same_origin(&h, &[]), "a second, foreign Origin is refused");
    }
}
