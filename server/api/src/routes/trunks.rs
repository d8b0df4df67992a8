//! Telephony → Trunks: up to three SIP trunks per tenant (administrators and sub-administrators).
//!
//! Every change is one operation across PostgreSQL and Asterisk: the rows are committed, the
//! outbound-registration module is reloaded, and if Asterisk does not take the change the rows are
//! put back as they were and the admin gets a 503 saying nothing changed.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use callbase_core::sip::{sip_token, SipHost, TrunkRewrite};
use callbase_core::TenantId;
use callbase_db::trunks::{self as repo, TrunkFields, TrunkRow};
use callbase_telephony::trunks::{self as ast, TrunkRows};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::ApiJson;
use crate::routes::audit::{self, Actor};
use crate::AppState;

pub const MAX_TRUNKS: usize = 3;

/// Registration state as the registration monitor keeps it in Redis.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrunkStatus {
    /// `registered`, `rejected`, `unregistered` or `waiting`.
    pub state: String,
    pub reason: Option<String>,
    /// Unix seconds of the last change.
    pub since: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Trunk {
    pub id: i64,
    /// 1 = used first for outbound calls.
    pub position: i16,
    pub mode: String,
    pub label: String,
    pub number: Option<String>,
    pub username: String,
    pub domain: String,
    pub host: String,
    pub rewrite: Option<String>,
    pub preset: Option<String>,
    /// Passwords are write-only: this only says one is stored.
    pub password_set: bool,
    /// The Asterisk registration id (`t<tenant>-trk<slot>`).
    pub registration: String,
    pub status: TrunkStatus,
}

fn reg_key(id: &str) -> String {
    callbase_core::keys::trunk_registration(id)
}

async fn status_of(st: &AppState, id: &str) -> ApiResult<TrunkStatus> {
    let mut r = st.redis.clone();
    let (state, reason, since): (Option<String>, Option<String>, Option<i64>) =
        r.hget(reg_key(id), &["state", "reason", "since"]).await?;
    Ok(TrunkStatus { state: state.unwrap_or_else(|| "waiting".into()), reason, since })
}

async fn to_api(st: &AppState, t: TrunkRow) -> ApiResult<Trunk> {
    let registration = ast::ast_id(t.tenant_id, t.slot);
    let status = status_of(st, &registration).await?;
    Ok(Trunk {
        id: t.id,
        position: t.position,
        mode: t.mode,
        label: t.label,
        number: t.number,
        username: t.username,
        domain: t.domain,
        host: t.host,
        rewrite: t.rewrite,
        preset: t.preset,
        password_set: true,
        registration,
        status,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TrunkBody {
    /// `simple` (user, password, domain) or `extended` (number, user, password, domain, host).
    pub mode: String,
    #[serde(default)]
    pub label: String,
    pub number: Option<String>,
    pub username: String,
    /// Required when creating; omit to keep the stored one.
    pub password: Option<String>,
    pub domain: Option<String>,
    /// `host` or `host:port`; defaults to the domain (and the domain to the host).
    pub host: Option<String>,
    /// `N/M`: regular expression and replacement applied to dialled numbers last.
    pub rewrite: Option<String>,
    pub preset: Option<String>,
}

/// Validated trunk input.
struct Valid {
    fields: TrunkFields,
    host: SipHost,
    password: Option<String>,
}

fn validate(b: &TrunkBody) -> ApiResult<Valid> {
    let mode = match b.mode.as_str() {
        m @ ("simple" | "extended") => m.to_string(),
        _ => return Err(ApiError::unprocessable("invalid_mode", "mode must be 'simple' or 'extended'")),
    };
    let username = sip_token("user", &b.username)?;
    let nonempty =
        |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let (domain, host) =
        match (nonempty(&b.domain), if mode == "extended" { nonempty(&b.host) } else { None }) {
            (Some(d), Some(h)) => (d, h),
            (Some(d), None) => (d.clone(), d),
            (None, Some(h)) => (h.clone(), h),
            (None, None) => {
                return Err(ApiError::unprocessable("invalid_host", "enter the carrier's domain"))
            }
        };
    let domain = SipHost::parse(&domain)?.to_string();
    let host = SipHost::parse(&host)?;
    let number = match (mode.as_str(), nonempty(&b.number)) {
        ("extended", Some(n)) => {
            let ok =
                n.len() <= 20 && n.trim_start_matches('+').bytes().all(|c| c.is_ascii_digit()) && n.len() > 1;
            if !ok {
                return Err(callbase_core::sip::SipError::InvalidNumber.into());
            }
            Some(n)
        }
        _ => None,
    };
    let rewrite =
        nonempty(&b.rewrite).map(|r| TrunkRewrite::parse(&r).map(|r| r.as_str().to_string())).transpose()?;
    let password = match &b.password {
        Some(p) if p.is_empty() || p.chars().count() > 128 || p.chars().any(char::is_control) => {
            return Err(ApiError::unprocessable(
                "invalid_password",
                "the password must be 1–128 characters without line breaks",
            ));
        }
        p => p.clone(),
    };
    let label = b.label.trim().chars().take(60).collect();
    let preset = nonempty(&b.preset);
    Ok(Valid {
        fields: TrunkFields {
            mode,
            label,
            number,
            username,
            domain,
            host: host.to_string(),
            rewrite,
            preset,
        },
        host,
        password,
    })
}

/// Refuses a host that is the platform's own SIP listener, or loopback/private/link-local space
/// unless private carriers are allowed (`asterisk.allow_private_carriers`).
async fn check_host(st: &AppState, host: &SipHost) -> ApiResult<()> {
    let policy = callbase_telephony::carrier::policy(&st.cfg.asterisk).await;
    callbase_telephony::carrier::check_host(&policy, host).await.map_err(|why| {
        ApiError::unprocessable("trunk_host_refused", format!("the carrier's address is not allowed: {why}"))
    })
}

/// What the audit log keeps of a trunk (never the password).
fn audited(f: &TrunkFields) -> serde_json::Value {
    serde_json::json!({"mode": f.mode, "label": f.label, "number": f.number, "username": f.username,
        "domain": f.domain, "host": f.host, "rewrite": f.rewrite})
}

fn rows_of(tenant: TenantId, slot: i16, f: &TrunkFields, host: SipHost) -> TrunkRows {
    TrunkRows {
        tenant,
        slot,
        username: f.username.clone(),
        domain: f.domain.clone(),
        host,
        number: f.number.clone(),
    }
}

fn asterisk_down(e: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %e, "Asterisk did not take a trunk change");
    ApiError::Unavailable {
        code: "asterisk_unavailable",
        message:
            "the telephony engine did not accept the change, so nothing was saved; try again in a minute"
                .into(),
    }
}

/// Makes Asterisk use what was just written: res_pjsip reload (fresh caches, qualify of the
/// carrier contact), the registration module reload (new/changed/deleted registrations), and after
/// a password change an immediate REGISTER (the module reload ignores auth changes).
async fn apply(st: &AppState, id: &str, password_changed: bool) -> Result<(), String> {
    st.ari.reload_module(ast::PJSIP_MODULE).await.map_err(|e| e.to_string())?;
    st.ari.reload_module(ast::REGISTRATION_MODULE).await.map_err(|e| e.to_string())?;
    if password_changed {
        match &st.ami {
            Some(ami) => {
                if let Err(e) = ami.pjsip_register(id).await {
                    tracing::warn!(error = %e, "re-register after password change failed; Asterisk retries by itself");
                }
            }
            None => tracing::warn!("no AMI: the new password is used at the next registration retry"),
        }
    }
    Ok(())
}

/// Every trunk change reloads Asterisk's PJSIP modules (for all tenants): at most
/// `limits.trunk_changes_per_minute` per tenant, then 429 `rate_limited` with `Retry-After`.
async fn change_allowed(st: &AppState, tenant: TenantId) -> ApiResult<()> {
    let limit = st.cfg.limits.trunk_changes_per_minute;
    crate::limits::hit(
        &st.redis,
        &callbase_core::keys::rate_trunk_changes(tenant),
        limit,
        60,
        "trunk changes",
    )
    .await
}

async fn mark_waiting(st: &AppState, id: &str) -> ApiResult<()> {
    let mut r = st.redis.clone();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let _: () = r
        .hset_multiple(
            reg_key(id),
            &[("state", "waiting".to_string()), ("reason", String::new()), ("since", now.to_string())],
        )
        .await?;
    Ok(())
}

#[utoipa::path(get, path = "/api/trunks", tag = "trunks", responses((status = 200, body = [Trunk])))]
pub async fn list(State(st): State<AppState>, AdminUser(a): AdminUser) -> ApiResult<Json<Vec<Trunk>>> {
    crate::routes::telephony::require_on(&st, a.tenant_id).await?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let rows = repo::list(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    let mut out = Vec::with_capacity(rows.len());
    for t in rows {
        out.push(to_api(&st, t).await?);
    }
    Ok(Json(out))
}

#[utoipa::path(post, path = "/api/trunks", tag = "trunks", request_body = TrunkBody, responses(
    (status = 201, body = Trunk), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    who: Actor,
    ApiJson(b): ApiJson<TrunkBody>,
) -> ApiResult<(StatusCode, Json<Trunk>)> {
    crate::routes::telephony::require_on(&st, a.tenant_id).await?;
    change_allowed(&st, a.tenant_id).await?;
    let v = validate(&b)?;
    check_host(&st, &v.host).await?;
    let password = v
        .password
        .clone()
        .ok_or_else(|| ApiError::unprocessable("invalid_password", "enter the trunk's password"))?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    repo::lock_tenant(&mut tx, a.tenant_id).await?;
    let existing = repo::list(&mut tx, a.tenant_id).await?;
    if existing.len() >= MAX_TRUNKS {
        return Err(ApiError::conflict(
            "too_many_trunks",
            "a tenant can have at most 3 trunks; delete one first",
        ));
    }
    let slot = (1..=3)
        .find(|s| existing.iter().all(|t| t.slot != *s))
        .expect("fewer than 3 trunks leave a free slot");
    let row = repo::insert(&mut tx, a.tenant_id, slot, existing.len() as i16 + 1, &v.fields).await?;
    let rows = rows_of(a.tenant_id, slot, &v.fields, v.host);
    ast::write_rows(&mut tx, &rows, Some(&password)).await?;
    tx.commit().await?;
    let id = rows.id();
    mark_waiting(&st, &id).await?;
    if let Err(e) = apply(&st, &id, false).await {
        // Undo: nothing of the trunk may remain.
        let mut tx = st.db.tenant_tx(a.tenant_id).await?;
        ast::delete_rows(&mut tx, &id).await?;
        repo::delete(&mut tx, a.tenant_id, row.id).await?;
        tx.commit().await?;
        return Err(asterisk_down(e));
    }
    tracing::info!(tenant.id = %a.tenant_id, trunk = %id, "trunk created");
    audit::record(&st, &who, "trunk.create", &id, None, Some(audited(&v.fields))).await?;
    Ok((StatusCode::CREATED, Json(to_api(&st, row).await?)))
}

#[utoipa::path(patch, path = "/api/trunks/{id}", tag = "trunks", params(("id" = i64, Path)), request_body = TrunkBody, responses(
    (status = 200, body = Trunk), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn update(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    who: Actor,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<TrunkBody>,
) -> ApiResult<Json<Trunk>> {
    crate::routes::telephony::require_on(&st, a.tenant_id).await?;
    change_allowed(&st, a.tenant_id).await?;
    let v = validate(&b)?;
    check_host(&st, &v.host).await?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    repo::lock_tenant(&mut tx, a.tenant_id).await?;
    let before = repo::get(&mut tx, a.tenant_id, id).await?.ok_or(ApiError::NotFound)?;
    let ast_id = ast::ast_id(a.tenant_id, before.slot);
    let old_password = ast::stored_password(&mut tx, &ast_id).await?;
    let row = repo::update(&mut tx, a.tenant_id, id, &v.fields).await?.ok_or(ApiError::NotFound)?;
    ast::write_rows(&mut tx, &rows_of(a.tenant_id, before.slot, &v.fields, v.host), v.password.as_deref())
        .await?;
    tx.commit().await?;
    mark_waiting(&st, &ast_id).await?;
    if let Err(e) = apply(&st, &ast_id, v.password.is_some()).await {
        let mut tx = st.db.tenant_tx(a.tenant_id).await?;
        let old = TrunkFields::from(&before);
        repo::update(&mut tx, a.tenant_id, id, &old).await?;
        let old_host =
            SipHost::parse(&before.host).map_err(|e| anyhow::anyhow!("stored host invalid: {e}"))?;
        ast::write_rows(&mut tx, &rows_of(a.tenant_id, before.slot, &old, old_host), None).await?;
        if let Some(p) = old_password {
            ast::restore_password(&mut tx, &ast_id, &p).await?;
        }
        tx.commit().await?;
        return Err(asterisk_down(e));
    }
    tracing::info!(tenant.id = %a.tenant_id, trunk = %ast_id, "trunk updated");
    let mut after = audited(&v.fields);
    after["password_changed"] = v.password.is_some().into();
    audit::record(
        &st,
        &who,
        "trunk.update",
        &ast_id,
        Some(audited(&TrunkFields::from(&before))),
        Some(after),
    )
    .await?;
    Ok(Json(to_api(&st, row).await?))
}

#[utoipa::path(delete, path = "/api/trunks/{id}", tag = "trunks", params(("id" = i64, Path)), responses(
    (status = 204), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn delete(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    who: Actor,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    crate::routes::telephony::require_on(&st, a.tenant_id).await?;
    change_allowed(&st, a.tenant_id).await?;
    let removed = remove(&st, a.tenant_id, id).await?;
    audit::record(
        &st,
        &who,
        "trunk.delete",
        ast::ast_id(a.tenant_id, removed.slot),
        Some(audited(&TrunkFields::from(&removed))),
        None,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a trunk: un-REGISTER first (registration row gone + module reload, with the auth still
/// in place), then the remaining rows. Used by the delete route and by turning telephony off.
pub async fn remove(st: &AppState, tenant: TenantId, id: i64) -> ApiResult<TrunkRow> {
    let mut tx = st.db.tenant_tx(tenant).await?;
    repo::lock_tenant(&mut tx, tenant).await?;
    let t = repo::get(&mut tx, tenant, id).await?.ok_or(ApiError::NotFound)?;
    let ast_id = ast::ast_id(tenant, t.slot);
    let password = ast::stored_password(&mut tx, &ast_id).await?;
    // Step 1: drop the registration and reload, so Asterisk un-REGISTERs with the auth still there.
    ast::delete_registration(&mut tx, &ast_id).await?;
    tx.commit().await?;
    if let Err(e) = st.ari.reload_module(ast::REGISTRATION_MODULE).await {
        let mut tx = st.db.tenant_tx(tenant).await?;
        let host = SipHost::parse(&t.host).map_err(|e| anyhow::anyhow!("stored host invalid: {e}"))?;
        let f = TrunkFields::from(&t);
        ast::write_rows(&mut tx, &rows_of(tenant, t.slot, &f, host), None).await?;
        if let Some(p) = password {
            ast::restore_password(&mut tx, &ast_id, &p).await?;
        }
        tx.commit().await?;
        return Err(asterisk_down(e));
    }
    // Step 2: the rest of the rows and the trunk itself.
    let mut tx = st.db.tenant_tx(tenant).await?;
    repo::lock_tenant(&mut tx, tenant).await?;
    ast::delete_rows(&mut tx, &ast_id).await?;
    repo::delete(&mut tx, tenant, id).await?;
    tx.commit().await?;
    let mut r = st.redis.clone();
    let _: () = r.del(reg_key(&ast_id)).await?;
    if let Err(e) = st.ari.reload_module(ast::PJSIP_MODULE).await {
        // The rows are gone; cached copies expire by themselves (object_lifetime_maximum).
        tracing::warn!(error = %e, "res_pjsip reload after trunk delete failed");
    }
    tracing::info!(tenant.id = %tenant, trunk = %ast_id, "trunk deleted");
    Ok(t)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TrunkOrder {
    /// All of the tenant's trunk ids, first = outbound.
    pub ids: Vec<i64>,
}

#[utoipa::path(put, path = "/api/trunks/order", tag = "trunks", request_body = TrunkOrder, responses(
    (status = 200, body = [Trunk]), (status = 422, body = ErrorBody)))]
pub async fn reorder(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    who: Actor,
    ApiJson(b): ApiJson<TrunkOrder>,
) -> ApiResult<Json<Vec<Trunk>>> {
    crate::routes::telephony::require_on(&st, a.tenant_id).await?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    repo::lock_tenant(&mut tx, a.tenant_id).await?;
    let existing = repo::list(&mut tx, a.tenant_id).await?;
    let mut want = b.ids.clone();
    want.sort_unstable();
    let mut have: Vec<i64> = existing.iter().map(|t| t.id).collect();
    have.sort_unstable();
    if want != have {
        return Err(ApiError::unprocessable("invalid_order", "list every trunk of the tenant exactly once"));
    }
    repo::reorder(&mut tx, a.tenant_id, &b.ids).await?;
    let rows = repo::list(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    let order = |ts: &[TrunkRow]| {
        serde_json::json!(ts.iter().map(|t| ast::ast_id(a.tenant_id, t.slot)).collect::<Vec<_>>())
    };
    audit::record(&st, &who, "trunk.reorder", "", Some(order(&existing)), Some(order(&rows))).await?;
    let mut out = Vec::new();
    for t in rows {
        out.push(to_api(&st, t).await?);
    }
    Ok(Json(out))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Preset {
    pub id: String,
    pub name: String,
    pub mode: String,
    pub domain: String,
    pub host: String,
    pub rewrite: Option<String>,
}

/// Starting points for well-known carriers (from `server/api/data/trunk-presets.json`); check the
/// carrier's own instructions.
#[utoipa::path(get, path = "/api/trunks/presets", tag = "trunks", responses((status = 200, body = [Preset])))]
pub async fn presets(_admin: AdminUser) -> ApiResult<Json<Vec<Preset>>> {
    let p: Vec<Preset> = serde_json::from_str(include_str!("../../data/trunk-presets.json"))
        .map_err(|e| anyhow::anyhow!("trunk presets file is invalid: {e}"))?;
    Ok(Json(p))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RewritePreview {
    pub rewrite: String,
    pub sample: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RewriteResult {
    pub result: String,
}

/// What a rewrite rule makes of a sample number (the same engine calls use).
#[utoipa::path(post, path = "/api/trunks/rewrite-preview", tag = "trunks", request_body = RewritePreview, responses(
    (status = 200, body = RewriteResult), (status = 422, body = ErrorBody)))]
pub async fn rewrite_preview(
    _admin: AdminUser,
    ApiJson(b): ApiJson<RewritePreview>,
) -> ApiResult<Json<RewriteResult>> {
    let rule = TrunkRewrite::parse(&b.rewrite)?;
    let sample: String = b.sample.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect();
    Ok(Json(RewriteResult { result: rule.apply(&sample) }))
}
