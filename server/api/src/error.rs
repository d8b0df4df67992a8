//! The one place where errors become HTTP responses.
//!
//! 4xx answers carry a stable `code` and a human `message`; 5xx answers are logged with their cause
//! chain and returned without internals.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use callbase_core::InputError;
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable code, e.g. `not_found`, `weak_password`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Input(#[from] InputError),
    /// 400/413/415/422 for bodies that are not the JSON we expect.
    #[error("{message}")]
    BadRequest { status: StatusCode, code: &'static str, message: String },
    #[error("sign in first")]
    Unauthenticated,
    #[error("the account, login or password is wrong")]
    BadCredentials,
    #[error("you do not have access to this")]
    Forbidden,
    /// 403 with a specific reason (e.g. `not_telephony_user`).
    #[error("{message}")]
    ForbiddenWhy { code: &'static str, message: String },
    #[error("{0}")]
    Csrf(&'static str),
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("too many failed attempts; try again in {retry_after} s")]
    Throttled { retry_after: u64 },
    /// A rate limit (`limits.rs`): 429 `rate_limited` with `Retry-After`.
    #[error("{message}")]
    RateLimited { retry_after: u64, message: String },
    /// A dependency (Asterisk) refused or did not answer; nothing was changed.
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Conflict { code, message: message.into() }
    }
    pub fn forbidden_code(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::ForbiddenWhy { code, message: message.into() }
    }
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest { status: StatusCode::UNPROCESSABLE_ENTITY, code, message: message.into() }
    }
}

impl From<callbase_core::sip::SipError> for ApiError {
    fn from(e: callbase_core::sip::SipError) -> Self {
        ApiError::unprocessable(e.code(), e.to_string())
    }
}

/// The CRM's errors keep their status and code: 404 `not_found`, 422 and 409 with the CRM's code,
/// 403 `masked_numbers`; database and other failures are 500s.
impl From<callbase_crm::CrmError> for ApiError {
    fn from(e: callbase_crm::CrmError) -> Self {
        use callbase_crm::CrmError;
        match e {
            CrmError::NotFound => ApiError::NotFound,
            CrmError::Invalid { code, message } => ApiError::unprocessable(code, message),
            CrmError::Conflict { code, message } => ApiError::conflict(code, message),
            CrmError::Masked(message) => ApiError::forbidden_code("masked_numbers", message),
            CrmError::Input(e) => ApiError::Input(e),
            CrmError::Db(e) => e.into(),
            CrmError::Internal(e) => ApiError::Internal(e),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<redis::RedisError> for ApiError {
    fn from(e: redis::RedisError) -> Self {
        ApiError::Internal(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            ApiError::Input(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.code()),
            ApiError::BadRequest { status, code, .. } => (*status, *code),
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::BadCredentials => (StatusCode::UNAUTHORIZED, "bad_credentials"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::ForbiddenWhy { code, .. } => (StatusCode::FORBIDDEN, *code),
            ApiError::Csrf(code) => (StatusCode::FORBIDDEN, *code),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, *code),
            ApiError::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, "throttled"),
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Unavailable { code, .. } => (StatusCode::SERVICE_UNAVAILABLE, *code),
            ApiError::Internal(e) => match dependency_down(e) {
                // PostgreSQL or Redis is down or restarting: a moment's outage, not a bug.
                Some(code) => {
                    tracing::warn!(error = %e, code, "request failed: a dependency is unreachable");
                    (StatusCode::SERVICE_UNAVAILABLE, code)
                }
                None => {
                    tracing::error!(error = ?e, "request failed");
                    (StatusCode::INTERNAL_SERVER_ERROR, "internal")
                }
            },
        };
        let message = match code {
            "database_unavailable" => {
                "the database is not reachable at the moment; try again shortly".to_string()
            }
            "redis_unavailable" => {
                "the session store is not reachable at the moment; try again shortly".to_string()
            }
            _ => self.to_string(),
        };
        let body = ErrorBody { code: code.to_string(), message };
        let mut resp = (status, Json(body)).into_response();
        if let ApiError::Throttled { retry_after } | ApiError::RateLimited { retry_after, .. } = self {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // A dependency is down for a moment: tell clients when to try again.
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// `database_unavailable` / `redis_unavailable` when an error comes from PostgreSQL or Redis being
/// unreachable (down, restarting, refusing connections) rather than from a request or a bug.
fn dependency_down(e: &anyhow::Error) -> Option<&'static str> {
    for cause in e.chain() {
        if let Some(db) = cause.downcast_ref::<sqlx::Error>() {
            let down = callbase_db::unavailable(db);
            return down.then_some("database_unavailable");
        }
        if let Some(r) = cause.downcast_ref::<redis::RedisError>() {
            let down = r.is_io_error()
                || r.is_connection_refusal()
                || r.is_connection_dropped()
                || r.is_timeout()
                || r.kind() == redis::ErrorKind::BusyLoadingError;
            return down.then_some("redis_unavailable");
        }
    }
    None
}

impl From<callbase_telephony::trunk_changes::TrunkChangeError> for ApiError {
    fn from(e: callbase_telephony::trunk_changes::TrunkChangeError) -> Self {
        use callbase_telephony::trunk_changes::TrunkChangeError as E;
        match e {
            E::NotFound => ApiError::NotFound,
            E::TooMany => ApiError::conflict("too_many_trunks", e.to_string()),
            E::HostRefused(_) => ApiError::unprocessable("trunk_host_refused", e.to_string()),
            E::PasswordMissing => ApiError::unprocessable("invalid_password", e.to_string()),
            E::Asterisk(why) => {
                tracing::warn!(error = %why, "Asterisk did not take a trunk change");
                ApiError::Unavailable {
                    code: "asterisk_unavailable",
                    message: "the telephony engine did not accept the change, so nothing was saved; try again in a minute"
                        .into(),
                }
            }
            E::Db(e) => e.into(),
            E::Redis(e) => e.into(),
            E::StoredHost(_) => ApiError::Internal(e.into()),
        }
    }
}

impl From<callbase_telephony::provision::ProvisionError> for ApiError {
    fn from(e: callbase_telephony::provision::ProvisionError) -> Self {
        use callbase_telephony::provision::ProvisionError as E;
        match e {
            E::ExtensionTaken(x) => ApiError::conflict("extension_taken", format!("extension {x} is taken")),
            E::LoginTaken(l) => ApiError::conflict(
                "sip_login_taken",
                format!("the SIP login {l} is already used on this platform"),
            ),
            E::AlreadyTelephonyUser => {
                ApiError::conflict("already_telephony_user", "this user is already a telephony user")
            }
            E::Db(e) => e.into(),
        }
    }
}

impl From<callbase_telephony::lifecycle::LifecycleError> for ApiError {
    fn from(e: callbase_telephony::lifecycle::LifecycleError) -> Self {
        use callbase_telephony::lifecycle::LifecycleError as E;
        match e {
            E::NotFound => ApiError::NotFound,
            E::Provision(p) => p.into(),
            E::AdminsOnly(_) => ApiError::forbidden_code("admins_only", e.to_string()),
            E::ConfirmationMismatch(_) => ApiError::unprocessable("confirmation_mismatch", e.to_string()),
            E::UnknownGroup(_) => ApiError::unprocessable("unknown_group", e.to_string()),
            E::Trunk(t) => t.into(),
            E::Db(e) => e.into(),
        }
    }
}

impl From<callbase_telephony::nodes::NodeError> for ApiError {
    fn from(e: callbase_telephony::nodes::NodeError) -> Self {
        use callbase_telephony::nodes::NodeError as E;
        match e {
            E::Full => ApiError::Unavailable {
                code: "no_node_capacity",
                message: "no telephony node can take this account right now; try again later".into(),
            },
            E::Db(e) => e.into(),
            e @ (E::BadRow(_) | E::Unknown(_)) => ApiError::Internal(e.into()),
        }
    }
}

impl From<callbase_telephony::commands::CommandError> for ApiError {
    fn from(e: callbase_telephony::commands::CommandError) -> Self {
        use callbase_telephony::commands::CommandError as E;
        match e {
            E::NoWorker => ApiError::Unavailable {
                code: "calls_unavailable",
                message: "the call service is not running; try again shortly".into(),
            },
            E::Redis(e) => e.into(),
            E::Encode(e) => ApiError::Internal(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callbase_crm::CrmError;

    #[test]
    fn an_unreachable_database_or_redis_is_a_503_with_retry_after_and_other_failures_a_500() {
        let r = ApiError::from(sqlx::Error::PoolTimedOut).into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.headers().contains_key(header::RETRY_AFTER));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let r = ApiError::from(redis::RedisError::from(refused)).into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let r = ApiError::from(sqlx::Error::RowNotFound).into_response();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let r = ApiError::Internal(anyhow::anyhow!("a bug")).into_response();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    fn status_and_code(e: CrmError) -> (StatusCode, Option<&'static str>) {
        let code = e.code();
        (ApiError::from(e).into_response().status(), code)
    }

    #[test]
    fn crm_errors_keep_their_status_and_code() {
        assert_eq!(status_and_code(CrmError::NotFound), (StatusCode::NOT_FOUND, Some("not_found")));
        assert_eq!(
            status_and_code(CrmError::invalid("invalid_filters", "x")),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_filters"))
        );
        assert_eq!(
            status_and_code(CrmError::conflict("table_name_taken", "x")),
            (StatusCode::CONFLICT, Some("table_name_taken"))
        );
        assert_eq!(status_and_code(CrmError::masked("x")), (StatusCode::FORBIDDEN, Some("masked_numbers")));
        let input = CrmError::from(callbase_core::check_text("q", "a\u{0}").unwrap_err());
        assert_eq!(status_and_code(input), (StatusCode::UNPROCESSABLE_ENTITY, Some("control_characters")));
        assert_eq!(
            status_and_code(CrmError::Db(sqlx::Error::RowNotFound)).0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[tokio::test]
    async fn a_crm_error_answers_its_code_and_message_as_json() {
        let resp = ApiError::from(CrmError::masked("numbers are hidden from you")).into_response();
        let bytes = axum::body::to_bytes(resp.into_body(), 1024).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["code"], "masked_numbers");
        assert_eq!(v["message"], "numbers are hidden from you");
    }
}
