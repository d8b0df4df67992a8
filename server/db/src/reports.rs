//! Reports (issue #20): figures read from `call_stats` (15-minute UTC buckets kept by triggers on
//! `calls`, migration 0042) and time in agent states from `agent_state_log`, never by scanning raw
//! calls. A period is whole local days of the tenant's time zone; a bucket belongs to the local
//! hour and day its start falls in (every zone's offset is a whole quarter hour).

use callbase_core::TenantId;
use serde::Serialize;
use sqlx::{FromRow, Postgres, QueryBuilder};
use time::{Date, OffsetDateTime};

use crate::Tx;

/// Whole local days `[from_date, to_date]` and the instants they span.
#[derive(Debug, Clone)]
pub struct Span {
    pub from_date: Date,
    pub to_date: Date,
    /// Local midnight starting `from_date`.
    pub from: OffsetDateTime,
    /// Local midnight after `to_date`.
    pub to: OffsetDateTime,
}

/// The tenant's time zone (an IANA name PostgreSQL knows; `UTC` until an administrator sets one).
pub async fn time_zone(tx: &mut Tx, tenant: TenantId) -> sqlx::Result<String> {
    sqlx::query_scalar("SELECT coalesce((SELECT time_zone FROM telephony WHERE tenant_id = $1), 'UTC')")
        .bind(tenant)
        .fetch_one(&mut **tx)
        .await
}

/// Today's date in `tz`.
pub async fn today(tx: &mut Tx, tz: &str) -> sqlx::Result<Date> {
    sqlx::query_scalar("SELECT (now() AT TIME ZONE $1)::date").bind(tz).fetch_one(&mut **tx).await
}

/// The instants of local days `from_date..=to_date` in `tz` (the database knows the zone's rules,
/// daylight saving included: such a day lasts 23 or 25 hours).
pub async fn span(tx: &mut Tx, tz: &str, from_date: Date, to_date: Date) -> sqlx::Result<Span> {
    let (from, to): (OffsetDateTime, OffsetDateTime) = sqlx::query_as(
        "SELECT ($1::date)::timestamp AT TIME ZONE $3, ($2::date + 1)::timestamp AT TIME ZONE $3",
    )
    .bind(from_date)
    .bind(to_date)
    .bind(tz)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Span { from_date, to_date, from, to })
}

/// What a report counts: the agents (an access group's members, one user, or everyone), a trunk,
/// a queue, a direction.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub users: Option<Vec<i64>>,
    pub trunk: Option<i16>,
    pub queue: Option<i64>,
    pub direction: Option<String>,
}

/// The figures of a set of calls. Durations in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, FromRow, Serialize, utoipa::ToSchema)]
pub struct Figures {
    /// Calls (each counted once, on the agent who placed or answered it).
    pub calls: i64,
    pub inbound: i64,
    /// Inbound calls an agent answered.
    pub inbound_answered: i64,
    /// Inbound calls nobody answered.
    pub missed: i64,
    pub outbound: i64,
    /// Outbound calls the other party answered.
    pub outbound_answered: i64,
    pub internal: i64,
    /// Calls that failed (busy, a network failure, refused by the dial rules).
    pub failed: i64,
    /// Missed calls that left a voicemail message.
    pub voicemails: i64,
    pub talk_ms: i64,
    pub hold_ms: i64,
    pub wrapup_ms: i64,
    /// Calls with a wrap-up time (the average's divisor).
    pub wrapups: i64,
    /// Callers who joined a queue…
    pub queued: i64,
    /// …were answered by a member…
    pub queue_answered: i64,
    /// …after waiting this long in all…
    pub answer_wait_ms: i64,
    /// …of them within the queue's service level…
    pub in_service_level: i64,
    /// …hung up while waiting…
    pub abandoned: i64,
    /// …went to the overflow…
    pub overflowed: i64,
    /// …or asked to be called back.
    pub callbacks: i64,
    /// Inbound calls that rang the agent(s) out.
    pub rang_out: i64,
}

/// The columns of [`Figures`], as [`FIGURES`] names them.
const FIGURE_NAMES: [&str; 21] = [
    "calls",
    "inbound",
    "inbound_answered",
    "missed",
    "outbound",
    "outbound_answered",
    "internal",
    "failed",
    "voicemails",
    "talk_ms",
    "hold_ms",
    "wrapup_ms",
    "wrapups",
    "queued",
    "queue_answered",
    "answer_wait_ms",
    "in_service_level",
    "abandoned",
    "overflowed",
    "callbacks",
    "rang_out",
];

const FIGURES: &str = "coalesce(sum(s.calls), 0)::bigint AS calls,
    coalesce(sum(s.calls) FILTER (WHERE s.direction = 'inbound'), 0)::bigint AS inbound,
    coalesce(sum(s.answered) FILTER (WHERE s.direction = 'inbound'), 0)::bigint AS inbound_answered,
    coalesce(sum(s.missed) FILTER (WHERE s.direction = 'inbound'), 0)::bigint AS missed,
    coalesce(sum(s.calls) FILTER (WHERE s.direction = 'outbound'), 0)::bigint AS outbound,
    coalesce(sum(s.answered) FILTER (WHERE s.direction = 'outbound'), 0)::bigint AS outbound_answered,
    coalesce(sum(s.calls) FILTER (WHERE s.direction = 'internal'), 0)::bigint AS internal,
    coalesce(sum(s.failed), 0)::bigint AS failed,
    coalesce(sum(s.voicemails), 0)::bigint AS voicemails,
    coalesce(sum(s.talk_ms), 0)::bigint AS talk_ms,
    coalesce(sum(s.hold_ms), 0)::bigint AS hold_ms,
    coalesce(sum(s.wrapup_ms), 0)::bigint AS wrapup_ms,
    coalesce(sum(s.wrapups), 0)::bigint AS wrapups,
    coalesce(sum(s.queued), 0)::bigint AS queued,
    coalesce(sum(s.queue_answered), 0)::bigint AS queue_answered,
    coalesce(sum(s.answer_wait_ms), 0)::bigint AS answer_wait_ms,
    coalesce(sum(s.in_sl), 0)::bigint AS in_service_level,
    coalesce(sum(s.abandoned), 0)::bigint AS abandoned,
    coalesce(sum(s.overflowed), 0)::bigint AS overflowed,
    coalesce(sum(s.callbacks), 0)::bigint AS callbacks,
    coalesce(sum(s.rang_out), 0)::bigint AS rang_out";

/// `SELECT <head>, <figures> FROM call_stats s WHERE <the span and filters>`.
fn select(head: &str, tenant: TenantId, span: &Span, f: &Filters) -> QueryBuilder<'static, Postgres> {
    let mut q = QueryBuilder::new("");
    push_select(&mut q, head, tenant, span, f);
    q
}

fn push_select(
    q: &mut QueryBuilder<'static, Postgres>,
    head: &str,
    tenant: TenantId,
    span: &Span,
    f: &Filters,
) {
    q.push("SELECT ");
    q.push(head);
    q.push(FIGURES);
    q.push(" FROM call_stats s WHERE s.tenant_id = ").push_bind(tenant);
    q.push(" AND s.bucket >= ").push_bind(span.from).push(" AND s.bucket < ").push_bind(span.to);
    if let Some(u) = &f.users {
        q.push(" AND s.user_id = ANY(").push_bind(u.clone()).push(")");
    }
    if let Some(t) = f.trunk {
        q.push(" AND s.trunk_slot = ").push_bind(t);
    }
    if let Some(x) = f.queue {
        q.push(" AND s.queue_id = ").push_bind(x);
    }
    if let Some(d) = &f.direction {
        q.push(" AND s.direction = ").push_bind(d.clone());
    }
}

/// The figures of everything the filters select.
pub async fn totals(tx: &mut Tx, tenant: TenantId, span: &Span, f: &Filters) -> sqlx::Result<Figures> {
    select("", tenant, span, f).build_query_as().fetch_one(&mut **tx).await
}

/// Figures per key (an agent, trunk or queue; 0: none).
#[derive(Debug, Clone, FromRow)]
pub struct Keyed {
    pub key: i64,
    #[sqlx(flatten)]
    pub figures: Figures,
}

/// Figures per agent, trunk or queue (keys with no calls are absent).
pub async fn by(
    tx: &mut Tx,
    tenant: TenantId,
    span: &Span,
    f: &Filters,
    dim: Dim,
) -> sqlx::Result<Vec<Keyed>> {
    let col = match dim {
        Dim::User => "s.user_id",
        Dim::Trunk => "s.trunk_slot::bigint",
        Dim::Queue => "s.queue_id",
    };
    let mut q = select(&format!("{col} AS key, "), tenant, span, f);
    q.push(" GROUP BY 1 ORDER BY 1");
    q.build_query_as().fetch_all(&mut **tx).await
}

#[derive(Debug, Clone, Copy)]
pub enum Dim {
    User,
    Trunk,
    Queue,
}

/// One point of the timeline: a local hour or day (`YYYY-MM-DDTHH:MM`).
#[derive(Debug, Clone, FromRow)]
pub struct Point {
    pub at: String,
    #[sqlx(flatten)]
    pub figures: Figures,
}

/// Figures per local hour (`hourly`) or day of the span, every hour or day present.
pub async fn timeline(
    tx: &mut Tx,
    tenant: TenantId,
    tz: &str,
    span: &Span,
    f: &Filters,
    hourly: bool,
) -> sqlx::Result<Vec<Point>> {
    let unit = if hourly { "hour" } else { "day" };
    // Every local hour (day) of the span, in order, with the grouped figures where there are any.
    let mut q = QueryBuilder::new("WITH g AS (");
    let head = format!("date_trunc('{unit}', s.bucket AT TIME ZONE {}) AS slot, ", quote_literal(tz));
    push_select(&mut q, &head, tenant, span, f);
    q.push(" GROUP BY 1), slots AS (SELECT generate_series(");
    q.push_bind(span.from_date).push("::date::timestamp, ");
    q.push_bind(span.to_date).push("::date::timestamp + interval '1 day' - interval '1 ");
    q.push(unit);
    q.push("', interval '1 ");
    q.push(unit);
    q.push("') AS at) SELECT to_char(slots.at, 'YYYY-MM-DD\"T\"HH24:MI') AS at");
    // A slot without calls has no `g` row: its figures are zeros.
    for name in FIGURE_NAMES {
        q.push(format!(", coalesce(g.{name}, 0) AS {name}"));
    }
    q.push(" FROM slots LEFT JOIN g ON g.slot = slots.at ORDER BY slots.at");
    q.build_query_as().fetch_all(&mut **tx).await
}

/// SQL text of a string literal (a time zone name the database already accepted as a setting).
fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// One cell of the weekday × hour heatmap (ISO weekday 1 = Monday; local hour 0–23).
#[derive(Debug, Clone, FromRow)]
pub struct Cell {
    pub weekday: i32,
    pub hour: i32,
    #[sqlx(flatten)]
    pub figures: Figures,
}

/// Figures per local weekday and hour (cells without calls are absent).
pub async fn heatmap(
    tx: &mut Tx,
    tenant: TenantId,
    tz: &str,
    span: &Span,
    f: &Filters,
) -> sqlx::Result<Vec<Cell>> {
    let tz = quote_literal(tz);
    let mut q = select(
        &format!(
            "extract(isodow FROM s.bucket AT TIME ZONE {tz})::int AS weekday, \
             extract(hour FROM s.bucket AT TIME ZONE {tz})::int AS hour, "
        ),
        tenant,
        span,
        f,
    );
    q.push(" GROUP BY 1, 2 ORDER BY 1, 2");
    q.build_query_as().fetch_all(&mut **tx).await
}

/// Milliseconds an agent spent in a state during the span.
#[derive(Debug, Clone, FromRow)]
pub struct StateTime {
    pub user_id: i64,
    pub state: String,
    pub ms: i64,
}

/// Time in each agent state during the span (up to now for a span reaching into the future),
/// from the state periods that overlap it, clipped to it.
pub async fn state_times(
    tx: &mut Tx,
    tenant: TenantId,
    span: &Span,
    users: Option<&[i64]>,
) -> sqlx::Result<Vec<StateTime>> {
    sqlx::query_as(
        "SELECT user_id, state,
             sum(greatest(0, extract(epoch FROM least(coalesce(ended_at, now()), $3, now()) - greatest(started_at, $2)) * 1000))::bigint AS ms
         FROM agent_state_log
         WHERE tenant_id = $1
           AND ((started_at >= $2 AND started_at < $3) OR (started_at < $2 AND (ended_at > $2 OR ended_at IS NULL)))
           AND ($4::bigint[] IS NULL OR user_id = ANY($4))
         GROUP BY user_id, state",
    )
    .bind(tenant)
    .bind(span.from)
    .bind(span.to)
    .bind(users)
    .fetch_all(&mut **tx)
    .await
}

/// An agent a report may list: the tenant's telephony users and anyone with calls in `ids`.
#[derive(Debug, Clone, FromRow)]
pub struct Agent {
    pub user_id: i64,
    pub name: String,
}

pub async fn agents(tx: &mut Tx, tenant: TenantId, with_calls: &[i64]) -> sqlx::Result<Vec<Agent>> {
    sqlx::query_as(
        "SELECT u.id AS user_id, u.name FROM users u
         WHERE u.tenant_id = $1
           AND (EXISTS (SELECT 1 FROM telephony_users t WHERE t.tenant_id = $1 AND t.user_id = u.id) OR u.id = ANY($2))
         ORDER BY u.name, u.id",
    )
    .bind(tenant)
    .bind(with_calls)
    .fetch_all(&mut **tx)
    .await
}
