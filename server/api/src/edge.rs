//! What every API route has in common at the edge, in one place: the answers the layers in front of
//! a handler give (session, CSRF, extractors) and their place in the OpenAPI document, so that the
//! document lists every error a route can answer (the schemathesis run in `tests/schemathesis`
//! checks that it does).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};

use crate::error::ApiError;

/// axum's own extractors (`Path`, `Query`) reject bad input with a plain-text 400. This turns those
/// into our JSON error (`invalid_path`, `invalid_query`), like [`crate::json::ApiJson`] does for
/// bodies, so a client always gets a `code`.
pub async fn json_rejections(resp: Response) -> Response {
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if resp.status() != StatusCode::BAD_REQUEST || is_json {
        return resp;
    }
    // A rejection's text is one short line; anything longer is not one of them.
    let Ok(bytes) = axum::body::to_bytes(resp.into_body(), 16 * 1024).await else {
        return ApiError::BadRequest {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: "bad request".into(),
        }
        .into_response();
    };
    let message = String::from_utf8_lossy(&bytes).into_owned();
    let code = if message.starts_with("Invalid URL") {
        "invalid_path"
    } else if message.starts_with("Failed to deserialize query string") {
        "invalid_query"
    } else {
        "bad_request"
    };
    ApiError::BadRequest { status: StatusCode::BAD_REQUEST, code, message }.into_response()
}

/// Routes that answer without a session.
const PUBLIC: &[&str] = &["/api/auth/csrf", "/api/auth/login", "/api/signup"];

/// Adds to every operation the errors of the layers in front of its handler, where the handler's
/// own annotation does not list them already: 400 for a path, query or body that does not parse,
/// 413/415/422 for a JSON body too large, not JSON or of the wrong shape, 401 without a session,
/// 403 for a failed CSRF or origin check on unsafe methods.
pub struct EdgeResponses;

impl utoipa::Modify for EdgeResponses {
    fn modify(&self, doc: &mut OpenApi) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let public = PUBLIC.contains(&path.as_str());
            for (op, is_unsafe) in operations(item) {
                let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let has_query = op.parameters.as_ref().is_some_and(|ps| {
                    ps.iter().any(|p| matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query))
                });
                let json_body =
                    op.request_body.as_ref().is_some_and(|b| b.content.contains_key("application/json"));
                let any_body = op.request_body.is_some();
                let mut add = |status: u16, why: &str| {
                    op.responses.responses.entry(status.to_string()).or_insert_with(|| {
                        ResponseBuilder::new()
                            .description(why)
                            .content(
                                "application/json",
                                ContentBuilder::new()
                                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                                    .build(),
                            )
                            .build()
                            .into()
                    });
                };
                if has_params || json_body {
                    add(
                        400,
                        "`invalid_path`, `invalid_query` or `malformed_json`: the request does not parse",
                    );
                }
                if has_query {
                    // ApiQuery checks every query value like any other input (crate::json).
                    add(422, "`invalid_query` (a parameter missing or of the wrong type), `control_characters`, `bad_page`");
                }
                if json_body {
                    add(415, "`expected_json`: the body is not `application/json`");
                    add(422, "`invalid_body` (or a field's own code): the JSON is not of the expected shape");
                }
                if any_body {
                    add(413, "`body_too_large`");
                }
                if !public {
                    add(401, "`unauthenticated`: no live session");
                }
                if is_unsafe {
                    add(403, "`csrf` or `bad_origin`: the CSRF token or the Origin does not match");
                }
            }
        }
    }
}

fn operations(item: &mut PathItem) -> Vec<(&mut Operation, bool)> {
    [
        (&mut item.get, false),
        (&mut item.post, true),
        (&mut item.put, true),
        (&mut item.patch, true),
        (&mut item.delete, true),
    ]
    .into_iter()
    .filter_map(|(op, is_unsafe)| op.as_mut().map(|o| (o, is_unsafe)))
    .collect()
}
