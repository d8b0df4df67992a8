//! The caller's own phone: what a desk phone or softphone needs, and a new desk password.

use axum::extract::State;
use axum::Json;
use callbase_telephony::lifecycle;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::TelephonyUser;
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneSetup {
    pub sip_login: String,
    /// The SIP domain / realm to enter in the softphone.
    pub domain: String,
    /// Where the phone registers (host and port).
    pub server: String,
    pub port: u16,
    pub transports: Vec<String>,
    pub extension: String,
    pub browser_calls: bool,
}

/// The values a desk phone or softphone needs (the caller's own account).
#[utoipa::path(get, path = "/api/telephony/me/phone-setup", tag = "telephony", responses((status = 200, body = PhoneSetup), (status = 403, body = ErrorBody)))]
pub async fn phone_setup(
    State(st): State<AppState>,
    TelephonyUser { tel: u, .. }: TelephonyUser,
) -> ApiResult<Json<PhoneSetup>> {
    let a = &st.cfg.asterisk;
    Ok(Json(PhoneSetup {
        sip_login: u.sip_login,
        domain: a.sip_public_host.clone(),
        server: a.sip_public_host.clone(),
        port: a.sip_public_port,
        transports: vec!["udp".into(), "tcp".into()],
        extension: u.extension,
        browser_calls: u.browser_calls,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewSecret {
    pub sip_password: String,
}

/// A new desk-phone password for the caller (shown once).
#[utoipa::path(post, path = "/api/telephony/me/phone-setup/password", tag = "telephony", responses((status = 200, body = NewSecret), (status = 403, body = ErrorBody)))]
pub async fn phone_setup_password(
    State(st): State<AppState>,
    TelephonyUser { user: cu, .. }: TelephonyUser,
) -> ApiResult<Json<NewSecret>> {
    let node = super::node(&st, cu.tenant_id).await?;
    let w = lifecycle::new_password(&st.db, node.pbx(), cu.tenant_id, None, cu.user_id).await?;
    Ok(Json(NewSecret { sip_password: w.password }))
}
