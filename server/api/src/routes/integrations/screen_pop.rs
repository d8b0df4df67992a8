//! The screen-pop URL (AsterCRM's "external CRM URL", issue #21): a template the call card fills
//! with the call's values and opens — on a click, or by itself when the call rings or is answered.

use axum::extract::{Path, State};
use axum::Json;
use callbase_db::api_keys::{self as repo, ScreenPop as Row};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{AdminUser, CurrentUser};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::TelephonyOn;
use crate::json::ApiJson;
use crate::routes::audit::{record, Actor};
use crate::routes::calls::viewer;
use crate::AppState;

/// What a value keeps as it is: RFC 3986's unreserved characters; everything else is encoded.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The placeholders a template may hold.
pub const PLACEHOLDERS: &[&str] = &["caller", "callee", "direction", "call_id", "client_id"];

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url_template": "https://crm.example.com/find?phone={caller}&call={call_id}", "open_on": "ringing"}))]
pub struct ScreenPop {
    /// `https://crm.example.com/find?phone={caller}`; placeholders {caller} {callee} {direction}
    /// {call_id} {client_id}; "" turns the button off.
    pub url_template: String,
    /// `never` (a button only), `ringing` or `answer`: when the call card opens it by itself.
    pub open_on: String,
}

/// The values of one call, by placeholder.
pub struct Values<'a> {
    pub caller: &'a str,
    pub callee: &'a str,
    pub direction: &'a str,
    pub call_id: &'a str,
    pub client_id: &'a str,
}

/// Splits a template into text and placeholders: `Err(name)` for an unknown or unclosed one.
fn parts(template: &str) -> Result<Vec<(bool, &str)>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push((false, &rest[..open]));
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { return Err(after.to_string()) };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(name.to_string());
        }
        out.push((true, name));
        rest = &after[close + 1..];
    }
    out.push((false, rest));
    Ok(out)
}

/// The template with the values in place, each percent-encoded.
pub fn fill(template: &str, v: &Values<'_>) -> Result<String, String> {
    let mut s = String::new();
    for (is_name, text) in parts(template)? {
        if !is_name {
            s.push_str(text);
            continue;
        }
        let value = match text {
            "caller" => v.caller,
            "callee" => v.callee,
            "direction" => v.direction,
            "call_id" => v.call_id,
            _ => v.client_id,
        };
        s.extend(utf8_percent_encode(value, VALUE));
    }
    Ok(s)
}

/// A template is saved only when it names known placeholders and fills to an http(s) URL.
fn check(t: &ScreenPop) -> ApiResult<()> {
    if !["never", "ringing", "answer"].contains(&t.open_on.as_str()) {
        return Err(ApiError::unprocessable("invalid_open_on", "open_on is never, ringing or answer"));
    }
    if t.url_template.is_empty() {
        return Ok(());
    }
    if t.url_template.len() > 2000 {
        return Err(ApiError::unprocessable(
            "invalid_url",
            "the URL template is longer than 2000 characters",
        ));
    }
    let sample = Values { caller: "1", callee: "2", direction: "inbound", call_id: "3", client_id: "4" };
    let filled = fill(&t.url_template, &sample).map_err(|name| {
        ApiError::unprocessable(
            "unknown_placeholder",
            format!("unknown placeholder {{{name}}}; the placeholders are {{{}}}", PLACEHOLDERS.join("} {")),
        )
    })?;
    match url::Url::parse(&filled) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(()),
        _ => Err(ApiError::unprocessable("invalid_url", "the URL template must make an http(s) URL")),
    }
}

/// The screen-pop settings (administrators).
#[utoipa::path(get, path = "/api/integrations/screen-pop", tag = "integrations",
    responses((status = 200, body = ScreenPop), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn get(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
) -> ApiResult<Json<ScreenPop>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let r = repo::screen_pop(&mut tx, a.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(ScreenPop { url_template: r.url_template, open_on: r.open_on }))
}

/// Saves the template: 422 `unknown_placeholder` naming it, `invalid_url`, `invalid_open_on`.
#[utoipa::path(put, path = "/api/integrations/screen-pop", tag = "integrations", request_body = ScreenPop,
    responses((status = 200, body = ScreenPop), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    who: Actor,
    ApiJson(mut b): ApiJson<ScreenPop>,
) -> ApiResult<Json<ScreenPop>> {
    b.url_template = b.url_template.trim().to_string();
    check(&b)?;
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let before = repo::screen_pop(&mut tx, a.tenant_id).await?;
    let row = Row { url_template: b.url_template.clone(), open_on: b.open_on.clone() };
    if !repo::set_screen_pop(&mut tx, a.tenant_id, &row).await? {
        return Err(crate::extract::telephony_off());
    }
    tx.commit().await?;
    record(
        &st,
        &who,
        "screen_pop.update",
        "screen-pop",
        Some(json!({"url_template": before.url_template, "open_on": before.open_on})),
        Some(json!({"url_template": b.url_template, "open_on": b.open_on})),
    )
    .await?;
    Ok(Json(b))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallScreenPop {
    /// The filled URL; none when the account has no template.
    pub url: Option<String>,
    /// `never`, `ringing` or `answer`.
    pub open_on: String,
}

/// A call's screen-pop URL for the call card (anyone who sees the call). {caller} is the calling
/// party and {callee} the called one: the customer's number on one side, the agent's extension
/// (or the dialled DID) on the other; a masked viewer gets the masked number.
#[utoipa::path(get, path = "/api/calls/{id}/screen-pop", tag = "calls", params(("id" = Uuid, Path)),
    responses((status = 200, body = CallScreenPop), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn for_call(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<CallScreenPop>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let v = viewer(&mut tx, &cu).await?;
    let row = v.visible(&mut tx, id).await?;
    let t = repo::screen_pop(&mut tx, cu.tenant_id).await?;
    let ext = match row.user_id {
        Some(u) => callbase_db::telephony::get_user(&mut tx, cu.tenant_id, callbase_core::UserId(u))
            .await?
            .map(|t| t.extension),
        None => None,
    };
    let client = match row.crm_record_id {
        Some(r) => Some(r),
        None => callbase_crm::repo::phones::exact(&mut tx, cu.tenant_id, &row.number, 1)
            .await?
            .first()
            .map(|m| m.record_id.0),
    };
    tx.commit().await?;
    if t.url_template.is_empty() {
        return Ok(Json(CallScreenPop { url: None, open_on: t.open_on }));
    }
    let number = v.shown_number(&row);
    let ours = ext.or(row.did.clone()).unwrap_or_default();
    let (caller, callee) = if row.direction == "inbound" { (number, ours) } else { (ours, number) };
    let (call_id, client_id) = (row.id.to_string(), client.map(|c| c.to_string()).unwrap_or_default());
    let values = Values {
        caller: &caller,
        callee: &callee,
        direction: &row.direction,
        call_id: &call_id,
        client_id: &client_id,
    };
    let url = fill(&t.url_template, &values).ok();
    Ok(Json(CallScreenPop { url, open_on: t.open_on }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_encoded_and_name_unknown_placeholders() {
        let v =
            Values { caller: "+7 916", callee: "101", direction: "inbound", call_id: "c-1", client_id: "" };
        assert_eq!(
            fill("https://crm.example/p?n={caller}&to={callee}&d={direction}&c={call_id}&r={client_id}", &v)
                .unwrap(),
            "https://crm.example/p?n=%2B7%20916&to=101&d=inbound&c=c-1&r="
        );
        assert_eq!(fill("https://x/{nope}", &v), Err("nope".to_string()));
        assert_eq!(fill("https://x/{caller", &v), Err("caller".to_string()));
        assert_eq!(fill("https://x/plain", &v).unwrap(), "https://x/plain");
    }

    #[test]
    fn a_template_must_make_an_http_url() {
        let t = |u: &str| ScreenPop { url_template: u.into(), open_on: "never".into() };
        assert!(check(&t("")).is_ok());
        assert!(check(&t("https://crm.example/?n={caller}")).is_ok());
        assert!(check(&t("javascript:alert({caller})")).is_err());
        assert!(check(&t("{caller}")).is_err());
        assert!(check(&ScreenPop { url_template: String::new(), open_on: "sometimes".into() }).is_err());
    }
}
