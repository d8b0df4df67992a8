//! `ApiJson<T>` and `ApiQuery<T>`: axum's `Json` and `Query` with their rejections turned into our
//! JSON error bodies, so malformed or oversized input answers 400/413/415/422 with a `code`, never a
//! plain-text body or a 500.
//!
//! Both are also the one place where every string a client sends is checked for control characters
//! (`callbase_core::check_text`): JSON string values and object keys at any depth, query parameter
//! names and values. A NUL reached PostgreSQL and answered 500 before; now any route taking text
//! through these extractors answers 422 `control_characters` naming the field, without a check of
//! its own.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = match axum::Json::<Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => v,
            Err(rej) => return Err(map_rejection(rej)),
        };
        check_value(&mut String::new(), &value)?;
        serde_path_to_error::deserialize(value).map(ApiJson).map_err(|e| {
            let path = e.path().to_string();
            let message = if path == "." {
                format!("the JSON body does not fit: {}", e.inner())
            } else {
                format!("the JSON body does not fit at {path}: {}", e.inner())
            };
            ApiError::BadRequest { status: StatusCode::UNPROCESSABLE_ENTITY, code: "invalid_body", message }
        })
    }
}

/// Walks a JSON value; `path` is the location so far (`note`, `types[2]`, `data.17`).
fn check_value(path: &mut String, v: &Value) -> Result<(), ApiError> {
    match v {
        Value::String(s) => check(path, s),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_value(path, item)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(map) => {
            for (k, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                // The key itself is text too (CRM data is keyed by field id, stored as jsonb).
                path.push_str(&k.escape_debug().to_string());
                check(path, k)?;
                check_value(path, item)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

fn check(path: &str, s: &str) -> Result<(), ApiError> {
    let field = if path.is_empty() { "the body" } else { path };
    Ok(callbase_core::check_text(field, s)?)
}

fn map_rejection(rej: JsonRejection) -> ApiError {
    let (status, code) = match &rej {
        JsonRejection::JsonDataError(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        JsonRejection::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
        JsonRejection::MissingJsonContentType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "expected_json"),
        JsonRejection::BytesRejection(_) if rej.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
        }
        _ => (rej.status(), "bad_request"),
    };
    ApiError::BadRequest { status, code, message: rej.body_text() }
}

/// The query string deserialised into `T`, after every parameter name and value passed
/// [`callbase_core::check_text`]. A parameter of the wrong type answers 422 `invalid_query`.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(query_rejection)?;
        for (k, v) in &pairs.0 {
            callbase_core::check_text(&format!("query parameter '{}'", k.escape_debug()), k)?;
            callbase_core::check_text(&format!("query parameter '{}'", k.escape_debug()), v)?;
        }
        let axum::extract::Query(v) =
            axum::extract::Query::<T>::try_from_uri(&parts.uri).map_err(query_rejection)?;
        Ok(ApiQuery(v))
    }
}

fn query_rejection(rej: QueryRejection) -> ApiError {
    ApiError::BadRequest {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "invalid_query",
        message: rej.body_text(),
    }
}

/// A figure a client measured and reports (call quality, preflight): absent, or finite within
/// `lo..=hi`.
pub fn figure_in(v: Option<f32>, lo: f32, hi: f32) -> bool {
    v.is_none_or(|v| v.is_finite() && (lo..=hi).contains(&v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code_and_message(v: Value) -> Option<String> {
        check_value(&mut String::new(), &v).err().map(|e| e.to_string())
    }

    /// Handlers take JSON and query strings only through `ApiJson`/`ApiQuery`, or their text would
    /// skip the control-character check (and their rejections would be axum's plain text).
    #[test]
    fn no_handler_takes_axums_json_or_query_directly() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![dir.join("lib.rs"), dir.join("sip.rs")];
        // Every file under routes/, in subdirectories too (routes/calls/, routes/telephony/).
        let mut dirs = vec![dir.join("routes")];
        while let Some(d) = dirs.pop() {
            for p in std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()) {
                if p.is_dir() {
                    dirs.push(p);
                } else {
                    files.push(p);
                }
            }
        }
        assert!(files.iter().any(|f| f.ends_with("routes/calls/history.rs")), "subdirectories are read");
        // `Json(b): Json<…>` or `Query(q): Query<…>` as an argument (ApiJson/ApiQuery do not match).
        let direct = regex::Regex::new(r"(^|[^A-Za-z_])(Json|Query)\(\w+\):").unwrap();
        assert!(files.iter().any(|f| f.ends_with("routes/crm/records.rs")), "the walk reaches routes/crm/");
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for (n, line) in text.lines().enumerate() {
                assert!(
                    !direct.is_match(line),
                    "{}:{}: take it with ApiJson/ApiQuery: {line}",
                    f.display(),
                    n + 1
                );
            }
        }
        assert!(
            direct.is_match("fn x(Query(q): Query<X>)") && direct.is_match("axum::Json(b): axum::Json<B>")
        );
        assert!(!direct.is_match("ApiQuery(q): ApiQuery<X>") && !direct.is_match("Ok(axum::Json(v)) => v"));
    }

    #[test]
    fn control_characters_are_found_at_any_depth_and_named() {
        assert_eq!(code_and_message(json!({"note": "two\nlines", "n": 1, "ok": [true, null]})), None);
        assert_eq!(
            code_and_message(json!({"note": "a\u{0}b"})).unwrap(),
            "note contains control characters (such as NUL or escape); only tab and line breaks are allowed"
        );
        assert!(code_and_message(json!({"types": ["ok", "bad\u{1b}"]})).unwrap().starts_with("types[1] "));
        assert!(code_and_message(json!({"data": {"17": "x\u{7}"}})).unwrap().starts_with("data.17 "));
        assert!(code_and_message(json!({"data": {"k\u{0}": "x"}})).unwrap().starts_with("data.k\\0 "));
        assert!(code_and_message(json!("\u{0}")).unwrap().starts_with("the body "));
    }
}
