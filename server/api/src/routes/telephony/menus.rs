//! IVR menus (issue #19, item 3): administrators build menus — a greeting, digits leading to a
//! queue, a user, a number, another menu or voicemail, a timeout with retries and a fallback — and
//! upload each menu's greeting. A destination is written compactly: `ring_all`, `voicemail`,
//! `hangup` (fallback only), `queue:<id>`, `user:<id>`, `menu:<id>`, `number:<number>`. The call
//! control is `callbase_telephony::call::menu`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use callbase_core::{TenantId, UserId};
use callbase_db::menus::{self as repo, Destination, MenuFields};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::routing::{drop_greeting, store_greeting, Greeting};
use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::TelephonyOn;
use crate::json::ApiJson;
use crate::routes::audit::Actor;
use crate::AppState;

/// Most digits a menu may have (0–9, * and #).
const MAX_OPTIONS: usize = 12;

#[derive(Debug, Deserialize, ToSchema)]
pub struct MenuOption {
    /// `0`–`9`, `*` or `#`.
    pub digit: String,
    /// Where the digit leads: `ring_all`, `voicemail`, `queue:<id>`, `user:<id>`, `menu:<id>` or
    /// `number:<number>`.
    pub to: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MenuOptionOut {
    pub digit: String,
    pub to: String,
    /// The queue, user or menu it led to was deleted: the digit rings everyone.
    pub gone: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MenuOut {
    pub id: i64,
    pub name: String,
    /// A greeting is uploaded (`PUT /api/telephony/menus/{id}/greeting`).
    pub greeting: bool,
    pub timeout_secs: i16,
    pub retries: i16,
    /// Where a caller goes who pressed nothing, or only wrong digits, after the retries.
    pub fallback: String,
    pub fallback_gone: bool,
    pub options: Vec<MenuOptionOut>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MenuBody {
    pub name: String,
    /// Seconds to wait for a digit after the greeting (2–30).
    #[serde(default = "default_timeout")]
    pub timeout_secs: i64,
    /// How many times the greeting is played again after no digit or a wrong one (0–5).
    #[serde(default = "default_retries")]
    pub retries: i64,
    #[serde(default = "default_fallback")]
    pub fallback: String,
    #[serde(default)]
    pub options: Vec<MenuOption>,
}

fn default_timeout() -> i64 {
    5
}
fn default_retries() -> i64 {
    2
}
fn default_fallback() -> String {
    "ring_all".into()
}

fn gone(d: &Destination) -> bool {
    match d.kind.as_str() {
        "queue" => d.queue_id.is_none(),
        "user" => d.user_id.is_none(),
        "menu" => d.menu_id.is_none(),
        _ => false,
    }
}

fn out(m: repo::Menu, users: &[i64]) -> MenuOut {
    let is_gone =
        |d: &Destination| gone(d) || (d.kind == "user" && !d.user_id.is_some_and(|u| users.contains(&u)));
    MenuOut {
        id: m.id,
        name: m.name,
        greeting: m.greeting_key.is_some(),
        timeout_secs: m.timeout_secs,
        retries: m.retries,
        fallback_gone: is_gone(&m.fallback),
        fallback: m.fallback.render(),
        options: m
            .options
            .iter()
            .map(|(digit, d)| MenuOptionOut { digit: digit.clone(), to: d.render(), gone: is_gone(d) })
            .collect(),
    }
}

fn bad(code: &'static str, msg: impl Into<String>) -> ApiError {
    ApiError::unprocessable(code, msg)
}

/// Checks one destination (`field` names it in the error): it exists in the tenant, a number
/// passes the dial rules, and it does not lead straight back to menu `this`.
async fn destination(
    tx: &mut callbase_db::Tx,
    tenant: TenantId,
    to: &str,
    field: &str,
    this: Option<i64>,
    fallback: bool,
) -> ApiResult<Destination> {
    let d = Destination::parse(to).filter(|d| fallback || d.kind != "hangup").ok_or_else(|| {
        bad(
            "invalid_destination",
            format!("{field}: ring_all, voicemail, queue:<id>, user:<id>, menu:<id> or number:<number>"),
        )
    })?;
    match d.kind.as_str() {
        "queue" if callbase_db::queues::get(tx, tenant, d.queue_id.unwrap_or(0)).await?.is_none() => {
            Err(bad("invalid_destination", format!("{field}: no such queue")))
        }
        "user"
            if callbase_db::telephony::get_user(tx, tenant, UserId(d.user_id.unwrap_or(0)))
                .await?
                .is_none() =>
        {
            Err(bad("invalid_destination", format!("{field}: no such telephony user")))
        }
        "menu" if d.menu_id.is_some() && d.menu_id == this => Err(bad(
            "menu_loop",
            format!("{field}: leads back to this menu (it plays again by itself after no digit)"),
        )),
        "menu" if repo::get(tx, tenant, d.menu_id.unwrap_or(0)).await?.is_none() => {
            Err(bad("invalid_destination", format!("{field}: no such menu")))
        }
        "number" => {
            let rules = callbase_db::settings::dial_rules(tx, tenant).await?;
            match rules.route(d.number.as_deref().unwrap_or_default(), |_| false) {
                Ok(_) => Ok(d),
                Err(refusal) => Err(bad("invalid_destination", format!("{field}: refused — {refusal}"))),
            }
        }
        _ => Ok(d),
    }
}

/// Checks a menu body field by field (each error names its field); `this`: the menu being changed.
async fn check(
    tx: &mut callbase_db::Tx,
    tenant: TenantId,
    b: &MenuBody,
    this: Option<i64>,
) -> ApiResult<MenuFields> {
    let name = b.name.trim();
    if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
        return Err(bad("invalid_name", "name: 1 to 60 characters"));
    }
    if !(2..=30).contains(&b.timeout_secs) {
        return Err(bad("invalid_timeout", "timeout_secs: 2 to 30"));
    }
    if !(0..=5).contains(&b.retries) {
        return Err(bad("invalid_retries", "retries: 0 to 5"));
    }
    if b.options.len() > MAX_OPTIONS {
        return Err(bad("too_many_options", format!("options: at most {MAX_OPTIONS}")));
    }
    let mut options = Vec::with_capacity(b.options.len());
    for (i, o) in b.options.iter().enumerate() {
        let digit = o.digit.trim();
        if digit.len() != 1 || !digit.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#') {
            return Err(bad("invalid_digit", format!("options[{i}].digit: one of 0-9, * or #")));
        }
        if options.iter().any(|(d, _): &(String, Destination)| d == digit) {
            return Err(bad("duplicate_digit", format!("options[{i}].digit: {digit} is used twice")));
        }
        let d = destination(tx, tenant, &o.to, &format!("options[{i}].to"), this, false).await?;
        options.push((digit.to_string(), d));
    }
    let fallback = destination(tx, tenant, &b.fallback, "fallback", this, true).await?;
    // A caller who presses nothing must leave the menus some day: no-digit fallbacks may not go
    // round in a circle back to this menu.
    if let (Some(this), Some(mut next)) = (this, fallback.menu_id) {
        let chain = repo::fallback_menus(tx, tenant).await?;
        for _ in 0..=chain.len() {
            if next == this {
                return Err(bad("menu_loop", "fallback: the menus' fallbacks lead back to this menu"));
            }
            match chain.iter().find(|(m, _)| *m == next).and_then(|(_, f)| *f) {
                Some(n) => next = n,
                None => break,
            }
        }
    }
    Ok(MenuFields {
        name: name.to_string(),
        timeout_secs: b.timeout_secs as i16,
        retries: b.retries as i16,
        fallback,
        options,
    })
}

async fn telephony_user_ids(tx: &mut callbase_db::Tx, tenant: TenantId) -> ApiResult<Vec<i64>> {
    Ok(callbase_db::telephony::list_users(tx, tenant).await?.into_iter().map(|u| u.user_id.0).collect())
}

/// The tenant's menus (administrators).
#[utoipa::path(get, path = "/api/telephony/menus", tag = "telephony",
    responses((status = 200, body = [MenuOut]), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
) -> ApiResult<Json<Vec<MenuOut>>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let menus = repo::list(&mut tx, a.tenant_id).await?;
    let users = telephony_user_ids(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(menus.into_iter().map(|m| out(m, &users)).collect()))
}

/// Creates a menu: 422 naming the field (`invalid_name`, `invalid_timeout`, `invalid_retries`,
/// `too_many_options`, `invalid_digit`, `duplicate_digit`, `invalid_destination`, `menu_loop`,
/// `too_many_menus`); 409 `duplicate_name`.
#[utoipa::path(post, path = "/api/telephony/menus", tag = "telephony", request_body = MenuBody,
    responses((status = 201, body = MenuOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    who: Actor,
    ApiJson(b): ApiJson<MenuBody>,
) -> ApiResult<(StatusCode, Json<MenuOut>)> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let f = check(&mut tx, a.tenant_id, &b, None).await?;
    if repo::count(&mut tx, a.tenant_id).await? >= repo::MAX_MENUS {
        return Err(bad("too_many_menus", format!("a tenant has at most {} menus", repo::MAX_MENUS)));
    }
    let Some(id) = repo::create(&mut tx, a.tenant_id, &f).await? else {
        return Err(ApiError::conflict("duplicate_name", format!("name: a menu named {} exists", f.name)));
    };
    let m = saved(&mut tx, a.tenant_id, id).await?;
    tx.commit().await?;
    crate::routes::audit::record(&st, &who, "menu.create", id.to_string(), None, None).await?;
    Ok((StatusCode::CREATED, Json(m)))
}

async fn saved(tx: &mut callbase_db::Tx, tenant: TenantId, id: i64) -> ApiResult<MenuOut> {
    let m = repo::get(tx, tenant, id).await?.ok_or(ApiError::NotFound)?;
    let users = telephony_user_ids(tx, tenant).await?;
    Ok(out(m, &users))
}

/// Changes a menu (the same checks; a digit may not lead back to the menu itself, nor the
/// fallbacks round to it).
#[utoipa::path(put, path = "/api/telephony/menus/{id}", tag = "telephony", request_body = MenuBody, params(("id" = i64, Path)),
    responses((status = 200, body = MenuOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    who: Actor,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<MenuBody>,
) -> ApiResult<Json<MenuOut>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    if repo::get(&mut tx, a.tenant_id, id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    let f = check(&mut tx, a.tenant_id, &b, Some(id)).await?;
    if !repo::update(&mut tx, a.tenant_id, id, &f).await? {
        return Err(ApiError::conflict("duplicate_name", format!("name: a menu named {} exists", f.name)));
    }
    let m = saved(&mut tx, a.tenant_id, id).await?;
    tx.commit().await?;
    crate::routes::audit::record(&st, &who, "menu.update", id.to_string(), None, None).await?;
    Ok(Json(m))
}

/// Deletes a menu (and its greeting). Digits, fallbacks and trunks that led to it ring everyone,
/// and are shown `gone` until an administrator chooses again.
#[utoipa::path(delete, path = "/api/telephony/menus/{id}", tag = "telephony", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    who: Actor,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let Some(old) = repo::set_greeting(&mut tx, a.tenant_id, id, None).await? else {
        return Err(ApiError::NotFound);
    };
    repo::delete(&mut tx, a.tenant_id, id).await?;
    tx.commit().await?;
    drop_greeting(&st, old).await;
    crate::routes::audit::record(&st, &who, "menu.delete", id.to_string(), None, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Uploads the menu's greeting (MP3 or WAV as the request body; 422 `empty_greeting`,
/// `invalid_greeting` for a file that is not audio); it replaces the one before.
#[utoipa::path(put, path = "/api/telephony/menus/{id}/greeting", tag = "telephony", params(("id" = i64, Path)),
    request_body(content = Vec<u8>, content_type = "audio/mpeg"),
    responses((status = 200, body = Greeting), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_greeting(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Greeting>> {
    // The menu must exist before anything is stored.
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    if repo::get(&mut tx, a.tenant_id, id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    tx.commit().await?;
    let (name, duration_ms) = store_greeting(&st, a.tenant_id, body).await?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let Some(old) = repo::set_greeting(&mut tx, a.tenant_id, id, Some(&name)).await? else {
        tx.commit().await?;
        // Deleted meanwhile: the new file goes too.
        drop_greeting(&st, Some(name)).await;
        return Err(ApiError::NotFound);
    };
    tx.commit().await?;
    drop_greeting(&st, old).await;
    Ok(Json(Greeting { duration_ms }))
}

/// Removes the menu's greeting.
#[utoipa::path(delete, path = "/api/telephony/menus/{id}/greeting", tag = "telephony", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_greeting(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let Some(old) = repo::set_greeting(&mut tx, a.tenant_id, id, None).await? else {
        return Err(ApiError::NotFound);
    };
    tx.commit().await?;
    drop_greeting(&st, old).await;
    Ok(StatusCode::NO_CONTENT)
}
