//! Queues (issue #19, item 1) and each trunk's first step (item 3): administrators create queues
//! with their members, strategy, times and overflow, and choose for each trunk (its DID) where an
//! inbound call goes first — ring everyone, a queue, or one user. The call control is
//! `callbase_telephony::call::queue`; the board shows each queue's figures.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use callbase_db::queues::{self as repo, Member, QueueFields, QueueRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::TelephonyOn;
use crate::json::ApiJson;
use crate::routes::audit::Actor;
use crate::AppState;

const STRATEGIES: [&str; 4] = ["ring_all", "longest_idle", "round_robin", "fewest_calls"];
const OVERFLOWS: [&str; 3] = ["missed", "voicemail", "forward"];

#[derive(Debug, Serialize, ToSchema)]
pub struct Queue {
    pub id: i64,
    pub name: String,
    /// `ring_all`, `longest_idle`, `round_robin` or `fewest_calls`.
    pub strategy: String,
    /// How long one member rings before the next try.
    pub ring_secs: i16,
    /// After this long waiting, the caller goes to the overflow.
    pub max_wait_secs: i32,
    /// A caller who finds this many waiting goes to the overflow at once.
    pub max_callers: i16,
    /// Waiting callers hear their place in line.
    pub announce_position: bool,
    /// The service level counts calls answered within this many seconds.
    pub service_level_secs: i16,
    /// `missed`, `voicemail` (a message for the queue's members) or `forward` (to `overflow_number`).
    pub overflow: String,
    pub overflow_number: Option<String>,
    /// Waiting callers may press 1 to be called back (they hang up and keep their place).
    pub callback: bool,
    pub members: Vec<Member>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct QueueBody {
    pub name: String,
    pub strategy: String,
    #[serde(default = "default_ring")]
    pub ring_secs: i64,
    #[serde(default = "default_wait")]
    pub max_wait_secs: i64,
    #[serde(default = "default_callers")]
    pub max_callers: i64,
    #[serde(default = "default_true")]
    pub announce_position: bool,
    #[serde(default = "default_sl")]
    pub service_level_secs: i64,
    #[serde(default = "default_overflow")]
    pub overflow: String,
    #[serde(default)]
    pub overflow_number: Option<String>,
    #[serde(default)]
    pub callback: bool,
    /// `{"user": 12}` or `{"group": 3}`: at least one.
    pub members: Vec<Member>,
}

fn default_ring() -> i64 {
    20
}
fn default_wait() -> i64 {
    300
}
fn default_callers() -> i64 {
    20
}
fn default_true() -> bool {
    true
}
fn default_sl() -> i64 {
    20
}
fn default_overflow() -> String {
    "missed".into()
}

fn out(q: QueueRow, all: &[(i64, Member)]) -> Queue {
    Queue {
        members: all.iter().filter(|(id, _)| *id == q.id).map(|(_, m)| *m).collect(),
        id: q.id,
        name: q.name,
        strategy: q.strategy,
        ring_secs: q.ring_secs,
        max_wait_secs: q.max_wait_secs,
        max_callers: q.max_callers,
        announce_position: q.announce_position,
        service_level_secs: q.service_level_secs,
        overflow: q.overflow,
        overflow_number: q.overflow_number,
        callback: q.callback,
    }
}

fn bad(code: &'static str, msg: impl Into<String>) -> ApiError {
    ApiError::unprocessable(code, msg)
}

/// Checks a queue body, field by field (each error names its field): the fields to save.
async fn check(
    tx: &mut callbase_db::Tx,
    tenant: callbase_core::TenantId,
    b: &QueueBody,
) -> ApiResult<QueueFields> {
    let name = b.name.trim();
    if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
        return Err(bad("invalid_name", "name: 1 to 60 characters"));
    }
    if !STRATEGIES.contains(&b.strategy.as_str()) {
        return Err(bad("invalid_strategy", format!("strategy: one of {}", STRATEGIES.join(", "))));
    }
    let range = |v: i64, lo: i64, hi: i64, field: &str, code: &'static str| {
        if (lo..=hi).contains(&v) {
            Ok(())
        } else {
            Err(bad(code, format!("{field}: {lo} to {hi}")))
        }
    };
    range(b.ring_secs, 5, 120, "ring_secs", "invalid_ring_secs")?;
    range(b.max_wait_secs, 10, 7200, "max_wait_secs", "invalid_max_wait")?;
    range(b.max_callers, 1, 500, "max_callers", "invalid_max_callers")?;
    range(b.service_level_secs, 5, 600, "service_level_secs", "invalid_service_level")?;
    if !OVERFLOWS.contains(&b.overflow.as_str()) {
        return Err(bad("invalid_overflow", format!("overflow: one of {}", OVERFLOWS.join(", "))));
    }
    let number = b.overflow_number.as_deref().map(str::trim).filter(|n| !n.is_empty());
    let overflow_number = match (b.overflow.as_str(), number) {
        ("forward", None) => {
            return Err(bad("invalid_overflow_number", "overflow_number: the number to forward to"));
        }
        ("forward", Some(n)) => {
            let rules = callbase_db::settings::dial_rules(tx, tenant).await?;
            if let Err(refusal) = rules.route(n, |_| false) {
                return Err(bad("invalid_overflow_number", format!("overflow_number: refused — {refusal}")));
            }
            Some(n.to_string())
        }
        _ => None,
    };
    if b.members.is_empty() {
        return Err(bad("no_members", "members: a queue needs at least one user or access group"));
    }
    if b.members.len() > repo::MAX_MEMBERS {
        return Err(bad("too_many_members", format!("members: at most {}", repo::MAX_MEMBERS)));
    }
    if let Some(i) = repo::unknown_members(tx, tenant, &b.members).await?.first() {
        return Err(bad("unknown_member", format!("members[{i}]: no such telephony user or access group")));
    }
    Ok(QueueFields {
        name: name.to_string(),
        strategy: b.strategy.clone(),
        ring_secs: b.ring_secs as i16,
        max_wait_secs: b.max_wait_secs as i32,
        max_callers: b.max_callers as i16,
        announce_position: b.announce_position,
        service_level_secs: b.service_level_secs as i16,
        overflow: b.overflow.clone(),
        overflow_number,
        callback: b.callback,
    })
}

/// The tenant's queues (administrators).
#[utoipa::path(get, path = "/api/telephony/queues", tag = "telephony",
    responses((status = 200, body = [Queue]), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
) -> ApiResult<Json<Vec<Queue>>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let queues = repo::list(&mut tx, a.tenant_id).await?;
    let members = repo::members(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(queues.into_iter().map(|q| out(q, &members)).collect()))
}

/// Creates a queue: 422 naming the field (`invalid_name`, `invalid_strategy`, `invalid_ring_secs`,
/// `invalid_max_wait`, `invalid_max_callers`, `invalid_service_level`, `invalid_overflow`,
/// `invalid_overflow_number`, `no_members`, `too_many_members`, `unknown_member`,
/// `too_many_queues`); 409 `duplicate_name`.
#[utoipa::path(post, path = "/api/telephony/queues", tag = "telephony", request_body = QueueBody,
    responses((status = 201, body = Queue), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    who: Actor,
    ApiJson(b): ApiJson<QueueBody>,
) -> ApiResult<(StatusCode, Json<Queue>)> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let f = check(&mut tx, a.tenant_id, &b).await?;
    if repo::count(&mut tx, a.tenant_id).await? >= repo::MAX_QUEUES {
        return Err(bad("too_many_queues", format!("a tenant has at most {} queues", repo::MAX_QUEUES)));
    }
    let Some(id) = repo::create(&mut tx, a.tenant_id, &f, &b.members).await? else {
        return Err(ApiError::conflict("duplicate_name", format!("name: a queue named {} exists", f.name)));
    };
    let q = saved(&mut tx, a.tenant_id, id).await?;
    tx.commit().await?;
    crate::routes::audit::record(&st, &who, "queue.create", &id.to_string(), None, None).await?;
    Ok((StatusCode::CREATED, Json(q)))
}

async fn saved(tx: &mut callbase_db::Tx, tenant: callbase_core::TenantId, id: i64) -> ApiResult<Queue> {
    let row = repo::get(tx, tenant, id).await?.ok_or(ApiError::NotFound)?;
    let members = repo::members(tx, tenant).await?;
    Ok(out(row, &members))
}

/// Changes a queue (the same checks as creating one); callers waiting keep their place.
#[utoipa::path(put, path = "/api/telephony/queues/{id}", tag = "telephony", request_body = QueueBody, params(("id" = i64, Path)),
    responses((status = 200, body = Queue), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    who: Actor,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<QueueBody>,
) -> ApiResult<Json<Queue>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    if repo::get(&mut tx, a.tenant_id, id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    let f = check(&mut tx, a.tenant_id, &b).await?;
    match repo::update(&mut tx, a.tenant_id, id, &f, &b.members).await? {
        None => return Err(ApiError::NotFound),
        Some(false) => {
            return Err(ApiError::conflict(
                "duplicate_name",
                format!("name: a queue named {} exists", f.name),
            ))
        }
        Some(true) => {}
    }
    let q = saved(&mut tx, a.tenant_id, id).await?;
    tx.commit().await?;
    crate::routes::audit::record(&st, &who, "queue.update", &id.to_string(), None, None).await?;
    Ok(Json(q))
}

/// Deletes a queue. Trunks that sent their calls to it ring everyone from now on, and
/// `GET /api/telephony/first-steps` marks them `gone` until an administrator chooses again.
#[utoipa::path(delete, path = "/api/telephony/queues/{id}", tag = "telephony", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    who: Actor,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    if !repo::delete(&mut tx, a.tenant_id, id).await? {
        return Err(ApiError::NotFound);
    }
    tx.commit().await?;
    crate::routes::audit::record(&st, &who, "queue.delete", &id.to_string(), None, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FirstStep {
    /// The trunk's id.
    pub id: i64,
    pub slot: i16,
    pub label: String,
    /// The trunk's number (its DID), when set.
    pub number: Option<String>,
    /// `ring_all`, `queue`, `user` or `menu`.
    pub step: String,
    pub queue_id: Option<i64>,
    pub user_id: Option<i64>,
    pub menu_id: Option<i64>,
    /// The chosen queue, user or menu is gone (deleted, or no longer a telephony user): calls ring
    /// everyone until an administrator chooses again.
    pub gone: bool,
}

/// Where each trunk's inbound calls go first (administrators).
#[utoipa::path(get, path = "/api/telephony/first-steps", tag = "telephony",
    responses((status = 200, body = [FirstStep]), (status = 403, body = ErrorBody)))]
pub async fn first_steps(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
) -> ApiResult<Json<Vec<FirstStep>>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let trunks = callbase_db::trunks::list(&mut tx, a.tenant_id).await?;
    let users = callbase_db::telephony::list_users(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(
        trunks
            .into_iter()
            .map(|t| {
                let gone = match t.first_step.as_str() {
                    "queue" => t.first_queue_id.is_none(),
                    "menu" => t.first_menu_id.is_none(),
                    "user" => !t.first_user_id.is_some_and(|u| users.iter().any(|r| r.user_id.0 == u)),
                    _ => false,
                };
                FirstStep {
                    id: t.id,
                    slot: t.slot,
                    label: t.label,
                    number: t.number,
                    step: t.first_step,
                    queue_id: t.first_queue_id,
                    user_id: t.first_user_id,
                    menu_id: t.first_menu_id,
                    gone,
                }
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct FirstStepBody {
    /// `ring_all`, `queue` (with `queue_id`), `user` (with `user_id`) or `menu` (with `menu_id`).
    pub step: String,
    #[serde(default)]
    pub queue_id: Option<i64>,
    #[serde(default)]
    pub user_id: Option<i64>,
    #[serde(default)]
    pub menu_id: Option<i64>,
}

/// Chooses where the trunk's inbound calls go first: 422 `invalid_first_step` naming the field
/// (an unknown step, a queue, user or menu that is not the tenant's); 404 when there is no such trunk.
#[utoipa::path(put, path = "/api/telephony/first-steps/{id}", tag = "telephony", request_body = FirstStepBody, params(("id" = i64, Path, description = "the trunk's id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_first_step(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    who: Actor,
    Path(trunk): Path<i64>,
    ApiJson(b): ApiJson<FirstStepBody>,
) -> ApiResult<StatusCode> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    if callbase_db::trunks::get(&mut tx, a.tenant_id, trunk).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    let (queue, user, menu) = match b.step.as_str() {
        "ring_all" => (None, None, None),
        "queue" => {
            let q = match b.queue_id {
                Some(id) => repo::get(&mut tx, a.tenant_id, id).await?,
                None => None,
            };
            let q = q.ok_or_else(|| bad("invalid_first_step", "queue_id: no such queue"))?;
            (Some(q.id), None, None)
        }
        "user" => {
            let u = match b.user_id {
                Some(id) => {
                    callbase_db::telephony::get_user(&mut tx, a.tenant_id, callbase_core::UserId(id)).await?
                }
                None => None,
            };
            let u = u.ok_or_else(|| bad("invalid_first_step", "user_id: no such telephony user"))?;
            (None, Some(u.user_id.0), None)
        }
        "menu" => {
            let m = match b.menu_id {
                Some(id) => callbase_db::menus::get(&mut tx, a.tenant_id, id).await?,
                None => None,
            };
            let m = m.ok_or_else(|| bad("invalid_first_step", "menu_id: no such menu"))?;
            (None, None, Some(m.id))
        }
        _ => return Err(bad("invalid_first_step", "step: ring_all, queue, user or menu")),
    };
    if !repo::set_first_step(&mut tx, a.tenant_id, trunk, &b.step, (queue, user, menu)).await? {
        return Err(ApiError::NotFound);
    }
    tx.commit().await?;
    let detail = serde_json::json!({"step": b.step, "queue_id": queue, "user_id": user, "menu_id": menu});
    crate::routes::audit::record(&st, &who, "trunk.first_step", &trunk.to_string(), Some(detail), None)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
