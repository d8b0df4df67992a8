//! Business hours (issue #19, migration 0035): the tenant's time zone, weekly opening ranges and
//! holidays, and whether the tenant is open at a moment. PostgreSQL decides the local day and time
//! from the IANA zone name (`AT TIME ZONE`, its tzdata), so every part of the platform agrees.

use callbase_core::TenantId;
use sqlx::FromRow;
use time::{Date, OffsetDateTime};

use crate::Tx;

/// Most opening ranges in a week, and most holidays.
pub const MAX_RANGES: usize = 70;
pub const MAX_HOLIDAYS: usize = 366;

/// One opening range: ISO weekday (1 = Monday) and [opens, closes) in minutes of the local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct Range {
    pub weekday: i16,
    pub opens: i16,
    pub closes: i16,
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Holiday {
    pub day: Date,
    pub name: String,
}

/// The schedule's settings on the tenant's telephony row.
#[derive(Debug, Clone, Default, FromRow)]
pub struct HoursSettings {
    pub hours_enabled: bool,
    pub time_zone: String,
    pub closed_greeting_key: Option<String>,
    pub closed_forward: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Schedule {
    pub settings: HoursSettings,
    pub ranges: Vec<Range>,
    pub holidays: Vec<Holiday>,
}

/// Is `zone` a time zone PostgreSQL knows?
pub async fn zone_exists(tx: &mut Tx, zone: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)")
        .bind(zone)
        .fetch_one(&mut **tx)
        .await
}

pub async fn get(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<Schedule> {
    let settings: Option<HoursSettings> = sqlx::query_as(
        "SELECT hours_enabled, time_zone, closed_greeting_key, closed_forward FROM telephony WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_optional(&mut **tx)
    .await?;
    let ranges = sqlx::query_as(
        "SELECT weekday, opens, closes FROM business_hours WHERE tenant_id = $1 ORDER BY weekday, opens",
    )
    .bind(tenant)
    .fetch_all(&mut **tx)
    .await?;
    let holidays = sqlx::query_as("SELECT day, name FROM holidays WHERE tenant_id = $1 ORDER BY day")
        .bind(tenant)
        .fetch_all(&mut **tx)
        .await?;
    let settings =
        settings.unwrap_or_else(|| HoursSettings { time_zone: "UTC".into(), ..Default::default() });
    Ok(Schedule { settings, ranges, holidays })
}

/// Replaces the whole schedule (validated by the caller) in the caller's transaction.
pub async fn set(
    tx: &mut Tx,
    tenant: TenantId,
    enabled: bool,
    zone: &str,
    closed_forward: Option<&str>,
    ranges: &[Range],
    holidays: &[Holiday],
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO telephony (tenant_id, hours_enabled, time_zone, closed_forward) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id) DO UPDATE SET hours_enabled = EXCLUDED.hours_enabled,
             time_zone = EXCLUDED.time_zone, closed_forward = EXCLUDED.closed_forward, changed_at = now()",
    )
    .bind(tenant)
    .bind(enabled)
    .bind(zone)
    .bind(closed_forward)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM business_hours WHERE tenant_id = $1").bind(tenant).execute(&mut **tx).await?;
    sqlx::query("DELETE FROM holidays WHERE tenant_id = $1").bind(tenant).execute(&mut **tx).await?;
    sqlx::query(
        "INSERT INTO business_hours (tenant_id, weekday, opens, closes)
         SELECT $1, * FROM unnest($2::smallint[], $3::smallint[], $4::smallint[])",
    )
    .bind(tenant)
    .bind(ranges.iter().map(|r| r.weekday).collect::<Vec<_>>())
    .bind(ranges.iter().map(|r| r.opens).collect::<Vec<_>>())
    .bind(ranges.iter().map(|r| r.closes).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO holidays (tenant_id, day, name) SELECT $1, * FROM unnest($2::date[], $3::text[])",
    )
    .bind(tenant)
    .bind(holidays.iter().map(|h| h.day).collect::<Vec<_>>())
    .bind(holidays.iter().map(|h| h.name.clone()).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Where the tenant's schedule puts moment `at`: open (true) or closed, with the local day and
/// time it was judged by. A tenant without business hours switched on is always open.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct OpenAt {
    pub open: bool,
    /// The local date and time, e.g. "2026-12-31 18:05 (Asia/Kolkata)".
    pub local: String,
    /// The holiday's name when the day is one.
    pub holiday: Option<String>,
    pub closed_greeting_key: Option<String>,
    pub closed_forward: Option<String>,
}

pub async fn open_at(tx: &mut Tx, tenant: TenantId, at: OffsetDateTime) -> sqlx::Result<OpenAt> {
    let row: Option<OpenAt> = sqlx::query_as(
        "WITH t AS (
             SELECT hours_enabled, time_zone, closed_greeting_key, closed_forward,
                    ($2::timestamptz AT TIME ZONE time_zone) AS local
             FROM telephony WHERE tenant_id = $1
         ), h AS (
             SELECT name FROM holidays, t WHERE holidays.tenant_id = $1 AND holidays.day = t.local::date
         )
         SELECT NOT t.hours_enabled OR (
                    NOT EXISTS (SELECT 1 FROM h)
                    AND EXISTS (
                        SELECT 1 FROM business_hours b
                        WHERE b.tenant_id = $1 AND b.weekday = extract(isodow FROM t.local)
                          AND b.opens <= extract(hour FROM t.local) * 60 + extract(minute FROM t.local)
                          AND extract(hour FROM t.local) * 60 + extract(minute FROM t.local) < b.closes))
                AS open,
                to_char(t.local, 'YYYY-MM-DD HH24:MI') || ' (' || t.time_zone || ')' AS local,
                (SELECT name FROM h LIMIT 1) AS holiday, t.closed_greeting_key, t.closed_forward
         FROM t",
    )
    .bind(tenant)
    .bind(at)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.unwrap_or(OpenAt {
        open: true,
        local: String::new(),
        holiday: None,
        closed_greeting_key: None,
        closed_forward: None,
    }))
}
