//! Telephony → Trunks: up to three SIP trunks per tenant (administrators and sub-administrators).
//!
//! Every change is one operation across PostgreSQL and Asterisk, in
//! `callbase_telephony::trunk_changes` (a 503 `asterisk_unavailable` says nothing changed); this
//! file validates the body, rate-limits changes and writes the audit entry.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use callbase_core::sip::{sip_token, SipHost, TrunkRewrite};
use callbase_core::TenantId;
use callbase_db::trunks::{TrunkFields, TrunkRow};
use callbase_telephony::nodes::Node;
use callbase_telephony::trunk_changes::{registration_status, RegistrationStatus, TrunkChanges, TrunkInput};
use callbase_telephony::trunks::ast_id;
use callbase_telephony::AsteriskConfig;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::TelephonyOn;
use crate::json::ApiJson;
use crate::routes::audit::{self, Actor};
use crate::AppState;

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

fn to_api(t: TrunkRow, status: RegistrationStatus) -> Trunk {
    Trunk {
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
        registration: ast_id(t.tenant_id, t.slot),
        status: TrunkStatus { state: status.state, reason: status.reason, since: status.since },
    }
}

async fn one(st: &AppState, t: TrunkRow) -> ApiResult<Trunk> {
    let status = registration_status(&st.redis, &ast_id(t.tenant_id, t.slot)).await?;
    Ok(to_api(t, status))
}

async fn all(st: &AppState, node: &Node, cfg: &AsteriskConfig, rows: Vec<TrunkRow>) -> ApiResult<Vec<Trunk>> {
    Ok(changes(st, node, cfg).with_status(rows).await?.into_iter().map(|(t, s)| to_api(t, s)).collect())
}

/// Trunk changes of a tenant go to its node: it registers the tenant's trunks. `cfg` is the node's
/// settings with every node's SIP address as the platform's own (`Nodes::with_every_listener`).
fn changes<'a>(st: &'a AppState, node: &'a Node, cfg: &'a AsteriskConfig) -> TrunkChanges<'a> {
    TrunkChanges { db: &st.db, ari: &node.ari, ami: node.ami.as_ref(), redis: &st.redis, asterisk: cfg }
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

fn validate(b: &TrunkBody) -> ApiResult<TrunkInput> {
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
    Ok(TrunkInput {
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

/// What the audit log keeps of a trunk (never the password).
fn audited(f: &TrunkFields) -> serde_json::Value {
    serde_json::json!({"mode": f.mode, "label": f.label, "number": f.number, "username": f.username,
        "domain": f.domain, "host": f.host, "rewrite": f.rewrite})
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

#[utoipa::path(get, path = "/api/trunks", tag = "trunks", responses((status = 200, body = [Trunk])))]
pub async fn list(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
) -> ApiResult<Json<Vec<Trunk>>> {
    let node = st.nodes.of_tenant(a.tenant_id).await?;
    let cfg = st.nodes.with_every_listener(&node).await;
    let rows = changes(&st, &node, &cfg).list(a.tenant_id).await?;
    Ok(Json(rows.into_iter().map(|(t, s)| to_api(t, s)).collect()))
}

#[utoipa::path(post, path = "/api/trunks", tag = "trunks", request_body = TrunkBody, responses(
    (status = 201, body = Trunk), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    who: Actor,
    ApiJson(b): ApiJson<TrunkBody>,
) -> ApiResult<(StatusCode, Json<Trunk>)> {
    change_allowed(&st, a.tenant_id).await?;
    let input = validate(&b)?;
    let fields = audited(&input.fields);
    let node = st.nodes.of_tenant(a.tenant_id).await?;
    let cfg = st.nodes.with_every_listener(&node).await;
    let row = changes(&st, &node, &cfg).create(a.tenant_id, input).await?;
    let id = ast_id(a.tenant_id, row.slot);
    audit::record(&st, &who, "trunk.create", &id, None, Some(fields)).await?;
    Ok((StatusCode::CREATED, Json(one(&st, row).await?)))
}

#[utoipa::path(patch, path = "/api/trunks/{id}", tag = "trunks", params(("id" = i64, Path)), request_body = TrunkBody, responses(
    (status = 200, body = Trunk), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn update(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    who: Actor,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<TrunkBody>,
) -> ApiResult<Json<Trunk>> {
    change_allowed(&st, a.tenant_id).await?;
    let input = validate(&b)?;
    let mut after = audited(&input.fields);
    after["password_changed"] = input.password.is_some().into();
    let node = st.nodes.of_tenant(a.tenant_id).await?;
    let cfg = st.nodes.with_every_listener(&node).await;
    let (before, row) = changes(&st, &node, &cfg).update(a.tenant_id, id, input).await?;
    let before = audited(&TrunkFields::from(&before));
    let target = ast_id(a.tenant_id, row.slot);
    audit::record(&st, &who, "trunk.update", &target, Some(before), Some(after)).await?;
    Ok(Json(one(&st, row).await?))
}

#[utoipa::path(delete, path = "/api/trunks/{id}", tag = "trunks", params(("id" = i64, Path)), responses(
    (status = 204), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn delete(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    who: Actor,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    change_allowed(&st, a.tenant_id).await?;
    let node = st.nodes.of_tenant(a.tenant_id).await?;
    let cfg = st.nodes.with_every_listener(&node).await;
    let removed = changes(&st, &node, &cfg).remove(a.tenant_id, id).await?;
    let before = audited(&TrunkFields::from(&removed));
    audit::record(&st, &who, "trunk.delete", ast_id(a.tenant_id, removed.slot), Some(before), None).await?;
    Ok(StatusCode::NO_CONTENT)
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
    _on: TelephonyOn,
    who: Actor,
    ApiJson(b): ApiJson<TrunkOrder>,
) -> ApiResult<Json<Vec<Trunk>>> {
    let node = st.nodes.of_tenant(a.tenant_id).await?;
    let cfg = st.nodes.with_every_listener(&node).await;
    let (existing, rows) =
        changes(&st, &node, &cfg).reorder(a.tenant_id, &b.ids).await?.ok_or_else(|| {
            ApiError::unprocessable("invalid_order", "list every trunk of the tenant exactly once")
        })?;
    let order = |ts: &[TrunkRow]| {
        serde_json::json!(ts.iter().map(|t| ast_id(a.tenant_id, t.slot)).collect::<Vec<_>>())
    };
    audit::record(&st, &who, "trunk.reorder", "", Some(order(&existing)), Some(order(&rows))).await?;
    Ok(Json(all(&st, &node, &cfg, rows).await?))
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
