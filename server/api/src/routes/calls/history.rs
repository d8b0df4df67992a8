//! The call history: the list (filters, sorting, CSV export), one call, and what its card writes
//! back (note, call type and result, legal hold, wrap-up).

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use callbase_db::calls::history::{self as repo, CardUpdate, Sort, SortBy};
use callbase_db::calls::{CallDirection, CallResult};
use callbase_db::Tx;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{viewer, CallRecord, Viewer, PAGE_MAX};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use crate::AppState;

#[derive(Debug, Default, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    /// Calls started at or after (RFC 3339 or `YYYY-MM-DD`).
    pub from: Option<String>,
    /// Calls started before (RFC 3339, or `YYYY-MM-DD`: that whole day included).
    pub to: Option<String>,
    pub user_id: Option<i64>,
    /// inbound, outbound, internal
    pub direction: Option<String>,
    /// answered, missed, busy, failed, refused, forwarded
    pub result: Option<String>,
    /// Only unanswered inbound calls.
    #[serde(default)]
    pub missed: bool,
    /// Part of the number.
    pub number: Option<String>,
    /// The calls linked to this CRM record (the client's history: dialled from it, matched to it,
    /// or created/attached on a call card).
    pub record_id: Option<i64>,
    /// `any`: only calls with a voicemail message; `new`: only messages nobody listened to yet.
    pub voicemail: Option<String>,
    /// Missed calls `false`: not called back yet (the worklist), `true`: called back (by a later
    /// outbound call to the number).
    pub called_back: Option<bool>,
    /// The reports' drill-down: answered (`true`) or not.
    pub answered: Option<bool>,
    /// Only busy, failed or refused calls.
    #[serde(default)]
    pub failed: bool,
    /// Only calls on this trunk (slot 1–3).
    pub trunk: Option<i16>,
    /// Only calls that went through this queue…
    pub queue_id: Option<i64>,
    /// …and left it so: answered, abandoned, overflow, callback.
    pub queue_outcome: Option<String>,
    /// Only queued calls answered within (`true`) or after (`false`) the service level.
    pub in_service_level: Option<bool>,
    /// Only inbound calls that rang this agent out.
    pub rang_out: Option<i64>,
    /// Only calls taken by members of this access group.
    pub group_id: Option<i64>,
    /// Only calls started on this ISO weekday (1 Monday … 7 Sunday), in the account's time zone…
    pub weekday: Option<i32>,
    /// …and at this hour (0–23).
    pub hour: Option<i32>,
    /// started_at (default), duration, number, result, direction, user
    pub sort: Option<String>,
    /// asc or desc (default)
    pub order: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

fn parse_when(v: &str, end: bool) -> ApiResult<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(v, &Rfc3339) {
        return Ok(t);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(v, &fmt).map_err(|_| {
        ApiError::unprocessable(
            "invalid_period",
            format!("'{v}' is not a date (YYYY-MM-DD) or an RFC 3339 time"),
        )
    })?;
    let d = if end { d.next_day().unwrap_or(d) } else { d };
    Ok(d.midnight().assume_utc())
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

impl Filter {
    /// Masked users cannot search or sort by number (probing would reveal the numbers; sorting
    /// beside calls to numbers they chose, a binary search).
    fn check(&self, v: &Viewer) -> ApiResult<()> {
        if v.masking.is_some() && self.number.as_deref().is_some_and(|n| !n.trim().is_empty()) {
            return Err(ApiError::forbidden_code(
                "masked_numbers",
                "numbers are hidden from you: filter by other columns",
            ));
        }
        if v.masking.is_some() && self.sort.as_deref() == Some("number") {
            return Err(ApiError::forbidden_code(
                "masked_numbers",
                "numbers are hidden from you: sort by other columns",
            ));
        }
        Ok(())
    }

    /// The filters and sort order, parsed (422 naming the first bad one).
    fn parse(&self) -> ApiResult<(repo::Filter, Sort)> {
        let from = nonempty(&self.from).map(|f| parse_when(f, false)).transpose()?;
        let to = nonempty(&self.to).map(|t| parse_when(t, true)).transpose()?;
        let direction = match nonempty(&self.direction) {
            None => None,
            Some("inbound") => Some(CallDirection::Inbound),
            Some("outbound") => Some(CallDirection::Outbound),
            Some("internal") => Some(CallDirection::Internal),
            Some(_) => {
                return Err(ApiError::unprocessable(
                    "invalid_direction",
                    "direction is inbound, outbound or internal",
                ))
            }
        };
        let result = match nonempty(&self.result) {
            None => None,
            Some("answered") => Some(CallResult::Answered),
            Some("missed") => Some(CallResult::Missed),
            Some("busy") => Some(CallResult::Busy),
            Some("failed") => Some(CallResult::Failed),
            Some("refused") => Some(CallResult::Refused),
            Some("forwarded") => Some(CallResult::Forwarded),
            Some(_) => {
                return Err(ApiError::unprocessable(
                    "invalid_result",
                    "result is answered, missed, busy, failed, refused or forwarded",
                ))
            }
        };
        let number = self
            .number
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|n| n.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect());
        let (voicemail, voicemail_new) = match nonempty(&self.voicemail) {
            None => (false, false),
            Some("any") => (true, false),
            Some("new") => (true, true),
            Some(_) => return Err(ApiError::unprocessable("invalid_voicemail", "voicemail is any or new")),
        };
        let filter = repo::Filter {
            from,
            to,
            user_id: self.user_id,
            direction,
            result,
            missed: self.missed,
            number,
            record_id: self.record_id,
            voicemail,
            voicemail_new,
            called_back: self.called_back,
            answered: self.answered,
            failed: self.failed,
            trunk: self.trunk,
            queue_id: self.queue_id,
            queue_outcome: match nonempty(&self.queue_outcome) {
                None => None,
                Some(o @ ("answered" | "abandoned" | "overflow" | "callback")) => Some(o.to_string()),
                Some(_) => {
                    return Err(ApiError::unprocessable(
                        "invalid_queue_outcome",
                        "queue_outcome is answered, abandoned, overflow or callback",
                    ))
                }
            },
            in_service_level: self.in_service_level,
            rang_out: self.rang_out,
            group_id: self.group_id,
            weekday: match self.weekday {
                Some(d) if !(1..=7).contains(&d) => {
                    return Err(ApiError::unprocessable(
                        "invalid_weekday",
                        "weekday is 1 (Monday) to 7 (Sunday)",
                    ))
                }
                d => d,
            },
            hour: match self.hour {
                Some(h) if !(0..=23).contains(&h) => {
                    return Err(ApiError::unprocessable("invalid_hour", "hour is 0 to 23"))
                }
                h => h,
            },
        };
        let by = match self.sort.as_deref().unwrap_or("started_at") {
            "started_at" => SortBy::StartedAt,
            "duration" => SortBy::Duration,
            "number" => SortBy::Number,
            "result" => SortBy::Result,
            "direction" => SortBy::Direction,
            "user" => SortBy::User,
            other => {
                return Err(ApiError::unprocessable("invalid_sort", format!("cannot sort by '{other}'")))
            }
        };
        let descending = match self.order.as_deref().unwrap_or("desc") {
            "asc" => false,
            "desc" => true,
            _ => return Err(ApiError::unprocessable("invalid_order", "order is asc or desc")),
        };
        Ok((filter, Sort { by, descending }))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallPage {
    pub items: Vec<CallRecord>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// Call records, newest first by default.
#[utoipa::path(get, path = "/api/calls", tag = "calls", params(Filter),
    responses((status = 200, body = CallPage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    cu: CurrentUser,
    ApiQuery(f): ApiQuery<Filter>,
) -> ApiResult<Json<CallPage>> {
    let per_page = f.per_page.unwrap_or(50).clamp(1, 200);
    let (page, offset) = callbase_core::page_offset(f.page, per_page, PAGE_MAX)?;
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let v = viewer(&mut tx, &cu).await?;
    f.check(&v)?;
    let (filter, sort) = f.parse()?;
    let total = repo::count(&mut tx, &v.scope(), &filter).await?;
    let rows = repo::page(&mut tx, &v.scope(), &filter, sort, per_page, offset).await?;
    tx.commit().await?;
    Ok(Json(CallPage { items: rows.into_iter().map(|r| v.shape(r)).collect(), total, page, per_page }))
}

/// A CSV cell: quoted, and a leading `= + - @` (or tab/CR) neutralised with `'` so spreadsheets
/// never evaluate it as a formula.
pub fn csv_cell(v: &str) -> String {
    format!("\"{}\"", callbase_core::crm::csv_safe(v).replace('"', "\"\""))
}

/// The filtered call records as CSV (at most 100 000 rows).
#[utoipa::path(get, path = "/api/calls/export.csv", tag = "calls", params(Filter),
    responses((status = 200, content_type = "text/csv"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export_csv(
    State(st): State<AppState>,
    cu: CurrentUser,
    ApiQuery(f): ApiQuery<Filter>,
) -> ApiResult<Response> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let v = viewer(&mut tx, &cu).await?;
    f.check(&v)?;
    let (filter, sort) = f.parse()?;
    let rows = repo::all(&mut tx, &v.scope(), &filter, sort, 100_000).await?;
    tx.commit().await?;
    let mut out = String::from("id,started_at,direction,user,number,did,trunk,result,reason,duration_secs,connect_secs,talk_secs,hold_secs,call_type,call_result,note,recording\r\n");
    let fmt = |t: Option<OffsetDateTime>| {
        t.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()).unwrap_or_default()
    };
    for r in rows {
        let c = v.shape(r);
        let cells = [
            c.id.to_string(),
            fmt(Some(c.started_at)),
            c.direction,
            c.user_name.unwrap_or_default(),
            c.number,
            c.did.unwrap_or_default(),
            c.trunk_slot.map(|t| t.to_string()).unwrap_or_default(),
            c.result.unwrap_or_default(),
            c.reason.unwrap_or_default(),
            c.duration_secs.map(|x| x.to_string()).unwrap_or_default(),
            c.connect_secs.map(|x| x.to_string()).unwrap_or_default(),
            c.talk_secs.map(|x| x.to_string()).unwrap_or_default(),
            c.hold_secs.to_string(),
            c.call_type.unwrap_or_default(),
            c.call_result.unwrap_or_default(),
            c.note.unwrap_or_default(),
            c.recording.map(|r| r.state).unwrap_or_default(),
        ];
        out.push_str(&cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"calls.csv\""),
        ],
        // A BOM so spreadsheet programs read UTF-8 names correctly.
        format!("\u{feff}{out}"),
    )
        .into_response())
}

/// The raw number of a call the user may see, and the CRM record linked to it (for the call card;
/// the number itself never leaves the server from here).
pub async fn call_number(tx: &mut Tx, cu: &CurrentUser, id: Uuid) -> ApiResult<(String, Option<i64>)> {
    let v = viewer(tx, cu).await?;
    let row = v.visible(tx, id).await?;
    let linked = repo::linked_record(tx, cu.tenant_id, id).await?;
    Ok((row.number, linked))
}

#[utoipa::path(get, path = "/api/calls/{id}", tag = "calls", params(("id" = Uuid, Path)),
    responses((status = 200, body = CallRecord), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<CallRecord>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let v = viewer(&mut tx, &cu).await?;
    let row = v.visible(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Json(v.shape(row)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchCall {
    pub note: Option<String>,
    /// One of the tenant's call types ("" clears).
    pub call_type: Option<String>,
    /// One of the tenant's call results ("" clears).
    pub call_result: Option<String>,
    /// Administrators only: exempt the recording from retention.
    pub legal_hold: Option<bool>,
    /// The agent finished the after-call work (closed the card): records the wrap-up time once,
    /// for an ended call of their own.
    #[serde(default)]
    pub wrapup_done: bool,
}

/// A dictionary value: unchanged (None), cleared (`""`), or one of the allowed values.
fn pick(val: &Option<String>, allowed: &[String], field: &str) -> ApiResult<Option<Option<String>>> {
    match val.as_deref().map(str::trim) {
        None => Ok(None),
        Some("") => Ok(Some(None)),
        Some(x) if allowed.iter().any(|a| a == x) => Ok(Some(Some(x.to_string()))),
        Some(x) => Err(ApiError::unprocessable(
            "invalid_dictionary_value",
            format!("'{x}' is not one of the account's {field} values"),
        )),
    }
}

/// Note, call type and result (from the call card), legal hold (administrators).
#[utoipa::path(patch, path = "/api/calls/{id}", tag = "calls", params(("id" = Uuid, Path)), request_body = PatchCall,
    responses((status = 200, body = CallRecord), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch(
    State(st): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<PatchCall>,
) -> ApiResult<Json<CallRecord>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let v = viewer(&mut tx, &cu).await?;
    v.visible(&mut tx, id).await?;
    // Sub-administrators see every call like administrators, but a hold is an administrator's.
    if b.legal_hold.is_some() && !(v.admin && cu.role == callbase_core::Role::Administrator) {
        return Err(ApiError::forbidden_code("admins_only", "only administrators set or lift a legal hold"));
    }
    let settings = callbase_db::calls::settings::get(&mut tx, v.tenant).await?;
    let call_type = pick(&b.call_type, &settings.call_types, "call type")?;
    let call_result = pick(&b.call_result, &settings.call_results, "call result")?;
    if b.note.as_ref().is_some_and(|n| n.chars().count() > 4000) {
        return Err(ApiError::unprocessable("note_too_long", "a note holds at most 4 000 characters"));
    }
    let update = CardUpdate {
        note: b.note.as_ref().map(|n| Some(n.trim().to_string()).filter(|s| !s.is_empty())),
        call_type,
        call_result,
        wrapup_by: b.wrapup_done.then_some(v.user),
    };
    repo::update_card(&mut tx, v.tenant, id, &update).await?;
    if let Some(hold) = b.legal_hold {
        callbase_db::calls::recording::set_legal_hold(&mut tx, v.tenant, id, hold).await?;
    }
    // Closing the card ends the agent's wrap-up (issue #18).
    let ready = if b.wrapup_done {
        callbase_db::agent_states::end_wrapup(&mut tx, v.tenant, v.user).await?
    } else {
        None
    };
    let row = v.visible(&mut tx, id).await?;
    tx.commit().await?;
    if let Some(s) = ready {
        callbase_telephony::agent_states::publish(&st.redis, v.tenant, &s).await;
    }
    Ok(Json(v.shape(row)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_never_start_a_formula() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+74951234567"), "\"+74951234567\"");
        assert_eq!(csv_cell("+1+cmd|' /C calc'!A0"), "\"'+1+cmd|' /C calc'!A0\"");
        assert_eq!(csv_cell("-1"), "\"'-1\"");
        assert_eq!(csv_cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(csv_cell("plain"), "\"plain\"");
    }

    #[test]
    fn periods_accept_days_and_times() {
        let d = parse_when("2026-11-24", true).unwrap();
        assert_eq!(d, time::macros::datetime!(2026-11-25 0:00 UTC));
        assert!(parse_when("2026-11-24T10:00:00Z", false).is_ok());
        assert!(parse_when("yesterday", false).is_err());
    }
}
