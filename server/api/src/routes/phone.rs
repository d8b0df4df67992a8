//! The browser phone's session: a fresh WebRTC password per phone start, and whether Asterisk
//! really holds the phone's registration.

use axum::extract::State;
use axum::Json;
use callbase_db::telephony::TelUserRow;
use callbase_telephony::agents;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::TelephonyUser;
use crate::AppState;

/// The SIP domain the browser phone uses in its URIs (Asterisk matches endpoints by user part).
pub const SIP_DOMAIN: &str = "callbase";

/// The caller as a telephony user allowed to call from the browser, or 403 saying why not.
pub async fn browser_agent(st: &AppState, cu: &CurrentUser) -> ApiResult<TelUserRow> {
    browser_only(crate::extract::telephony_user(st, cu).await?)
}

/// 403 `browser_calls_off` for a telephony user whose phone is a desk phone.
fn browser_only(u: TelUserRow) -> ApiResult<TelUserRow> {
    if !u.browser_calls {
        return Err(ApiError::forbidden_code(
            "browser_calls_off",
            "calls in the browser are off for you: use your desk phone (see \"Set up your phone\")",
        ));
    }
    Ok(u)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneSession {
    /// Path of the SIP-over-WebSocket relay on this origin.
    pub ws_path: String,
    pub uri: String,
    pub authorization_user: String,
    /// A password valid until the next phone start; keep it in memory only.
    pub password: String,
    pub display_name: String,
    pub extension: String,
    /// `RTCIceServer`s for the phone's peer connections: TURN with credentials for this session
    /// (empty when the platform has no TURN server).
    pub ice_servers: Vec<serde_json::Value>,
    /// The tenant lets agents pause their call's recording (the phone offers it).
    pub recording_pause_allowed: bool,
    /// The SIP session interval (RFC 4028) the phone asks for in its calls, in seconds; it
    /// refreshes them with a re-INVITE at half of it.
    pub session_expires: u32,
}

/// Starts a browser phone: rotates the user's WebRTC endpoint password and returns what JsSIP
/// needs. The previous password stops working (a phone in another tab must start again).
#[utoipa::path(post, path = "/api/phone/session", tag = "phone", responses((status = 200, body = PhoneSession), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn session(
    State(st): State<AppState>,
    TelephonyUser { user: cu, tel }: TelephonyUser,
) -> ApiResult<Json<PhoneSession>> {
    let u = browser_only(tel)?;
    let id = agents::web_id(cu.tenant_id, u.user_id);
    let password = agents::generate_password();
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    // The endpoint rows follow the current state (e.g. created before the phone was first used).
    let (_, ids) = callbase_telephony::provision::apply(&mut tx, cu.tenant_id, u.user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    agents::set_web_password(&mut tx, cu.tenant_id, u.user_id, &password).await?;
    let pause = callbase_db::calls::settings::get(&mut tx, cu.tenant_id).await?.recording_pause_allowed;
    tx.commit().await?;
    let node = st.nodes.of_tenant(cu.tenant_id).await?;
    agents::expire_cached(node.ami.as_ref(), &ids).await;
    Ok(Json(PhoneSession {
        ws_path: "/sip".into(),
        uri: format!("sip:{id}@{SIP_DOMAIN}"),
        authorization_user: id,
        password,
        display_name: u.name,
        extension: u.extension,
        ice_servers: st.cfg.turn.ice_servers(
            &format!("t{}-u{}", cu.tenant_id.0, u.user_id.0),
            time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64,
        ),
        recording_pause_allowed: pause,
        session_expires: callbase_telephony::timers::session_expires(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneStatus {
    /// True only when Asterisk holds a contact for the user's browser phone.
    pub registered: bool,
}

/// Whether Asterisk has the browser phone's registration right now.
#[utoipa::path(get, path = "/api/phone/status", tag = "phone", responses((status = 200, body = PhoneStatus), (status = 403, body = ErrorBody)))]
pub async fn status(
    State(st): State<AppState>,
    TelephonyUser { user: cu, tel }: TelephonyUser,
) -> ApiResult<Json<PhoneStatus>> {
    let u = browser_only(tel)?;
    let id = agents::web_id(cu.tenant_id, u.user_id);
    let node = st.nodes.of_tenant(cu.tenant_id).await?;
    let registered = match agents::has_contact(node.ami.as_ref(), &node.ari, &id).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "ARI endpoint lookup failed");
            return Err(ApiError::Unavailable {
                code: "asterisk_unavailable",
                message: "cannot ask the phone service right now".into(),
            });
        }
    };
    Ok(Json(PhoneStatus { registered }))
}
