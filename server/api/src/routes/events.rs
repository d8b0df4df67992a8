//! `/events`: the app's WebSocket. Each socket belongs to one signed-in user; it carries only that
//! user's tenant's events (the Redis channel is derived from the session, never from the client),
//! and admin-only events (trunk status) only to administrators and sub-administrators. Sockets are
//! capped and closed when their session ends or the user's access changes (`crate::sockets`).

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use callbase_core::events::{Audience, Event};
use callbase_core::UserId;
use callbase_crm::view::Masking;

use tokio::sync::broadcast::error::RecvError;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::hub::Feed;
use crate::sockets::{Kind, Registration};
use crate::AppState;

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
    st.drain.refuse_new_socket()?;
    // The cap first: a refused socket takes no place in the replica's fan-out. The lease also snapshots the
    // user's revocation epoch, so the role and masking are read again after it: a change racing
    // the opening is caught by the socket's first check.
    let reg = match st.sockets.open(Kind::Events, cu.tenant_id, cu.user_id, &cu.session_token).await? {
        Ok(reg) => reg,
        Err(refused) => return Ok(crate::sockets::refuse(ws, refused)),
    };
    let (cu, supervisor) = current(&st, cu).await?;
    let viewer = Viewer { user: cu.user_id, admin: cu.role.is_admin(), supervisor };
    let feed = st.hub.subscribe(cu.tenant_id);
    let masking = masking_of(&st, &cu).await?;
    let drain = st.drain.clone();
    Ok(ws
        .read_buffer_size(READ_BUFFER)
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| drain.track(forward(socket, feed, st, cu, viewer, masking, reg))))
}

/// The socket's read buffer. tungstenite's default (128 KiB) is zero-filled before the first read,
/// so every idle socket kept 128 KiB resident (`./infra/bench sockets`: 139 KB per socket, 15 KB
/// with this one); a browser sends nothing here but its close frame and pongs.
const READ_BUFFER: usize = 4 * 1024;
/// Larger messages from a browser (which sends none) end the socket instead of being buffered
/// (tungstenite's default: 64 MiB).
const MAX_MESSAGE: usize = 64 * 1024;

/// The user's groups and role as they are now, and whether the user supervises (an administrator,
/// a sub-administrator or a member of a supervisor group).
async fn current(st: &AppState, mut cu: CurrentUser) -> ApiResult<(CurrentUser, bool)> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let user = callbase_db::accounts::user_by_id(&mut tx, cu.tenant_id, cu.user_id).await?;
    let user = user.filter(|u| !u.disabled).ok_or(ApiError::Unauthenticated)?;
    cu.groups = callbase_db::accounts::user_groups(&mut tx, cu.tenant_id, cu.user_id).await?;
    let in_supervisor_group = callbase_db::accounts::supervises(&mut tx, cu.tenant_id, cu.user_id).await?;
    tx.commit().await?;
    cu.role = cu.groups.iter().map(|g| g.2).max().unwrap_or(callbase_core::Role::User);
    cu.user = user;
    let supervisor = cu.role.is_admin() || in_supervisor_group;
    Ok((cu, supervisor))
}

/// The masking of the user's groups as they are now (the CRM's view).
async fn masking_of(st: &AppState, cu: &CurrentUser) -> ApiResult<Option<Masking>> {
    let groups: Vec<_> = cu.groups.iter().map(|g| g.0).collect();
    Ok(callbase_crm::view::masking(&st.db, cu.tenant_id, &groups).await?)
}

/// Close code telling the browser to reconnect and reload (events were lost): 1012, "service
/// restart" (RFC 6455 registry).
const RESYNC: u16 = 1012;

async fn forward(
    mut socket: WebSocket,
    feed: Feed,
    st: AppState,
    cu: CurrentUser,
    viewer: Viewer,
    mut masking: Option<Masking>,
    mut reg: Registration,
) {
    let Feed { events: mut messages, mut resync } = feed;
    // The role and group-based masking are fixed for the socket's life: when they change (or the
    // session ends) the socket is closed, and the client reconnects with what it may see now.
    let sockets = st.sockets.clone();
    let supervise = sockets.supervise(&mut reg);
    tokio::pin!(supervise);
    let going_away = st.drain.closing();
    tokio::pin!(going_away);
    loop {
        tokio::select! {
            _ = &mut going_away => {
                // This replica stops: the browser reconnects through another one and reloads.
                let (code, reason) = crate::drain::GOING_AWAY;
                let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
                break;
            }
            why = &mut supervise => {
                let _ = socket.send(Message::Close(Some(CloseFrame { code: why.code, reason: why.reason.into() }))).await;
                break;
            }
            _ = resync.changed() => {
                // Events were lost on the way to this replica: the browser reloads what it shows.
                let _ = socket.send(Message::Close(Some(CloseFrame { code: RESYNC, reason: "events_resync".into() }))).await;
                break;
            }
            msg = messages.recv() => {
                let event = match msg {
                    Ok(ev) => ev,
                    Err(RecvError::Lagged(n)) => {
                        tracing::info!(missed = n, "an events socket fell behind: it resyncs");
                        let _ = socket.send(Message::Close(Some(CloseFrame { code: RESYNC, reason: "events_resync".into() }))).await;
                        break;
                    }
                    Err(RecvError::Closed) => break,
                };
                if matches!(*event, Event::CrmSettings) {
                    // Until it knows the new settings, the socket masks (fails closed).
                    masking = match masking_of(&st, &cu).await {
                        Ok(m) => m,
                        Err(_) => Some(callbase_crm::view::FAIL_CLOSED),
                    };
                    continue;
                }
                if !viewer.receives(&event.audience()) {
                    continue;
                }
                let payload = event.to_json_masked(masking);
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

/// Who a socket belongs to, as far as event audiences go (fixed for the socket's life: a change of
/// role or group closes it).
#[derive(Debug, Clone, Copy)]
struct Viewer {
    user: UserId,
    /// An administrator or sub-administrator.
    admin: bool,
    /// Sees the presence board: an administrator, sub-administrator or supervisor-group member.
    supervisor: bool,
}

impl Viewer {
    /// Whether this socket receives an event for `audience`.
    fn receives(&self, audience: &Audience) -> bool {
        match audience {
            Audience::Users(ids) => ids.contains(&self.user),
            Audience::Admins => self.admin,
            Audience::Supervisors => self.supervisor,
            Audience::UserAndSupervisors(u) => self.supervisor || *u == self.user,
            Audience::Everyone => true,
            Audience::Servers => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Viewer;
    use callbase_core::events::Audience;
    use callbase_core::UserId;

    fn agent(id: i64) -> Viewer {
        Viewer { user: UserId(id), admin: false, supervisor: false }
    }

    fn admin(id: i64) -> Viewer {
        Viewer { user: UserId(id), admin: true, supervisor: true }
    }

    fn supervisor(id: i64) -> Viewer {
        Viewer { user: UserId(id), admin: false, supervisor: true }
    }

    #[test]
    fn events_with_an_audience_reach_only_it() {
        let call = Audience::Users(vec![UserId(3), UserId(4)]);
        assert!(agent(4).receives(&call));
        assert!(!admin(5).receives(&call), "not even an administrator outside the call");
        assert!(!supervisor(5).receives(&call), "nor a supervisor: the board has its own events");
        assert!(!admin(5).receives(&Audience::Users(vec![])));
    }

    #[test]
    fn admin_events_stay_with_admins_and_server_events_with_servers() {
        assert!(admin(1).receives(&Audience::Admins));
        assert!(!agent(1).receives(&Audience::Admins));
        assert!(!supervisor(1).receives(&Audience::Admins), "supervisors see the board, not trunks");
        assert!(!admin(1).receives(&Audience::Servers));
    }

    #[test]
    fn board_events_reach_supervisors_and_the_agent_concerned() {
        assert!(supervisor(1).receives(&Audience::Supervisors));
        assert!(admin(1).receives(&Audience::Supervisors));
        assert!(!agent(1).receives(&Audience::Supervisors));
        let state = Audience::UserAndSupervisors(UserId(7));
        assert!(agent(7).receives(&state));
        assert!(supervisor(1).receives(&state));
        assert!(!agent(8).receives(&state));
    }
}
