//! The call record's writer: every write of a call actor goes, in order, through one task per call
//! that retries while PostgreSQL is unreachable (down, restarting, refusing connections) instead of
//! dropping the write. The actor never waits for the database: a call keeps being controlled — a
//! hang-up still ends both legs — while PostgreSQL restarts, and its record catches up once it is
//! back. Each write carries the time of what it records (answered, ended), so a late write still
//! gives the call its true times.
//!
//! A write refused for another reason (a constraint, a bug) is logged and dropped, as before: a
//! retry would not change the answer. Every write is fenced by the Stasis lease (`crate::lease`):
//! none is tried once the lease is not current, and each commits through
//! [`control::commit_fenced`], which rolls it back when a controller with a newer token has written
//! the record (then this replica's lease is surely lost: [`Held::revoke`]).

use std::time::Duration;

use callbase_core::{TenantId, UserId};
use callbase_db::calls::{control, live, CallResult};
use callbase_db::supervisions;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::lease::Held;

/// One write of a call record, in the order the actor made them. The writer stamps each with the
/// time it was sent: an answer, an end or an opening written late still gets its true time.
#[derive(Debug, Clone)]
pub(super) enum Op {
    Open(Box<live::NewCall>),
    Answered(Option<UserId>),
    Routed {
        slot: i16,
        note: Option<String>,
    },
    Unrouted(String),
    Forwarded(String),
    Ended {
        result: CallResult,
        reason: Option<String>,
        hold_secs: i32,
    },
    Recording(String),
    RecordingStopped(String),
    RecordingPaused(bool),
    Checkpoint(Box<control::Checkpoint>),
    SupervisionAnswered {
        id: i64,
        channel: String,
        snoop: Option<String>,
        bridge: Option<String>,
    },
    SupervisionEnded {
        id: i64,
        result: String,
    },
    /// The call left its parking slot.
    Unparked,
    /// The caller is leaving a message: the call's recording is the voicemail (issue #19).
    Voicemail,
    /// The caller joined a queue (issue #19): its place in line is the time of this write.
    Queued(i64),
    /// The caller left the queue: `answered`, `abandoned` or `overflow`.
    LeftQueue(&'static str),
}

impl Op {
    fn name(&self) -> &'static str {
        match self {
            Op::Open(_) => "open",
            Op::Answered(_) => "answered",
            Op::Routed { .. } => "routed",
            Op::Unrouted(_) => "unrouted",
            Op::Forwarded(_) => "forwarded",
            Op::Ended { .. } => "ended",
            Op::Recording(_) => "recording",
            Op::RecordingStopped(_) => "recording stopped",
            Op::RecordingPaused(_) => "recording paused",
            Op::Checkpoint(_) => "checkpoint",
            Op::SupervisionAnswered { .. } => "supervision answered",
            Op::SupervisionEnded { .. } => "supervision ended",
            Op::Unparked => "unparked",
            Op::Voicemail => "voicemail",
            Op::Queued(_) => "queued",
            Op::LeftQueue(_) => "left the queue",
        }
    }
}

/// The first retry waits this long, doubling up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// After this long unreachable, the write is given up (a takeover's adoption closes the record).
const GIVE_UP: Duration = Duration::from_secs(3600);

/// The sending end held by the call actor; the writer task ends once it is dropped and the queue is
/// written.
#[derive(Debug, Clone)]
pub(super) struct Writer(mpsc::UnboundedSender<(Op, OffsetDateTime)>);

impl Writer {
    pub(super) fn spawn(db: callbase_db::Db, fence: Held, tenant: TenantId, id: Uuid) -> Writer {
        let (tx, mut rx) = mpsc::unbounded_channel::<(Op, OffsetDateTime)>();
        tokio::spawn(async move {
            while let Some((op, at)) = rx.recv().await {
                write_until_done(&db, &fence, tenant, id, &op, at).await;
            }
        });
        Writer(tx)
    }

    pub(super) fn send(&self, op: Op) {
        if let Err(e) = self.0.send((op, OffsetDateTime::now_utc())) {
            tracing::error!(write = e.0 .0.name(), "the call record's writer is gone");
        }
    }
}

async fn write_until_done(
    db: &callbase_db::Db,
    fence: &Held,
    tenant: TenantId,
    id: Uuid,
    op: &Op,
    at: OffsetDateTime,
) {
    let started = tokio::time::Instant::now();
    let mut wait = RETRY_FIRST;
    let mut warned = false;
    loop {
        if !fence.is_current() {
            // The lease's new holder runs the call (and adopts its record) from now on.
            tracing::info!(call.id = %id, write = op.name(), "call record write dropped: the Stasis lease is not this replica's");
            return;
        }
        match apply(db, fence.token, tenant, id, op, at).await {
            Ok(false) => {
                // Written under a newer token: this replica's lease is surely lost (rolled back).
                fence.revoke();
                return;
            }
            Ok(true) => {
                if warned {
                    tracing::info!(call.id = %id, write = op.name(), "the call record is written after the database came back");
                }
                return;
            }
            Err(e) if callbase_db::unavailable(&e) && started.elapsed() < GIVE_UP => {
                if !warned {
                    tracing::warn!(error = %e, call.id = %id, write = op.name(), "the database is unreachable: the call record write waits for it");
                    warned = true;
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
            }
            Err(e) => {
                tracing::error!(error = %e, call.id = %id, write = op.name(), "cannot write the call record");
                return;
            }
        }
    }
}

/// One write (made by the actor at `at`) in the call's tenant transaction, committed only if the
/// record is not fenced against `token`: false when it is.
async fn apply(
    db: &callbase_db::Db,
    token: u64,
    tenant: TenantId,
    id: Uuid,
    op: &Op,
    at: OffsetDateTime,
) -> sqlx::Result<bool> {
    let mut tx = db.tenant_tx(tenant).await?;
    match op {
        Op::Open(c) => live::open(&mut tx, c, at).await?,
        Op::Answered(user) => live::answered(&mut tx, id, *user, at).await?,
        Op::Routed { slot, note } => live::routed(&mut tx, id, *slot, note.as_deref()).await?,
        Op::Unrouted(note) => live::unrouted(&mut tx, id, note).await?,
        Op::Forwarded(note) => live::forwarded(&mut tx, id, note).await?,
        Op::Ended { result, reason, hold_secs } => {
            live::ended(&mut tx, id, *result, reason.as_deref(), *hold_secs, at).await?;
            supervisions::end_all_of_call(&mut tx, id, "call ended", at).await?
        }
        Op::Recording(name) => live::set_recording(&mut tx, id, name).await?,
        Op::RecordingStopped(key) => live::recording_stopped(&mut tx, id, key).await?,
        Op::RecordingPaused(paused) => live::recording_paused(&mut tx, id, *paused).await?,
        Op::Checkpoint(c) => control::checkpoint(&mut tx, id, c).await?,
        Op::SupervisionAnswered { id, channel, snoop, bridge } => {
            supervisions::answered(&mut tx, *id, channel, snoop.as_deref(), bridge.as_deref(), at).await?
        }
        Op::SupervisionEnded { id, result } => supervisions::ended(&mut tx, *id, result, at).await?,
        Op::Unparked => callbase_db::calls::parking::unpark(&mut tx, id).await?,
        Op::Voicemail => live::voicemail(&mut tx, id).await?,
        Op::Queued(queue) => callbase_db::queues::joined(&mut tx, id, *queue, at).await?,
        Op::LeftQueue(outcome) => callbase_db::queues::left(&mut tx, id, outcome, at).await?,
    }
    control::commit_fenced(tx, id, token).await
}
