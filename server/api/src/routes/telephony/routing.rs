//! Inbound routing (ring timeout, forward on no answer) and the greeting callers hear first,
//! with the unauthenticated media URL Asterisk fetches it from.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use callbase_db::telephony::{self as repo, GreetingSlot};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::TelephonyOn;
use crate::json::ApiJson;
use crate::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Routing {
    /// Seconds agents ring before the call is forwarded (5–300, default 15).
    pub ring_timeout_secs: i32,
    /// Where unanswered calls go (through the first trunk); none = the call ends as missed.
    pub forward_number: Option<String>,
    /// Seconds a parked call waits before it rings the agent who parked it (5–600, default 60;
    /// left as it is when not given).
    #[serde(default)]
    pub park_timeout_secs: Option<i32>,
    /// Callers nobody takes — no answer, nobody online, or closed — with no forward number may
    /// leave a message (left as it is when not given).
    #[serde(default)]
    pub voicemail: Option<bool>,
    /// The language of the prompts callers hear (queue position, voicemail, menus): `en` or `ru`
    /// (left as it is when not given).
    #[serde(default)]
    pub prompt_language: Option<String>,
}

/// Inbound routing: ring timeout and forward-on-no-answer number.
#[utoipa::path(get, path = "/api/telephony/routing", tag = "telephony", responses((status = 200, body = Routing)))]
pub async fn get_routing(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
) -> ApiResult<Json<Routing>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let s = repo::state(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(Routing {
        ring_timeout_secs: s.ring_timeout_secs,
        forward_number: s.forward_number,
        park_timeout_secs: Some(s.park_timeout_secs),
        voicemail: Some(s.voicemail),
        prompt_language: Some(s.prompt_language),
    }))
}

#[utoipa::path(put, path = "/api/telephony/routing", tag = "telephony", request_body = Routing,
    responses((status = 200, body = Routing), (status = 422, body = ErrorBody)))]
pub async fn put_routing(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    ApiJson(b): ApiJson<Routing>,
) -> ApiResult<Json<Routing>> {
    if !(5..=300).contains(&b.ring_timeout_secs) {
        return Err(ApiError::unprocessable("invalid_ring_timeout", "the ring timeout is 5 to 300 seconds"));
    }
    if b.park_timeout_secs.is_some_and(|p| !(5..=600).contains(&p)) {
        return Err(ApiError::unprocessable("invalid_park_timeout", "the park timeout is 5 to 600 seconds"));
    }
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let was = repo::state(&mut tx, a.tenant_id).await?;
    let park = b.park_timeout_secs.unwrap_or(was.park_timeout_secs);
    let voicemail = b.voicemail.unwrap_or(was.voicemail);
    let language = b.prompt_language.clone().unwrap_or(was.prompt_language);
    if !["en", "ru"].contains(&language.as_str()) {
        return Err(ApiError::unprocessable("invalid_prompt_language", "prompt_language: en or ru"));
    }
    let forward = b.forward_number.as_deref().map(str::trim).filter(|f| !f.is_empty()).map(str::to_string);
    if let Some(f) = &forward {
        let rules = callbase_db::settings::dial_rules(&mut tx, a.tenant_id).await?;
        if let Err(refusal) = rules.route(f, |_| false) {
            return Err(ApiError::unprocessable(
                "invalid_forward_number",
                format!("the forward number is refused: {refusal}"),
            ));
        }
    }
    repo::set_routing(
        &mut tx,
        a.tenant_id,
        b.ring_timeout_secs,
        forward.as_deref(),
        park,
        voicemail,
        &language,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(Routing {
        ring_timeout_secs: b.ring_timeout_secs,
        forward_number: forward,
        park_timeout_secs: Some(park),
        voicemail: Some(voicemail),
        prompt_language: Some(language),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Greeting {
    /// Length of the converted greeting.
    pub duration_ms: u64,
}

/// Largest greeting upload accepted (bytes).
pub const GREETING_MAX_BYTES: usize = 10 * 1024 * 1024;

/// Uploads the greeting callers hear before agents ring: MP3 or WAV as the request body. It is
/// converted to 8 kHz mono WAV and stored in the object store under an unguessable name.
#[utoipa::path(put, path = "/api/telephony/greeting", tag = "telephony", request_body(content = Vec<u8>, content_type = "audio/mpeg"),
    responses((status = 200, body = Greeting), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn put_greeting(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    body: axum::body::Bytes,
) -> ApiResult<Json<Greeting>> {
    replace_greeting(&st, a.tenant_id, GreetingSlot::Open, body).await
}

/// Stores an uploaded greeting in `slot`, replacing (and deleting) the one before.
pub(super) async fn replace_greeting(
    st: &AppState,
    tenant: callbase_core::TenantId,
    slot: GreetingSlot,
    body: axum::body::Bytes,
) -> ApiResult<Json<Greeting>> {
    let (name, duration_ms) = store_greeting(st, tenant, body).await?;
    let mut tx = st.db.tenant_tx(tenant).await?;
    let old = repo::set_greeting(&mut tx, tenant, slot, Some(&name)).await?;
    tx.commit().await?;
    drop_greeting(st, old).await;
    Ok(Json(Greeting { duration_ms }))
}

/// Removes the greeting in `slot` (and its file).
pub(super) async fn remove_greeting(
    st: &AppState,
    tenant: callbase_core::TenantId,
    slot: GreetingSlot,
) -> ApiResult<StatusCode> {
    let mut tx = st.db.tenant_tx(tenant).await?;
    let old = repo::set_greeting(&mut tx, tenant, slot, None).await?;
    tx.commit().await?;
    drop_greeting(st, old).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Converts an uploaded greeting (MP3 or WAV) to 8 kHz mono WAV and stores it in the object store
/// under an unguessable name; returns the name and the length. Bad audio is a 422 naming the file.
pub(super) async fn store_greeting(
    st: &AppState,
    tenant: callbase_core::TenantId,
    body: axum::body::Bytes,
) -> ApiResult<(String, u64)> {
    if body.is_empty() {
        return Err(ApiError::unprocessable(
            "empty_greeting",
            "send the greeting file (MP3 or WAV) as the request body",
        ));
    }
    let bytes = body.to_vec();
    let (wav, duration_ms) =
        tokio::task::spawn_blocking(move || callbase_recordings::audio::to_telephone_wav(bytes))
            .await
            .map_err(|e| ApiError::Internal(e.into()))?
            .map_err(|e| ApiError::unprocessable("invalid_greeting", e.to_string()))?;
    let name = format!("t{tenant}-{}.wav", crate::auth::session::random_token());
    st.store.put(&greeting_object(&name), wav, "audio/wav").await.map_err(|e| {
        tracing::warn!(error = %e, "cannot store a greeting");
        ApiError::Unavailable {
            code: "storage_unavailable",
            message: "the file store did not answer; nothing was changed, try again".into(),
        }
    })?;
    Ok((name, duration_ms))
}

/// Removes a replaced greeting's file (a failure leaves an unreferenced object, nothing worse).
pub(super) async fn drop_greeting(st: &AppState, old: Option<String>) {
    if let Some(old) = old {
        let _ = st.store.delete(&greeting_object(&old)).await;
    }
}

/// Removes the greeting: calls ring agents at once.
#[utoipa::path(delete, path = "/api/telephony/greeting", tag = "telephony", responses((status = 204)))]
pub async fn delete_greeting(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
) -> ApiResult<StatusCode> {
    remove_greeting(&st, a.tenant_id, GreetingSlot::Open).await
}

fn greeting_object(name: &str) -> String {
    format!("greetings/{name}")
}

/// `GET /media/greetings/{name}`: what Asterisk fetches to play a greeting. No session (Asterisk
/// has none): the name carries 128 random bits and nothing else is served here.
pub async fn media_greeting(
    State(st): State<AppState>,
    Path(name): Path<String>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let valid = name.strip_suffix(".wav").is_some_and(|stem| {
        stem.starts_with('t')
            && stem.len() < 80
            && stem.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    if !valid {
        return StatusCode::NOT_FOUND.into_response();
    }
    match st.store.get(&greeting_object(&name)).await {
        Ok(Some(bytes)) => ([(axum::http::header::CONTENT_TYPE, "audio/wav")], bytes).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read a greeting");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
