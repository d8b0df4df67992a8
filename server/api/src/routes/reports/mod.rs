//! Reports and dashboards (issue #20): per agent, queue and trunk, calls per hour or day, the
//! weekday × hour heatmap, each with the previous period beside it; exported as CSV or XLSX; and
//! today's figures for the home dashboard. Administrators and supervisors see the whole account;
//! everyone else sees their own calls only. Figures come from the aggregates
//! (`callbase_db::reports`); no report carries a phone number, so masking has nothing to hide
//! here — the drill-down opens the call list, which masks as everywhere.

pub mod dashboard;
pub mod export;
pub mod period;

use period::not_supervisor;
pub use period::{sees_all, Period, ReportQuery, Request};

use axum::extract::State;
use axum::Json;
use callbase_core::UserId;
use callbase_db::reports::{self as repo, Dim, Figures};
use callbase_db::Tx;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::CurrentUser;
use crate::error::{ApiResult, ErrorBody};
use crate::json::ApiQuery;
use crate::AppState;

/// Time an agent spent in each state during the period, in milliseconds.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct StateTimes {
    pub available_ms: i64,
    pub break_ms: i64,
    pub dnd_ms: i64,
    pub wrapup_ms: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentLine {
    pub user_id: UserId,
    pub name: String,
    pub figures: Figures,
    pub states: StateTimes,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentsReport {
    pub period: Period,
    pub agents: Vec<AgentLine>,
    /// Every call the filters select (an inbound call nobody answered has no agent but counts here).
    pub totals: Figures,
    /// The same over the previous period.
    pub previous: Figures,
}

/// Per agent: calls in and out, answered, missed (inbound calls that rang them out), talk, hold and
/// wrap-up time, time in each state.
#[utoipa::path(get, path = "/api/reports/agents", tag = "reports", params(ReportQuery),
    responses((status = 200, body = AgentsReport), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn agents(
    State(st): State<AppState>,
    cu: CurrentUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<AgentsReport>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let r = q.resolve(&mut tx, &cu).await?;
    let report = agents_report(&mut tx, &cu, &r).await?;
    tx.commit().await?;
    Ok(Json(report))
}

pub async fn agents_report(tx: &mut Tx, cu: &CurrentUser, r: &Request) -> ApiResult<AgentsReport> {
    let tenant = cu.tenant_id;
    let per_user = repo::by(tx, tenant, &r.span, &r.filters, Dim::User).await?;
    let with_calls: Vec<i64> = per_user.iter().map(|k| k.key).filter(|k| *k != 0).collect();
    let states = repo::state_times(tx, tenant, &r.span, r.filters.users.as_deref()).await?;
    let totals = repo::totals(tx, tenant, &r.span, &r.filters).await?;
    let previous = repo::totals(tx, tenant, &r.previous, &r.filters).await?;
    let people = repo::agents(tx, tenant, &with_calls).await?;
    let listed = |id: i64| r.filters.users.as_ref().is_none_or(|u| u.contains(&id));
    let agents = people
        .into_iter()
        .filter(|p| listed(p.user_id))
        .map(|p| {
            let figures =
                per_user.iter().find(|k| k.key == p.user_id).map(|k| k.figures.clone()).unwrap_or_default();
            let mut t = StateTimes::default();
            for s in states.iter().filter(|s| s.user_id == p.user_id) {
                match s.state.as_str() {
                    "available" => t.available_ms += s.ms,
                    "break" => t.break_ms += s.ms,
                    "dnd" => t.dnd_ms += s.ms,
                    "wrapup" => t.wrapup_ms += s.ms,
                    _ => {}
                }
            }
            AgentLine { user_id: UserId(p.user_id), name: p.name, figures, states: t }
        })
        .collect();
    Ok(AgentsReport { period: r.period(), agents, totals, previous })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueLine {
    /// None: calls of queues deleted since.
    pub queue_id: Option<i64>,
    pub name: Option<String>,
    pub service_level_secs: Option<i16>,
    pub figures: Figures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueuesReport {
    pub period: Period,
    pub queues: Vec<QueueLine>,
    pub totals: Figures,
    pub previous: Figures,
}

/// Per queue: offered, answered, abandoned, overflowed, callbacks, answered within the service
/// level, the wait of answered callers.
#[utoipa::path(get, path = "/api/reports/queues", tag = "reports", params(ReportQuery),
    responses((status = 200, body = QueuesReport), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn queues(
    State(st): State<AppState>,
    cu: CurrentUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<QueuesReport>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let r = q.resolve(&mut tx, &cu).await?;
    let report = queues_report(&mut tx, &cu, &r).await?;
    tx.commit().await?;
    Ok(Json(report))
}

pub async fn queues_report(tx: &mut Tx, cu: &CurrentUser, r: &Request) -> ApiResult<QueuesReport> {
    if !r.full {
        return Err(not_supervisor());
    }
    let tenant = cu.tenant_id;
    let per = repo::by(tx, tenant, &r.span, &r.filters, Dim::Queue).await?;
    let defined = callbase_db::queues::list(tx, tenant).await?;
    let mut queues: Vec<QueueLine> = defined
        .iter()
        .filter(|q| r.filters.queue.is_none_or(|x| x == q.id))
        .map(|q| QueueLine {
            queue_id: Some(q.id),
            name: Some(q.name.clone()),
            service_level_secs: Some(q.service_level_secs),
            figures: per.iter().find(|k| k.key == q.id).map(|k| k.figures.clone()).unwrap_or_default(),
        })
        .collect();
    // Queued calls of queues deleted since (their calls keep no queue).
    let gone: Vec<&repo::Keyed> =
        per.iter().filter(|k| k.key != 0 && !defined.iter().any(|q| q.id == k.key)).collect();
    if !gone.is_empty() {
        let mut f = Figures::default();
        for k in gone {
            add(&mut f, &k.figures);
        }
        queues.push(QueueLine { queue_id: None, name: None, service_level_secs: None, figures: f });
    }
    let prev = repo::by(tx, tenant, &r.previous, &r.filters, Dim::Queue).await?;
    Ok(QueuesReport { period: r.period(), queues, totals: queue_totals(&per), previous: queue_totals(&prev) })
}

/// The figures of the calls that were in a queue.
fn queue_totals(per: &[repo::Keyed]) -> Figures {
    let mut f = Figures::default();
    for k in per.iter().filter(|k| k.key != 0) {
        add(&mut f, &k.figures);
    }
    f
}

/// `into += f`, figure by figure.
pub fn add(into: &mut Figures, f: &Figures) {
    into.calls += f.calls;
    into.inbound += f.inbound;
    into.inbound_answered += f.inbound_answered;
    into.missed += f.missed;
    into.outbound += f.outbound;
    into.outbound_answered += f.outbound_answered;
    into.internal += f.internal;
    into.failed += f.failed;
    into.voicemails += f.voicemails;
    into.talk_ms += f.talk_ms;
    into.hold_ms += f.hold_ms;
    into.wrapup_ms += f.wrapup_ms;
    into.wrapups += f.wrapups;
    into.queued += f.queued;
    into.queue_answered += f.queue_answered;
    into.answer_wait_ms += f.answer_wait_ms;
    into.in_service_level += f.in_service_level;
    into.abandoned += f.abandoned;
    into.overflowed += f.overflowed;
    into.callbacks += f.callbacks;
    into.rang_out += f.rang_out;
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrunkLine {
    pub slot: i16,
    /// The trunk's label (none: the slot is empty now).
    pub label: Option<String>,
    pub figures: Figures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrunksReport {
    pub period: Period,
    pub trunks: Vec<TrunkLine>,
    pub totals: Figures,
    pub previous: Figures,
}

/// Per trunk: calls in and out, minutes talked, failures.
#[utoipa::path(get, path = "/api/reports/trunks", tag = "reports", params(ReportQuery),
    responses((status = 200, body = TrunksReport), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn trunks(
    State(st): State<AppState>,
    cu: CurrentUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<TrunksReport>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let r = q.resolve(&mut tx, &cu).await?;
    let report = trunks_report(&mut tx, &cu, &r).await?;
    tx.commit().await?;
    Ok(Json(report))
}

pub async fn trunks_report(tx: &mut Tx, cu: &CurrentUser, r: &Request) -> ApiResult<TrunksReport> {
    if !r.full {
        return Err(not_supervisor());
    }
    let tenant = cu.tenant_id;
    let per = repo::by(tx, tenant, &r.span, &r.filters, Dim::Trunk).await?;
    let defined = callbase_db::trunks::list(tx, tenant).await?;
    let trunks = (1..=3i16)
        .filter(|s| r.filters.trunk.is_none_or(|t| t == *s))
        .filter_map(|slot| {
            let label = defined.iter().find(|t| t.slot == slot).map(|t| t.label.clone());
            let figures = per.iter().find(|k| k.key == i64::from(slot)).map(|k| k.figures.clone());
            (label.is_some() || figures.is_some()).then(|| TrunkLine {
                slot,
                label,
                figures: figures.unwrap_or_default(),
            })
        })
        .collect();
    let totals = repo::totals(tx, tenant, &r.span, &r.filters).await?;
    let previous = repo::totals(tx, tenant, &r.previous, &r.filters).await?;
    Ok(TrunksReport { period: r.period(), trunks, totals, previous })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimePoint {
    /// The local hour or day it starts (`YYYY-MM-DDTHH:MM`).
    pub at: String,
    pub figures: Figures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Timeline {
    pub period: Period,
    /// `hour` for periods of up to two days, else `day`.
    pub unit: String,
    pub points: Vec<TimePoint>,
    /// The previous period's points, in the same order.
    pub previous: Vec<TimePoint>,
}

/// Calls per hour (periods of up to two days) or per day, and the previous period's.
#[utoipa::path(get, path = "/api/reports/timeline", tag = "reports", params(ReportQuery),
    responses((status = 200, body = Timeline), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn timeline(
    State(st): State<AppState>,
    cu: CurrentUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<Timeline>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let r = q.resolve(&mut tx, &cu).await?;
    let report = timeline_report(&mut tx, &cu, &r).await?;
    tx.commit().await?;
    Ok(Json(report))
}

pub async fn timeline_report(tx: &mut Tx, cu: &CurrentUser, r: &Request) -> ApiResult<Timeline> {
    let hourly = (r.span.to_date - r.span.from_date).whole_days() < 2;
    let pts =
        |v: Vec<repo::Point>| v.into_iter().map(|p| TimePoint { at: p.at, figures: p.figures }).collect();
    let points = repo::timeline(tx, cu.tenant_id, &r.tz, &r.span, &r.filters, hourly).await?;
    let previous = repo::timeline(tx, cu.tenant_id, &r.tz, &r.previous, &r.filters, hourly).await?;
    Ok(Timeline {
        period: r.period(),
        unit: if hourly { "hour" } else { "day" }.into(),
        points: pts(points),
        previous: pts(previous),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HeatCell {
    /// ISO weekday: 1 Monday … 7 Sunday.
    pub weekday: i32,
    /// Local hour, 0–23.
    pub hour: i32,
    pub figures: Figures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Heatmap {
    pub period: Period,
    /// Cells with calls (the others have none).
    pub cells: Vec<HeatCell>,
}

/// Calls per weekday and hour of the day over the period.
#[utoipa::path(get, path = "/api/reports/heatmap", tag = "reports", params(ReportQuery),
    responses((status = 200, body = Heatmap), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn heatmap(
    State(st): State<AppState>,
    cu: CurrentUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<Heatmap>> {
    let mut tx = st.db.tenant_tx(cu.tenant_id).await?;
    let r = q.resolve(&mut tx, &cu).await?;
    let report = heatmap_report(&mut tx, &cu, &r).await?;
    tx.commit().await?;
    Ok(Json(report))
}

pub async fn heatmap_report(tx: &mut Tx, cu: &CurrentUser, r: &Request) -> ApiResult<Heatmap> {
    let cells = repo::heatmap(tx, cu.tenant_id, &r.tz, &r.span, &r.filters).await?;
    Ok(Heatmap {
        period: r.period(),
        cells: cells
            .into_iter()
            .map(|c| HeatCell { weekday: c.weekday, hour: c.hour, figures: c.figures })
            .collect(),
    })
}
