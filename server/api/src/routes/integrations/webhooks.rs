//! Webhook endpoints (issue #21): administrators add the URLs that get the account's events,
//! see every delivery and its attempts, replay one, rotate the signing secret. The same
//! operations serve the public API (`/api/v1/webhooks`, the `admin` scope): the functions below
//! take the tenant and the actor, the handlers only say who may call them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use callbase_core::TenantId;
use callbase_db::webhooks::{self as repo, EVENT_TYPES};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use crate::routes::audit::{record, Actor};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    /// `call.ringing`, `call.answered`, `call.ended`, `call.missed`, `recording.ready`,
    /// `crm.record.created`, `crm.record.changed`.
    pub events: Vec<String>,
    /// Phone numbers in payloads are masked as the account's masked groups see them.
    pub mask_numbers: bool,
    pub enabled: bool,
    /// Why it is off (an administrator, or sustained failure).
    pub disabled_reason: Option<String>,
    /// RFC 3339: the first failed attempt since the last success.
    pub failing_since: Option<String>,
    pub created_at: String,
}

fn rfc(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn out(e: repo::Endpoint) -> Webhook {
    Webhook {
        id: e.id,
        url: e.url,
        events: e.events,
        mask_numbers: e.mask_numbers,
        enabled: e.enabled,
        disabled_reason: e.disabled_reason,
        failing_since: e.failing_since.map(rfc),
        created_at: rfc(e.created_at),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://erp.example.com/hooks/callbase", "events": ["call.ended", "recording.ready"], "mask_numbers": false}))]
pub struct NewWebhook {
    /// https (unless the server allows http), not on a private, loopback or link-local address.
    pub url: String,
    pub events: Vec<String>,
    #[serde(default)]
    pub mask_numbers: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub mask_numbers: Option<bool>,
    /// `true` turns a disabled endpoint back on (its failure record starts afresh).
    pub enabled: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    pub webhook: Webhook,
    /// The signing secret (`whsec_…`, Standard Webhooks): shown this once.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedSecret {
    /// The new signing secret; the previous one keeps signing beside it for 24 hours.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Queued {
    /// The `webhook-id` of the queued message.
    pub message_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Attempt {
    pub at: String,
    /// The receiver's HTTP status; none when there was no answer.
    pub status: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    pub message_id: String,
    pub event_type: String,
    pub created_at: String,
    /// `pending` (waiting for its next attempt), `delivered`, `failed` (every retry failed).
    pub state: String,
    pub attempts: i32,
    pub next_try_at: Option<String>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub attempts_log: Vec<Attempt>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPage {
    pub deliveries: Vec<Delivery>,
    /// The cursor of the next (older) page: pass it as `before`; none at the end.
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// A page's `next`.
    pub before: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

fn events(ev: &[String]) -> ApiResult<Vec<String>> {
    if ev.is_empty() {
        return Err(ApiError::unprocessable("unknown_event", "choose at least one event"));
    }
    let mut out: Vec<String> = Vec::new();
    for e in ev {
        if !EVENT_TYPES.contains(&e.as_str()) {
            return Err(ApiError::unprocessable(
                "unknown_event",
                format!("unknown event {e:?}; the events are {}", EVENT_TYPES.join(", ")),
            ));
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    Ok(out)
}

fn target(st: &AppState, url: &str) -> ApiResult<String> {
    let c = &st.cfg.webhooks;
    callbase_hooks::target::check(url, c.require_https, c.allow_private_targets)
        .map(|u| u.to_string())
        .map_err(|e| ApiError::unprocessable(e.code(), e.to_string()))
}

pub async fn do_list(st: &AppState, tenant: TenantId) -> ApiResult<Vec<Webhook>> {
    let mut tx = st.db.tenant_tx(tenant).await?;
    let all = repo::list(&mut tx, tenant).await?;
    tx.commit().await?;
    Ok(all.into_iter().map(out).collect())
}

pub async fn do_create(st: &AppState, who: &Actor, b: NewWebhook) -> ApiResult<CreatedWebhook> {
    let events = events(&b.events)?;
    let url = target(st, &b.url)?;
    let secret = callbase_hooks::message::new_secret();
    let mut tx = st.db.tenant_tx(who.tenant).await?;
    if repo::count(&mut tx, who.tenant).await? >= repo::MAX_ENDPOINTS {
        return Err(ApiError::conflict(
            "too_many_webhooks",
            format!("an account has at most {} webhook endpoints", repo::MAX_ENDPOINTS),
        ));
    }
    let e = repo::create(&mut tx, who.tenant, &url, &events, b.mask_numbers, &secret).await?;
    tx.commit().await?;
    let after = json!({"id": e.id, "url": e.url, "events": e.events, "mask_numbers": e.mask_numbers});
    record(st, who, "webhook.create", &e.url, None, Some(after)).await?;
    Ok(CreatedWebhook { webhook: out(e), secret })
}

pub async fn do_patch(st: &AppState, who: &Actor, id: i64, b: WebhookPatch) -> ApiResult<Webhook> {
    let events = b.events.as_deref().map(events).transpose()?;
    let url = match b.url.as_deref() {
        Some(u) => Some(target(st, u)?),
        None => None,
    };
    let mut tx = st.db.tenant_tx(who.tenant).await?;
    let before = repo::get(&mut tx, who.tenant, id).await?.ok_or(ApiError::NotFound)?;
    let e =
        repo::update(&mut tx, who.tenant, id, url.as_deref(), events.as_deref(), b.mask_numbers, b.enabled)
            .await?
            .ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    let shape = |e: &repo::Endpoint| json!({"url": e.url, "events": e.events, "mask_numbers": e.mask_numbers, "enabled": e.enabled});
    record(st, who, "webhook.update", &e.url, Some(shape(&before)), Some(shape(&e))).await?;
    Ok(out(e))
}

pub async fn do_delete(st: &AppState, who: &Actor, id: i64) -> ApiResult<()> {
    let mut tx = st.db.tenant_tx(who.tenant).await?;
    let e = repo::get(&mut tx, who.tenant, id).await?.ok_or(ApiError::NotFound)?;
    repo::delete(&mut tx, who.tenant, id).await?;
    tx.commit().await?;
    record(st, who, "webhook.delete", &e.url, Some(json!({"id": id, "url": e.url})), None).await
}

pub async fn do_rotate(st: &AppState, who: &Actor, id: i64) -> ApiResult<RotatedSecret> {
    let secret = callbase_hooks::message::new_secret();
    let keep_until = OffsetDateTime::now_utc() + time::Duration::hours(24);
    let mut tx = st.db.tenant_tx(who.tenant).await?;
    let e = repo::get(&mut tx, who.tenant, id).await?.ok_or(ApiError::NotFound)?;
    repo::rotate(&mut tx, who.tenant, id, &secret, keep_until).await?;
    tx.commit().await?;
    record(st, who, "webhook.rotate_secret", &e.url, None, Some(json!({"id": id}))).await?;
    Ok(RotatedSecret { secret })
}

fn message_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

pub async fn do_test(st: &AppState, tenant: TenantId, id: i64) -> ApiResult<Queued> {
    let mut tx = st.db.tenant_tx(tenant).await?;
    repo::get(&mut tx, tenant, id).await?.ok_or(ApiError::NotFound)?;
    let mid = message_id();
    let payload = json!({"message": "a test event from callbase", "webhook_id": id});
    repo::enqueue_one(&mut tx, tenant, id, &mid, "ping", &payload).await?;
    tx.commit().await?;
    Ok(Queued { message_id: mid })
}

pub async fn do_deliveries(
    st: &AppState,
    tenant: TenantId,
    id: i64,
    q: DeliveryQuery,
) -> ApiResult<DeliveryPage> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::unprocessable("invalid_limit", "limit: 1 to 200"));
    }
    let before = match q.before.as_deref() {
        None | Some("") => None,
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| ApiError::unprocessable("invalid_cursor", "not a cursor of this list"))?,
        ),
    };
    let mut tx = st.db.tenant_tx(tenant).await?;
    repo::get(&mut tx, tenant, id).await?.ok_or(ApiError::NotFound)?;
    let (rows, attempts) = repo::deliveries(&mut tx, tenant, id, before, limit).await?;
    tx.commit().await?;
    let next = (rows.len() as i64 == limit).then(|| rows.last().map(|d| d.id.to_string())).flatten();
    let deliveries = rows
        .into_iter()
        .map(|d| Delivery {
            attempts_log: attempts
                .iter()
                .filter(|a| a.message == d.id)
                .map(|a| Attempt {
                    at: rfc(a.at),
                    status: a.status,
                    error: a.error.clone(),
                    duration_ms: a.duration_ms,
                })
                .collect(),
            message_id: d.message_id,
            event_type: d.event_type,
            created_at: rfc(d.created_at),
            state: d.state,
            attempts: d.attempts,
            next_try_at: d.next_try_at.map(rfc),
            last_status: d.last_status,
            last_error: d.last_error,
        })
        .collect();
    Ok(DeliveryPage { deliveries, next })
}

pub async fn do_replay(st: &AppState, who: &Actor, id: i64, message: &str) -> ApiResult<Queued> {
    let mut tx = st.db.tenant_tx(who.tenant).await?;
    if !repo::replay(&mut tx, who.tenant, id, message).await? {
        return Err(ApiError::NotFound);
    }
    tx.commit().await?;
    record(st, who, "webhook.replay", message, None, Some(json!({"id": id}))).await?;
    Ok(Queued { message_id: message.to_string() })
}

/// The account's webhook endpoints (administrators).
#[utoipa::path(get, path = "/api/integrations/webhooks", tag = "integrations",
    responses((status = 200, body = [Webhook]), (status = 403, body = ErrorBody)))]
pub async fn list(State(st): State<AppState>, AdminUser(a): AdminUser) -> ApiResult<Json<Vec<Webhook>>> {
    Ok(Json(do_list(&st, a.tenant_id).await?))
}

/// Adds an endpoint; its signing secret is in the answer only. 422 `invalid_url`, `insecure_url`,
/// `private_address`, `unknown_event`; 409 `too_many_webhooks`.
#[utoipa::path(post, path = "/api/integrations/webhooks", tag = "integrations", request_body = NewWebhook,
    responses((status = 201, body = CreatedWebhook), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(st): State<AppState>,
    _a: AdminUser,
    who: Actor,
    ApiJson(b): ApiJson<NewWebhook>,
) -> ApiResult<(StatusCode, Json<CreatedWebhook>)> {
    Ok((StatusCode::CREATED, Json(do_create(&st, &who, b).await?)))
}

/// Changes an endpoint (`enabled: true` turns a disabled one back on).
#[utoipa::path(patch, path = "/api/integrations/webhooks/{id}", tag = "integrations", params(("id" = i64, Path)), request_body = WebhookPatch,
    responses((status = 200, body = Webhook), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch(
    State(st): State<AppState>,
    _a: AdminUser,
    who: Actor,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<WebhookPatch>,
) -> ApiResult<Json<Webhook>> {
    Ok(Json(do_patch(&st, &who, id, b).await?))
}

/// Removes an endpoint and its queue.
#[utoipa::path(delete, path = "/api/integrations/webhooks/{id}", tag = "integrations", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(st): State<AppState>,
    _a: AdminUser,
    who: Actor,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    do_delete(&st, &who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret; the previous one keeps signing beside it for 24 hours.
#[utoipa::path(post, path = "/api/integrations/webhooks/{id}/rotate", tag = "integrations", params(("id" = i64, Path)),
    responses((status = 200, body = RotatedSecret), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rotate(
    State(st): State<AppState>,
    _a: AdminUser,
    who: Actor,
    Path(id): Path<i64>,
) -> ApiResult<Json<RotatedSecret>> {
    Ok(Json(do_rotate(&st, &who, id).await?))
}

/// Queues a `ping` event to this endpoint.
#[utoipa::path(post, path = "/api/integrations/webhooks/{id}/test", tag = "integrations", params(("id" = i64, Path)),
    responses((status = 202, body = Queued), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn test(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    Path(id): Path<i64>,
) -> ApiResult<(StatusCode, Json<Queued>)> {
    Ok((StatusCode::ACCEPTED, Json(do_test(&st, a.tenant_id, id).await?)))
}

/// The endpoint's deliveries, newest first, with every attempt.
#[utoipa::path(get, path = "/api/integrations/webhooks/{id}/deliveries", tag = "integrations", params(("id" = i64, Path), DeliveryQuery),
    responses((status = 200, body = DeliveryPage), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn deliveries(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<DeliveryPage>> {
    Ok(Json(do_deliveries(&st, a.tenant_id, id, q).await?))
}

/// Sends a message again (its attempts so far stay in the log).
#[utoipa::path(post, path = "/api/integrations/webhooks/{id}/deliveries/{message_id}/replay", tag = "integrations",
    params(("id" = i64, Path), ("message_id" = String, Path)),
    responses((status = 202, body = Queued), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn replay(
    State(st): State<AppState>,
    _a: AdminUser,
    who: Actor,
    Path((id, message)): Path<(i64, String)>,
) -> ApiResult<(StatusCode, Json<Queued>)> {
    Ok((StatusCode::ACCEPTED, Json(do_replay(&st, &who, id, &message).await?)))
}
