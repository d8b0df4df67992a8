//! `/events`: the app's WebSocket. Each socket belongs to one signed-in user; it carries only that
//! user's tenant's events (the Redis channel is derived from the session, never from the client),
//! and admin-only events (trunk status) only to administrators and sub-administrators. Sockets are
//! capped and closed when their session ends or the user's access changes (`crate::sockets`).

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::StreamExt;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::routes::crm::Masking;
use crate::sockets::{Kind, Registration};
use crate::AppState;

/// The Redis pub/sub channel of a tenant's events (replicas fan out through it).
pub fn tenant_channel(tenant: callbase_core::TenantId) -> String {
    format!("cb:events:tenant:{tenant}")
}

/// Event types only admins receive.
const ADMIN_ONLY: [&str; 2] = ["trunk_status", "security_alert"];

pub async fn events(
    State(st): State<AppState>,
    headers: HeaderMap,
    cu: CurrentUser,
    ws: WebSocketUpgrade,
) -> ApiResult<Response> {
    // Browsers always send Origin on WebSocket upgrades; a foreign one is a cross-site hijack.
    if !crate::auth::same_origin(&headers, &st.cfg.http.allowed_origins()) || headers.get("origin").is_none()
    {
        return Err(ApiError::Csrf("bad_origin"));
    }
    // The cap first: a refused socket holds no Redis subscription. The lease also snapshots the
    // user's revocation epoch, so the role and masking are read again after it: a change racing
    // the opening is caught by the socket's first check.
    let reg = match st.sockets.open(Kind::Events, cu.tenant_id, cu.user_id, &cu.session_token).await? {
        Ok(reg) => reg,
        Err(refused) => return Ok(crate::sockets::refuse(ws, refused)),
    };
    let cu = current(&st, cu).await?;
    let mut pubsub = st.redis_client.get_async_pubsub().await?;
    pubsub.subscribe(tenant_channel(cu.tenant_id)).await?;
    let is_admin = cu.role.is_admin();
    let user = cu.user_id.0;
    let masking = masking_of(&st, &cu).await?;
    Ok(ws.on_upgrade(move |socket| forward(socket, pubsub, st, cu, is_admin, user, masking, reg)))
}

/// The user's groups and role as they are now.
async fn current(st: &AppState, mut cu: CurrentUser) -> ApiResult<CurrentUser> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let user = callbase_db::accounts::user_by_id(&mut tx, cu.tenant_id, cu.user_id).await?;
    let user = user.filter(|u| !u.disabled).ok_or(ApiError::Unauthenticated)?;
    cu.groups = callbase_db::accounts::user_groups(&mut tx, cu.tenant_id, cu.user_id).await?;
    tx.commit().await?;
    cu.role = cu.groups.iter().map(|g| g.2).max().unwrap_or(callbase_core::Role::User);
    cu.user = user;
    Ok(cu)
}

async fn masking_of(st: &AppState, cu: &CurrentUser) -> ApiResult<Option<Masking>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let m = crate::routes::crm::masking_for(&mut tx, cu).await?;
    tx.commit().await?;
    Ok(m)
}

/// Published to the tenant's channel when the masking settings change: every socket asks again.
pub const SETTINGS_CHANGED: &str = "crm_settings";

#[allow(clippy::too_many_arguments)]
async fn forward(
    mut socket: WebSocket,
    pubsub: redis::aio::PubSub,
    st: AppState,
    cu: CurrentUser,
    is_admin: bool,
    user: i64,
    mut masking: Option<Masking>,
    mut reg: Registration,
) {
    let mut messages = pubsub.into_on_message();
    // The role and group-based masking are fixed for the socket's life: when they change (or the
    // session ends) the socket is closed, and the client reconnects with what it may see now.
    let sockets = st.sockets.clone();
    let supervise = sockets.supervise(&mut reg);
    tokio::pin!(supervise);
    loop {
        tokio::select! {
            why = &mut supervise => {
                let _ = socket.send(Message::Close(Some(CloseFrame { code: why.code, reason: why.reason.into() }))).await;
                break;
            }
            msg = messages.next() => {
                let Some(msg) = msg else { break };
                let Ok(payload) = msg.get_payload::<String>() else { continue };
                if payload.contains(SETTINGS_CHANGED) && serde_json::from_str::<serde_json::Value>(&payload).is_ok_and(|v| v["type"] == SETTINGS_CHANGED) {
                    // Until it knows the new settings, the socket masks (fails closed).
                    masking = match masking_of(&st, &cu).await {
                        Ok(m) => m,
                        Err(_) => Some(Masking { mode: callbase_core::crm::MaskMode::Hidden, chars: 15 }),
                    };
                    continue;
                }
                if !is_admin && is_admin_only(&payload) {
                    continue;
                }
                if !addressed_to(&payload, user) {
                    continue;
                }
                let payload = match &masking {
                    Some(m) => mask_numbers(&payload, m),
                    None => payload,
                };
                if socket.send(Message::Text(payload.into())).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                _ => {}
            },
        }
    }
}

/// The event as a masked user may see it: every number it carries masked. (A change of the masking
/// settings is read again at once, on the `crm_settings` event; a change of the user's groups
/// closes the socket.)
fn mask_numbers(payload: &str, m: &Masking) -> String {
    let Ok(mut v) = serde_json::from_str::<serde_json::Value>(payload) else { return payload.to_string() };
    if let Some(o) = v.as_object_mut() {
        for key in ["number", "from", "to", "target"] {
            if let Some(serde_json::Value::String(n)) = o.get(key) {
                let masked = m.apply(n);
                o.insert(key.to_string(), serde_json::Value::String(masked));
            }
        }
    }
    v.to_string()
}

fn is_admin_only(payload: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(payload)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(|t| ADMIN_ONLY.contains(&t)))
        .unwrap_or(true)
}

/// Events with a `user_ids` list go only to those users (e.g. a call's agents); others go to the
/// whole tenant.
fn addressed_to(payload: &str, user: i64) -> bool {
    match serde_json::from_str::<serde_json::Value>(payload).ok().and_then(|v| v.get("user_ids").cloned()) {
        Some(serde_json::Value::Array(ids)) => ids.iter().any(|i| i.as_i64() == Some(user)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::{addressed_to, is_admin_only, mask_numbers};
    use crate::routes::crm::Masking;
    use callbase_core::crm::MaskMode;

    #[test]
    fn masked_users_get_masked_numbers() {
        let m = Masking { mode: MaskMode::Prefix, chars: 6 };
        let out = mask_numbers(r#"{"type":"call","number":"+79161234567","did":null}"#, &m);
        assert!(out.contains("******234567") && !out.contains("+7916"), "{out}");
    }

    #[test]
    fn events_with_an_audience_reach_only_it() {
        assert!(addressed_to(r#"{"type":"call","user_ids":[3,4]}"#, 4));
        assert!(!addressed_to(r#"{"type":"call","user_ids":[3,4]}"#, 5));
        assert!(addressed_to(r#"{"type":"trunk_status"}"#, 5));
    }

    #[test]
    fn unknown_or_admin_events_stay_with_admins() {
        assert!(is_admin_only(r#"{"type":"trunk_status"}"#));
        assert!(is_admin_only("not json"));
        assert!(!is_admin_only(r#"{"type":"call_ringing"}"#));
    }
}
