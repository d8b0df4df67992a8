//! The call history: call records as a viewer may see them (filtered, sorted, paged, one by one),
//! and what the call card writes back (note, call type and result, wrap-up time).
//!
//! Visibility ([`Scope`]): a viewer who sees all calls sees the tenant's every call; anyone else
//! their own calls and the unanswered inbound calls nobody took (the "missed" queue). A call
//! outside the scope is not found, like a call of another tenant.

use callbase_core::{TenantId, UserId};
use sqlx::{Postgres, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{CallDirection, CallResult};
use crate::Tx;

/// One call record with its user's name and linked CRM record, as the history shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CallRow {
    pub id: Uuid,
    pub direction: String,
    pub user_id: Option<i64>,
    pub user_name: Option<String>,
    pub number: String,
    pub did: Option<String>,
    pub trunk_slot: Option<i16>,
    pub started_at: OffsetDateTime,
    pub answered_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
    pub hold_secs: i32,
    pub result: Option<String>,
    pub reason: Option<String>,
    pub route_note: Option<String>,
    pub note: Option<String>,
    pub call_type: Option<String>,
    pub call_result: Option<String>,
    pub legal_hold: bool,
    pub recording_state: Option<String>,
    pub recording_key: Option<String>,
    pub recording_bytes: Option<i64>,
    pub recording_ms: Option<i32>,
    /// The Asterisk node the call ran on (where its recording is until S3 has it).
    pub node: Option<String>,
    pub wrapup_secs: Option<i32>,
    pub crm_record_id: Option<i64>,
    pub crm_table_id: Option<i64>,
    pub crm_title: Option<String>,
    /// Every telephony user who talked on the call, in order (a transferred call has two or more).
    pub agent_names: Option<Vec<String>>,
    /// The caller left a message (the call's recording; issue #19)…
    pub voicemail: bool,
    /// …and someone listened to it.
    pub voicemail_heard_at: Option<OffsetDateTime>,
    /// A missed inbound call: the first outbound call to its number after it — who placed it and
    /// when (issue #19's worklist).
    pub called_back_by: Option<String>,
    pub called_back_at: Option<OffsetDateTime>,
}

/// Which calls a viewer sees.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub tenant: TenantId,
    pub user: UserId,
    /// Administrators, or everyone when the tenant's `calls_visible_to_all` is on.
    pub sees_all: bool,
}

/// The history's filters, parsed.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Started at or after.
    pub from: Option<OffsetDateTime>,
    /// Started before.
    pub to: Option<OffsetDateTime>,
    pub user_id: Option<i64>,
    pub direction: Option<CallDirection>,
    pub result: Option<CallResult>,
    /// Only unanswered inbound calls.
    pub missed: bool,
    /// Digits (and `+`) that the number contains.
    pub number: Option<String>,
    /// Linked to this CRM record.
    pub record_id: Option<i64>,
    /// Only calls with a voicemail message…
    pub voicemail: bool,
    /// …that nobody listened to yet.
    pub voicemail_new: bool,
    /// Only missed calls not called back yet (`Some(false)`), or called back (`Some(true)`).
    pub called_back: Option<bool>,
    /// The reports' drill-down (issue #20): answered or not…
    pub answered: Option<bool>,
    /// …busy, failed or refused…
    pub failed: bool,
    /// …on this trunk…
    pub trunk: Option<i16>,
    /// …through this queue, leaving it so (answered, abandoned, overflow, callback)…
    pub queue_id: Option<i64>,
    pub queue_outcome: Option<String>,
    /// …answered within the queue's service level or not…
    pub in_service_level: Option<bool>,
    /// …that rang this agent out…
    pub rang_out: Option<i64>,
    /// …taken by a member of this access group…
    pub group_id: Option<i64>,
    /// …started on this ISO weekday (1 Monday) and at this hour, in the tenant's time zone.
    pub weekday: Option<i32>,
    pub hour: Option<i32>,
}

/// What the history sorts by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortBy {
    #[default]
    StartedAt,
    Duration,
    Number,
    Result,
    Direction,
    User,
}

/// The sort column and direction (descending puts NULLs last, ascending first); ties by id.
#[derive(Debug, Clone, Copy)]
pub struct Sort {
    pub by: SortBy,
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Sort { by: SortBy::StartedAt, descending: true }
    }
}

impl Sort {
    fn sql(self) -> String {
        let col = match self.by {
            SortBy::StartedAt => "c.started_at",
            SortBy::Duration => "(c.ended_at - c.started_at)",
            SortBy::Number => "c.number",
            SortBy::Result => "c.result",
            SortBy::Direction => "c.direction",
            SortBy::User => "u.name",
        };
        let dir = if self.descending { "DESC NULLS LAST" } else { "ASC NULLS FIRST" };
        format!(" ORDER BY {col} {dir}, c.id")
    }
}

const COLUMNS: &str = "c.id, c.direction, c.user_id, u.name AS user_name, c.number, c.did, c.trunk_slot, c.started_at, c.answered_at, \
    c.ended_at, c.hold_secs, c.result, c.reason, c.route_note, c.note, c.call_type, c.call_result, c.legal_hold, c.recording_state, \
    c.recording_key, c.recording_bytes, c.recording_ms, c.node, c.wrapup_secs, c.crm_record_id, cr.table_id AS crm_table_id, \
    crm_record_title(cr.table_id, cr.data) AS crm_title, \
    ARRAY(SELECT au.name FROM unnest(c.agents) WITH ORDINALITY a(uid, ord) \
          JOIN users au ON au.tenant_id = c.tenant_id AND au.id = a.uid ORDER BY a.ord) AS agent_names, \
    c.voicemail, c.voicemail_heard_at, \
    (SELECT ou.name FROM calls o LEFT JOIN users ou ON ou.tenant_id = o.tenant_id AND ou.id = o.user_id \
     WHERE o.tenant_id = c.tenant_id AND c.direction = 'inbound' AND c.answered_at IS NULL AND o.direction = 'outbound' \
       AND o.number = c.number AND o.started_at > c.started_at ORDER BY o.started_at LIMIT 1) AS called_back_by, \
    (SELECT o.started_at FROM calls o \
     WHERE o.tenant_id = c.tenant_id AND c.direction = 'inbound' AND c.answered_at IS NULL AND o.direction = 'outbound' \
       AND o.number = c.number AND o.started_at > c.started_at ORDER BY o.started_at LIMIT 1) AS called_back_at";
/// A later outbound call to a missed call's number (the worklist's "called back").
const CALLED_BACK: &str =
    " EXISTS (SELECT 1 FROM calls o WHERE o.tenant_id = c.tenant_id AND o.direction = 'outbound' \
    AND o.number = c.number AND o.started_at > c.started_at)";
const FROM: &str = " FROM calls c LEFT JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.user_id \
    LEFT JOIN crm_records cr ON cr.id = c.crm_record_id";

// The list is built at run time: its ORDER BY column and direction vary (a bind parameter cannot
// choose them without a CASE per column that would stop PostgreSQL from walking the
// `(tenant_id, started_at)` index), and each filter adds a condition only when given, so the
// planner sees the same plans as before. Every value is still a bind parameter.
fn restricted(select: &str, scope: &Scope, f: &Filter) -> QueryBuilder<'static, Postgres> {
    let mut q = QueryBuilder::new(select);
    q.push(FROM);
    q.push(" WHERE c.tenant_id = ").push_bind(scope.tenant);
    if !scope.sees_all {
        // Their calls: those they took last, those they handed on (`agents`), and the missed queue.
        q.push(" AND (c.user_id = ")
            .push_bind(scope.user.0)
            .push(" OR ")
            .push_bind(scope.user.0)
            .push(" = ANY(c.agents) OR (c.user_id IS NULL AND c.direction = 'inbound'))");
    }
    if let Some(from) = f.from {
        q.push(" AND c.started_at >= ").push_bind(from);
    }
    if let Some(to) = f.to {
        q.push(" AND c.started_at < ").push_bind(to);
    }
    if let Some(u) = f.user_id {
        q.push(" AND c.user_id = ").push_bind(u);
    }
    if let Some(d) = f.direction {
        q.push(" AND c.direction = ").push_bind(d.as_str());
    }
    if let Some(r) = f.result {
        q.push(" AND c.result = ").push_bind(r.as_str());
    }
    if f.missed {
        q.push(" AND c.direction = 'inbound' AND c.answered_at IS NULL AND c.result IS NOT NULL");
    }
    if let Some(n) = f.number.as_deref() {
        q.push(" AND c.number LIKE ").push_bind(format!("%{}%", n.replace('%', "")));
    }
    if let Some(r) = f.record_id {
        q.push(" AND c.crm_record_id = ").push_bind(r);
    }
    if f.voicemail || f.voicemail_new {
        q.push(" AND c.voicemail");
    }
    if f.voicemail_new {
        q.push(" AND c.voicemail_heard_at IS NULL");
    }
    if let Some(done) = f.called_back {
        q.push(" AND c.direction = 'inbound' AND c.answered_at IS NULL AND c.result IS NOT NULL AND");
        q.push(if done { CALLED_BACK } else { " NOT" });
        if !done {
            q.push(CALLED_BACK);
        }
    }
    if let Some(a) = f.answered {
        q.push(if a { " AND c.answered_at IS NOT NULL" } else { " AND c.answered_at IS NULL" });
    }
    if f.failed {
        q.push(" AND c.answered_at IS NULL AND c.result IN ('busy', 'failed', 'refused')");
    }
    if let Some(t) = f.trunk {
        q.push(" AND c.trunk_slot = ").push_bind(t);
    }
    if let Some(x) = f.queue_id {
        q.push(" AND c.queue_id = ").push_bind(x);
    }
    if let Some(o) = f.queue_outcome.as_deref() {
        q.push(" AND c.queue_outcome = ").push_bind(o.to_string());
    }
    if let Some(sl) = f.in_service_level {
        q.push(" AND c.queue_outcome = 'answered' AND c.queue_in_sl = ").push_bind(sl);
    }
    if let Some(u) = f.rang_out {
        q.push(" AND ").push_bind(u).push(" = ANY(c.rang_out)");
    }
    if let Some(g) = f.group_id {
        q.push(" AND c.user_id IN (SELECT m.user_id FROM memberships m WHERE m.tenant_id = c.tenant_id AND m.group_id = ")
            .push_bind(g)
            .push(")");
    }
    if f.weekday.is_some() || f.hour.is_some() {
        const LOCAL: &str = "(c.started_at AT TIME ZONE coalesce((SELECT z.time_zone FROM telephony z WHERE z.tenant_id = c.tenant_id), 'UTC'))";
        if let Some(d) = f.weekday {
            q.push(format!(" AND extract(isodow FROM {LOCAL}) = ")).push_bind(d);
        }
        if let Some(h) = f.hour {
            q.push(format!(" AND extract(hour FROM {LOCAL}) = ")).push_bind(h);
        }
    }
    q
}

/// How many calls match.
#[tracing::instrument(skip_all, fields(tenant.id = %scope.tenant))]
pub async fn count(tx: &mut Tx, scope: &Scope, f: &Filter) -> sqlx::Result<i64> {
    restricted("SELECT count(*)", scope, f).build_query_scalar().fetch_one(&mut **tx).await
}

/// One page of matching calls (`limit` rows after `offset`).
#[tracing::instrument(skip_all, fields(tenant.id = %scope.tenant))]
pub async fn page(
    tx: &mut Tx,
    scope: &Scope,
    f: &Filter,
    sort: Sort,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<CallRow>> {
    let mut q = restricted(&format!("SELECT {COLUMNS}"), scope, f);
    q.push(sort.sql());
    q.push(" LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(offset);
    q.build_query_as().fetch_all(&mut **tx).await
}

/// Matching calls newest first, started before the call `before` (its start and id: the public
/// API's cursor, whose cost does not grow with the depth), at most `limit`.
#[tracing::instrument(skip_all, fields(tenant.id = %scope.tenant))]
pub async fn page_before(
    tx: &mut Tx,
    scope: &Scope,
    f: &Filter,
    before: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> sqlx::Result<Vec<CallRow>> {
    let mut q = restricted(&format!("SELECT {COLUMNS}"), scope, f);
    if let Some((at, id)) = before {
        q.push(" AND (c.started_at, c.id) < (").push_bind(at).push(", ").push_bind(id).push(")");
    }
    q.push(" ORDER BY c.started_at DESC, c.id DESC LIMIT ").push_bind(limit);
    q.build_query_as().fetch_all(&mut **tx).await
}

/// A call the viewer may see (also a colleague consulted about it while the consultation runs: the
/// call's card shows them the customer).
#[tracing::instrument(skip_all, fields(tenant.id = %scope.tenant, call.id = %id))]
pub async fn visible(tx: &mut Tx, scope: &Scope, id: Uuid) -> sqlx::Result<Option<CallRow>> {
    Ok(visible_many(tx, scope, &[id]).await?.pop())
}

/// The calls among `ids` that the viewer may see, oldest first.
#[tracing::instrument(skip_all, fields(tenant.id = %scope.tenant))]
pub async fn visible_many(tx: &mut Tx, scope: &Scope, ids: &[Uuid]) -> sqlx::Result<Vec<CallRow>> {
    sqlx::query_as!(
        CallRow,
        r#"SELECT c.id, c.direction, c.user_id, u.name AS "user_name?", c.number, c.did, c.trunk_slot, c.started_at,
            c.answered_at, c.ended_at, c.hold_secs, c.result, c.reason, c.route_note, c.note, c.call_type, c.call_result,
            c.legal_hold, c.recording_state, c.recording_key, c.recording_bytes, c.recording_ms, c.node, c.wrapup_secs,
            c.crm_record_id, cr.table_id AS "crm_table_id?",
            crm_record_title(cr.table_id, cr.data) AS "crm_title?",
            ARRAY(SELECT au.name FROM unnest(c.agents) WITH ORDINALITY a(uid, ord)
                  JOIN users au ON au.tenant_id = c.tenant_id AND au.id = a.uid ORDER BY a.ord) AS agent_names,
            c.voicemail, c.voicemail_heard_at,
            (SELECT ou.name FROM calls o LEFT JOIN users ou ON ou.tenant_id = o.tenant_id AND ou.id = o.user_id
             WHERE o.tenant_id = c.tenant_id AND c.direction = 'inbound' AND c.answered_at IS NULL
               AND o.direction = 'outbound' AND o.number = c.number AND o.started_at > c.started_at
             ORDER BY o.started_at LIMIT 1) AS "called_back_by?",
            (SELECT o.started_at FROM calls o
             WHERE o.tenant_id = c.tenant_id AND c.direction = 'inbound' AND c.answered_at IS NULL
               AND o.direction = 'outbound' AND o.number = c.number AND o.started_at > c.started_at
             ORDER BY o.started_at LIMIT 1) AS "called_back_at?"
         FROM calls c LEFT JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.user_id
            LEFT JOIN crm_records cr ON cr.id = c.crm_record_id
         WHERE c.tenant_id = $1
            AND ($2 OR c.user_id = $3 OR $3 = ANY(c.agents) OR c.consult_user = $3
                 OR (c.user_id IS NULL AND c.direction = 'inbound'))
            AND c.id = ANY($4::uuid[])
         ORDER BY c.started_at"#,
        scope.tenant.0,
        scope.sees_all,
        scope.user.0,
        ids,
    )
    .fetch_all(&mut **tx)
    .await
}

/// Matching calls in order, at most `limit` (the CSV export).
pub async fn all(
    tx: &mut Tx,
    scope: &Scope,
    f: &Filter,
    sort: Sort,
    limit: i64,
) -> sqlx::Result<Vec<CallRow>> {
    page(tx, scope, f, sort, limit, 0).await
}

/// A running call as its actions need it (issue #18): its agent, phase and consultation.
#[derive(Debug, Clone)]
pub struct RunningCall {
    pub user_id: Option<i64>,
    pub phase: Option<String>,
    /// The consulted party's leg, once a consultation answered.
    pub consult_channel: Option<String>,
    pub answered_at: Option<OffsetDateTime>,
}

impl RunningCall {
    /// Where the call is. The answer is written with the call record and the phase by its
    /// controller's next checkpoint (asynchronously): an answered call is talking whatever phase
    /// it wrote before.
    pub fn phase(&self) -> &str {
        live_phase(self.phase.as_deref(), self.answered_at.is_some())
    }
}

/// A running call's phase as the record says it: the answer is written with the call record, the
/// phase by its controller's next checkpoint (asynchronously), so an answered call is talking
/// whatever phase it wrote before. The one rule for every reader (actions, the presence board).
pub fn live_phase(phase: Option<&str>, answered: bool) -> &str {
    match phase.unwrap_or("setup") {
        "setup" | "greeting" | "ringing" | "dialing" if answered => "talking",
        p => p,
    }
}

/// A running call of the tenant (None: none such, or it ended).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, call.id = %id))]
pub async fn running_call(tx: &mut Tx, tenant: TenantId, id: Uuid) -> sqlx::Result<Option<RunningCall>> {
    sqlx::query_as!(
        RunningCall,
        "SELECT user_id, phase, consult_channel, answered_at FROM calls \
         WHERE id = $1 AND tenant_id = $2 AND ended_at IS NULL",
        id,
        tenant.0
    )
    .fetch_optional(&mut **tx)
    .await
}

/// What the call card writes back. `None` leaves a column as it is; `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct CardUpdate {
    pub note: Option<Option<String>>,
    pub call_type: Option<Option<String>>,
    pub call_result: Option<Option<String>>,
    /// Records the wrap-up time once: end of the call → now, for an ended call of `user`'s own.
    pub wrapup_by: Option<UserId>,
}

/// Writes the call card's fields.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, call.id = %id))]
pub async fn update_card(tx: &mut Tx, tenant: TenantId, id: Uuid, u: &CardUpdate) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE calls SET
            note = CASE WHEN $3 THEN $4 ELSE note END,
            call_type = CASE WHEN $5 THEN $6 ELSE call_type END,
            call_result = CASE WHEN $7 THEN $8 ELSE call_result END,
            wrapup_secs = CASE WHEN $9::bigint IS NOT NULL AND wrapup_secs IS NULL AND ended_at IS NOT NULL
                AND user_id = $9 THEN LEAST(GREATEST(extract(epoch FROM now() - ended_at), 0), 86400)::int
                ELSE wrapup_secs END
         WHERE tenant_id = $1 AND id = $2",
        tenant.0,
        id,
        u.note.is_some(),
        u.note.clone().flatten(),
        u.call_type.is_some(),
        u.call_type.clone().flatten(),
        u.call_result.is_some(),
        u.call_result.clone().flatten(),
        u.wrapup_by.map(|w| w.0),
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The CRM record linked to a call (matched, called from, or created from the card).
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, call.id = %id))]
pub async fn linked_record(tx: &mut Tx, tenant: TenantId, id: Uuid) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!("SELECT crm_record_id FROM calls WHERE tenant_id = $1 AND id = $2", tenant.0, id)
        .fetch_one(&mut **tx)
        .await
}

#[cfg(test)]
mod tests {
    use super::live_phase;

    #[test]
    fn an_answered_call_is_talking_until_its_controller_writes_otherwise() {
        for p in ["setup", "greeting", "ringing", "dialing"] {
            assert_eq!(live_phase(Some(p), true), "talking", "{p}");
            assert_eq!(live_phase(Some(p), false), p);
        }
        assert_eq!(live_phase(None, false), "setup");
        assert_eq!(live_phase(None, true), "talking");
        for p in ["parked", "consulting", "voicemail", "closed", "transferring"] {
            assert_eq!(live_phase(Some(p), true), p);
        }
    }
}
