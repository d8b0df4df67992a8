//! Telephony → Dial rules: the tenant's rules and a preview of what a typed number becomes.

use axum::extract::State;
use axum::Json;
use callbase_core::dial::{DialRules, Routed};
use callbase_db::settings;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{AdminUser, CurrentUser};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::TelephonyOn;
use crate::json::ApiJson;
use crate::AppState;

/// The tenant's dial rules (defaults until saved).
#[utoipa::path(get, path = "/api/telephony/dial-rules", tag = "telephony", responses((status = 200, body = DialRules)))]
pub async fn get(
    State(st): State<AppState>,
    cu: CurrentUser,
    _on: TelephonyOn,
) -> ApiResult<Json<DialRules>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let r = settings::dial_rules(&mut tx, cu.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(r))
}

#[utoipa::path(put, path = "/api/telephony/dial-rules", tag = "telephony", request_body = DialRules,
    responses((status = 200, body = DialRules), (status = 422, body = ErrorBody)))]
pub async fn put(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    ApiJson(rules): ApiJson<DialRules>,
) -> ApiResult<Json<DialRules>> {
    rules.validate().map_err(|m| ApiError::unprocessable("invalid_dial_rules", m))?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    settings::save_dial_rules(&mut tx, a.tenant_id, &rules).await?;
    tx.commit().await?;
    Ok(Json(rules))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PreviewBody {
    pub number: String,
    /// Rules to try instead of the saved ones (the settings page previews unsaved edits).
    pub rules: Option<DialRules>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    /// `internal`, `local`, `national`, `mobile`, `international`, or absent when refused.
    pub direction: Option<String>,
    pub e164: Option<String>,
    /// What goes to the trunk (before its rewrite), or the extension.
    pub dial: Option<String>,
    /// Why the number is refused, in words, and its code.
    pub refused: Option<String>,
    pub refused_code: Option<String>,
}

/// What a typed number becomes under the (saved or given) rules, or why it is refused.
#[utoipa::path(post, path = "/api/telephony/dial-rules/preview", tag = "telephony", request_body = PreviewBody,
    responses((status = 200, body = Preview), (status = 422, body = ErrorBody)))]
pub async fn preview(
    State(st): State<AppState>,
    cu: CurrentUser,
    ApiJson(b): ApiJson<PreviewBody>,
) -> ApiResult<Json<Preview>> {
    let rules = match b.rules {
        Some(r) => {
            r.validate().map_err(|m| ApiError::unprocessable("invalid_dial_rules", m))?;
            r
        }
        None => {
            let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
            let r = settings::dial_rules(&mut tx, cu.tenant_id).await?;
            tx.commit().await?;
            r
        }
    };
    let exts: Vec<String> = {
        let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
        let users = callbase_db::telephony::list_users(&mut tx, cu.tenant_id).await?;
        tx.commit().await?;
        users.into_iter().map(|u| u.extension).collect()
    };
    let out = match rules.route(&b.number, |e| exts.iter().any(|x| x == e)) {
        Ok(r) => {
            let direction =
                serde_json::to_value(r.direction()).ok().and_then(|v| v.as_str().map(str::to_string));
            match r {
                Routed::Internal { extension } => Preview {
                    direction,
                    e164: None,
                    dial: Some(extension),
                    refused: None,
                    refused_code: None,
                },
                Routed::External { e164, dial, .. } => {
                    Preview { direction, e164, dial: Some(dial), refused: None, refused_code: None }
                }
            }
        }
        Err(e) => Preview {
            direction: None,
            e164: None,
            dial: None,
            refused: Some(e.to_string()),
            refused_code: Some(e.code().into()),
        },
    };
    Ok(Json(out))
}
