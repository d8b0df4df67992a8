//! The home dashboard (issue #20): today's figures of the signed-in user and, for administrators
//! and supervisors, the team's — callers waiting, the longest wait, agents by state, the service
//! level today. The page re-reads it when calls and states change (events on `/events`).

use axum::extract::State;
use axum::Json;
use callbase_db::calls::history as calls_repo;
use callbase_db::reports::{self as repo, Figures, Filters};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Period, Request};
use crate::auth::CurrentUser;
use crate::error::{ApiResult, ErrorBody};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Dashboard {
    /// Today, in the account's time zone.
    pub period: Period,
    /// The signed-in user's calls today.
    pub mine: Figures,
    /// Missed calls of today the user sees that nobody has called back yet (the worklist).
    pub to_call_back: i64,
    /// The whole account, for administrators and supervisors.
    pub team: Option<Team>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Team {
    pub figures: Figures,
    /// Callers waiting in queues now, and the longest of their waits.
    pub waiting: i64,
    pub longest_wait_secs: i64,
    /// Agents by state now (on a call counts apart from the state it is in).
    pub agents: AgentCounts,
    /// Share (0–1) of today's queued callers answered within their queue's service level; none
    /// when nobody queued today.
    pub service_level: Option<f64>,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct AgentCounts {
    pub total: i64,
    pub on_call: i64,
    pub available: i64,
    pub wrapup: i64,
    pub r#break: i64,
    pub dnd: i64,
}

/// Today's figures: the user's own and, for supervisors, the team's.
#[utoipa::path(get, path = "/api/reports/dashboard", tag = "reports",
    responses((status = 200, body = Dashboard), (status = 401, body = ErrorBody)))]
pub async fn dashboard(State(st): State<AppState>, cu: CurrentUser) -> ApiResult<Json<Dashboard>> {
    let tenant = cu.tenant_id;
    let mut tx = st.db.tenant_tx(tenant).await?;
    let full = super::sees_all(&mut tx, &cu).await?;
    let tz = repo::time_zone(&mut tx, tenant).await?;
    let today = repo::today(&mut tx, &tz).await?;
    let span = repo::span(&mut tx, &tz, today, today).await?;
    let (pf, pt) = super::period::previous("today", today, today);
    let previous = repo::span(&mut tx, &tz, pf, pt).await?;
    let mine_f = Filters { users: Some(vec![cu.user_id.0]), ..Default::default() };
    let mine = repo::totals(&mut tx, tenant, &span, &mine_f).await?;

    // The worklist as the call list shows it to this user (none without the call list).
    let to_call_back = match crate::routes::calls::viewer(&mut tx, &cu).await {
        Ok(v) => {
            let f =
                calls_repo::Filter { from: Some(span.from), called_back: Some(false), ..Default::default() };
            calls_repo::count(&mut tx, &v.scope(), &f).await?
        }
        Err(_) => 0,
    };

    let team = if full {
        let figures = repo::totals(&mut tx, tenant, &span, &Filters::default()).await?;
        let queues = callbase_db::queues::figures(&mut tx, tenant).await?;
        let users: Vec<_> = callbase_db::telephony::list_users(&mut tx, tenant)
            .await?
            .into_iter()
            .filter(|u| !u.disabled)
            .map(|u| u.user_id)
            .collect();
        let states = callbase_db::agent_states::list(&mut tx, tenant).await?;
        let loads = callbase_db::queues::loads(&mut tx, tenant, &users).await?;
        let mut agents = AgentCounts { total: users.len() as i64, ..Default::default() };
        for u in &users {
            if loads.iter().any(|l| l.user_id == *u && l.busy) {
                agents.on_call += 1;
            }
            match states.iter().find(|s| s.user_id == *u).map(|s| s.state.as_str()).unwrap_or("available") {
                "break" => agents.r#break += 1,
                "dnd" => agents.dnd += 1,
                "wrapup" => agents.wrapup += 1,
                _ => agents.available += 1,
            }
        }
        let offered: i64 = queues.iter().map(|q| q.offered).sum();
        let in_time: i64 = queues.iter().map(|q| q.answered_in_time).sum();
        Some(Team {
            figures,
            waiting: queues.iter().map(|q| q.waiting).sum(),
            longest_wait_secs: queues.iter().map(|q| q.longest_wait_secs).max().unwrap_or(0),
            agents,
            service_level: (offered > 0).then(|| in_time as f64 / offered as f64),
        })
    } else {
        None
    };
    tx.commit().await?;
    let r = Request { tz, span, previous, filters: mine_f, full };
    Ok(Json(Dashboard { period: r.period(), mine, to_call_back, team }))
}
