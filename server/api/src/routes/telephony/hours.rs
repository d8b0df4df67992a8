//! Business hours (issue #19, item 2): the tenant's time zone, a weekly schedule of opening ranges
//! and holidays; while closed, inbound calls hear the closed greeting and go to the closed
//! destination or end as missed. The whole schedule is replaced at once: bad input answers 422
//! naming the field and entry, and nothing is saved.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use callbase_db::hours::{self as repo, Holiday, Range, MAX_HOLIDAYS, MAX_RANGES};
use callbase_db::telephony::GreetingSlot;
use serde::{Deserialize, Serialize};
use time::macros::format_description;
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

use super::routing::{remove_greeting, replace_greeting, Greeting};
use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::TelephonyOn;
use crate::json::ApiJson;
use crate::AppState;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpeningRange {
    /// ISO weekday: 1 = Monday … 7 = Sunday.
    pub day: i16,
    /// Local opening time, `HH:MM`.
    pub from: String,
    /// Local closing time, `HH:MM` after `from` (`24:00` = midnight at the day's end).
    pub to: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HolidayEntry {
    /// `YYYY-MM-DD`, a local date in the tenant's time zone: closed all day.
    pub date: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct HoursBody {
    /// Off: the tenant is always open.
    pub enabled: bool,
    /// IANA time zone, e.g. `Europe/Moscow`; also the zone of reports.
    pub time_zone: String,
    #[serde(default)]
    pub weekly: Vec<OpeningRange>,
    #[serde(default)]
    pub holidays: Vec<HolidayEntry>,
    /// Where calls go while closed (through the trunks); none = they end as missed.
    #[serde(default)]
    pub closed_forward: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Hours {
    pub enabled: bool,
    pub time_zone: String,
    pub weekly: Vec<OpeningRange>,
    pub holidays: Vec<HolidayEntry>,
    pub closed_forward: Option<String>,
    /// A closed greeting is uploaded.
    pub closed_greeting: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OpenNow {
    /// What the schedule says now (always open while business hours are off).
    pub open: bool,
    /// The tenant's local date and time now, e.g. `2026-12-06 14:05 (Asia/Kolkata)`.
    pub local_now: String,
    /// Today's holiday, when it is one.
    pub holiday: Option<String>,
}

const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// `HH:MM` → minutes of the day (`24:00` = 1440 only where `end`).
fn minutes(s: &str, end: bool) -> Option<i16> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i16, i16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) if end => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

fn hhmm(min: i16) -> String {
    format!("{:02}:{:02}", min / 60, min % 60)
}

/// The opening ranges, checked: each names its entry (`weekly[i]`) when it is wrong or overlaps
/// another range of its day.
pub fn ranges(weekly: &[OpeningRange]) -> Result<Vec<Range>, ApiError> {
    if weekly.len() > MAX_RANGES {
        return Err(ApiError::unprocessable(
            "too_many_ranges",
            format!("weekly: at most {MAX_RANGES} opening ranges"),
        ));
    }
    let mut out = Vec::with_capacity(weekly.len());
    for (i, w) in weekly.iter().enumerate() {
        if !(1..=7).contains(&w.day) {
            return Err(ApiError::unprocessable(
                "invalid_hours",
                format!("weekly[{i}].day: 1 (Monday) to 7 (Sunday)"),
            ));
        }
        let from = minutes(&w.from, false).ok_or_else(|| {
            ApiError::unprocessable("invalid_hours", format!("weekly[{i}].from: a time as HH:MM, e.g. 09:00"))
        })?;
        let to = minutes(&w.to, true).ok_or_else(|| {
            ApiError::unprocessable("invalid_hours", format!("weekly[{i}].to: a time as HH:MM, e.g. 18:00"))
        })?;
        if to <= from {
            return Err(ApiError::unprocessable(
                "invalid_hours",
                format!("weekly[{i}]: closes at {} — not after it opens at {}", hhmm(to), hhmm(from)),
            ));
        }
        out.push((i, Range { weekday: w.day, opens: from, closes: to }));
    }
    let mut sorted = out.clone();
    sorted.sort_by_key(|(_, r)| (r.weekday, r.opens));
    for pair in sorted.windows(2) {
        let ((i, a), (j, b)) = (pair[0], pair[1]);
        if a.weekday == b.weekday && b.opens < a.closes {
            let (first, second) = if i < j { (i, j) } else { (j, i) };
            return Err(ApiError::unprocessable(
                "overlapping_hours",
                format!(
                    "weekly[{second}] overlaps weekly[{first}]: {} {}–{} and {}–{}",
                    DAYS[(a.weekday - 1) as usize],
                    hhmm(a.opens),
                    hhmm(a.closes),
                    hhmm(b.opens),
                    hhmm(b.closes)
                ),
            ));
        }
    }
    Ok(out.into_iter().map(|(_, r)| r).collect())
}

/// The holidays, checked: each names its entry (`holidays[i]`).
pub fn holidays(entries: &[HolidayEntry]) -> Result<Vec<Holiday>, ApiError> {
    if entries.len() > MAX_HOLIDAYS {
        return Err(ApiError::unprocessable(
            "too_many_holidays",
            format!("holidays: at most {MAX_HOLIDAYS} days"),
        ));
    }
    let mut out: Vec<Holiday> = Vec::with_capacity(entries.len());
    for (i, h) in entries.iter().enumerate() {
        let day = Date::parse(h.date.trim(), format_description!("[year]-[month]-[day]")).map_err(|_| {
            ApiError::unprocessable("invalid_holiday", format!("holidays[{i}].date: a date as YYYY-MM-DD"))
        })?;
        let name = h.name.trim().to_string();
        if name.chars().count() > 100 {
            return Err(ApiError::unprocessable(
                "invalid_holiday",
                format!("holidays[{i}].name: at most 100 characters"),
            ));
        }
        if out.iter().any(|o| o.day == day) {
            return Err(ApiError::unprocessable(
                "duplicate_holiday",
                format!("holidays[{i}].date: {day} is listed twice"),
            ));
        }
        out.push(Holiday { day, name });
    }
    Ok(out)
}

async fn current(st: &AppState, tenant: callbase_core::TenantId) -> ApiResult<Hours> {
    let mut tx = st.db.tenant_tx(tenant).await?;
    let s = repo::get(&mut tx, tenant).await?;
    tx.commit().await?;
    Ok(Hours {
        enabled: s.settings.hours_enabled,
        time_zone: s.settings.time_zone,
        weekly: s
            .ranges
            .iter()
            .map(|r| OpeningRange { day: r.weekday, from: hhmm(r.opens), to: hhmm(r.closes) })
            .collect(),
        holidays: s
            .holidays
            .into_iter()
            .map(|h| HolidayEntry { date: h.day.to_string(), name: h.name })
            .collect(),
        closed_forward: s.settings.closed_forward,
        closed_greeting: s.settings.closed_greeting_key.is_some(),
    })
}

/// Whether the business hours say open now, and the tenant's local time.
#[utoipa::path(get, path = "/api/telephony/hours/now", tag = "telephony", responses((status = 200, body = OpenNow)))]
pub async fn now(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
) -> ApiResult<Json<OpenNow>> {
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    let now = repo::open_at(&mut tx, a.tenant_id, OffsetDateTime::now_utc()).await?;
    tx.commit().await?;
    Ok(Json(OpenNow { open: now.open, local_now: now.local, holiday: now.holiday }))
}

/// The business hours.
#[utoipa::path(get, path = "/api/telephony/hours", tag = "telephony", responses((status = 200, body = Hours)))]
pub async fn get(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
) -> ApiResult<Json<Hours>> {
    Ok(Json(current(&st, a.tenant_id).await?))
}

/// Replaces the business hours: time zone, weekly opening ranges, holidays and where calls go while
/// closed. Bad input answers 422 naming the field and entry (`weekly[2]`, `holidays[0].date`);
/// nothing is saved then.
#[utoipa::path(put, path = "/api/telephony/hours", tag = "telephony", request_body = HoursBody,
    responses((status = 200, body = Hours), (status = 422, body = ErrorBody)))]
pub async fn put(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    ApiJson(b): ApiJson<HoursBody>,
) -> ApiResult<Json<Hours>> {
    let ranges = ranges(&b.weekly)?;
    let holidays = holidays(&b.holidays)?;
    let zone = b.time_zone.trim();
    let mut tx = st.db.tenant_tx(a.tenant_id).await?;
    if zone.is_empty() || zone.len() > 64 || !repo::zone_exists(&mut tx, zone).await? {
        return Err(ApiError::unprocessable(
            "invalid_time_zone",
            format!("time_zone: {zone:?} is no time zone; use a name such as Europe/Moscow"),
        ));
    }
    let forward = b.closed_forward.as_deref().map(str::trim).filter(|f| !f.is_empty());
    if let Some(f) = forward {
        let rules = callbase_db::settings::dial_rules(&mut tx, a.tenant_id).await?;
        if let Err(refusal) = rules.route(f, |_| false) {
            return Err(ApiError::unprocessable(
                "invalid_closed_forward",
                format!("closed_forward: the number is refused: {refusal}"),
            ));
        }
    }
    repo::set(&mut tx, a.tenant_id, b.enabled, zone, forward, &ranges, &holidays).await?;
    tx.commit().await?;
    Ok(Json(current(&st, a.tenant_id).await?))
}

/// Uploads the greeting callers hear while the tenant is closed (MP3 or WAV as the request body).
#[utoipa::path(put, path = "/api/telephony/hours/greeting", tag = "telephony", request_body(content = Vec<u8>, content_type = "audio/mpeg"),
    responses((status = 200, body = Greeting), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn put_greeting(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
    body: axum::body::Bytes,
) -> ApiResult<Json<Greeting>> {
    replace_greeting(&st, a.tenant_id, GreetingSlot::Closed, body).await
}

/// Removes the closed greeting.
#[utoipa::path(delete, path = "/api/telephony/hours/greeting", tag = "telephony", responses((status = 204)))]
pub async fn delete_greeting(
    State(st): State<AppState>,
    AdminUser(a): AdminUser,
    _on: TelephonyOn,
) -> ApiResult<StatusCode> {
    remove_greeting(&st, a.tenant_id, GreetingSlot::Closed).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(day: i16, from: &str, to: &str) -> OpeningRange {
        OpeningRange { day, from: from.into(), to: to.into() }
    }

    fn code(e: ApiError) -> String {
        format!("{e:?}")
    }

    #[test]
    fn ranges_are_checked_and_overlaps_name_both_entries() {
        let ok = ranges(&[r(1, "09:00", "13:00"), r(1, "14:00", "24:00"), r(7, "00:00", "00:30")]).unwrap();
        assert_eq!(ok[1], Range { weekday: 1, opens: 840, closes: 1440 });
        for bad in [
            r(0, "09:00", "10:00"),
            r(1, "9:00", "10:00"),
            r(1, "24:00", "24:00"),
            r(1, "10:00", "10:00"),
            r(1, "10:00", "09:59"),
            r(1, "10:00", "24:01"),
        ] {
            assert!(
                code(ranges(std::slice::from_ref(&bad)).unwrap_err()).contains("invalid_hours"),
                "{bad:?}"
            );
        }
        let e = code(
            ranges(&[r(1, "11:00", "13:00"), r(2, "09:00", "12:00"), r(1, "09:00", "12:00")]).unwrap_err(),
        );
        assert!(e.contains("overlapping_hours") && e.contains("weekly[2] overlaps weekly[0]"), "{e}");
        // Touching ranges do not overlap; the same times on other days do not either.
        ranges(&[r(1, "09:00", "12:00"), r(1, "12:00", "13:00"), r(2, "09:00", "12:00")]).unwrap();
    }

    #[test]
    fn holidays_are_dates_listed_once() {
        let h = |d: &str| HolidayEntry { date: d.into(), name: "x".into() };
        assert_eq!(holidays(&[h("2026-12-31")]).unwrap()[0].day.to_string(), "2026-12-31");
        assert!(code(holidays(&[h("31.12.2026")]).unwrap_err()).contains("invalid_holiday"));
        assert!(code(holidays(&[h("2026-02-30")]).unwrap_err()).contains("invalid_holiday"));
        let e = code(holidays(&[h("2026-12-31"), h("2026-12-31")]).unwrap_err());
        assert!(e.contains("duplicate_holiday") && e.contains("holidays[1]"), "{e}");
    }
}
