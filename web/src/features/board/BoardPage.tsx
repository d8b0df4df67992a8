/**
 * The live presence board (issue #18), for administrators, sub-administrators and supervisors:
 * every telephony user with their state and the time in it, the call they are on (direction, the
 * other party as the viewer may see it, the client, duration, hold, recording), calls nobody has
 * taken yet, calls waiting in parking slots, and the trunk lines in use. One snapshot, then `agent_state`, `agent_presence` and `board_call` events —
 * no polling; the snapshot is read again after a reconnect and when a call with a CRM client
 * appears (its name comes with the snapshot).
 *
 * Queues (issue #19): each queue's callers waiting now (and requests to be called back still
 * waiting), the longest wait, and today's offered, answered, abandoned and overflowed calls with
 * the service level. The figures come with the snapshot, so news of a queue's call reads it again
 * (once the news settles, ~1 s).
 *
 * A connected call can be joined with the supervisor's own phone: listen, whisper or barge in (the
 * server refuses agents of private groups). Administrators see the supervision log below.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { Board, BoardAgent, LiveCall, QueueFigures, SuperviseMode, SupervisionEntry } from '../../shared/api/types';
import { describeError } from '../../shared/api/errors';
import { Alert } from '../../shared/ui/Alert';
import { t, type MessageKey } from '../../shared/i18n';
import { formatDateTime } from '../../shared/i18n/format';
import { mmss } from '../../shared/ui/time';
import { callOf, inGroup, parked, serviceLevel, shownState, waiting } from './board';
import { useLiveBoard } from './useLiveBoard';

const STATE_LABEL: Record<string, MessageKey> = {
  available: 'agent.available',
  break: 'board.break',
  dnd: 'agent.dnd',
  wrapup: 'agent.wrapup',
  offline: 'board.offline',
};

function since(iso: string | null | undefined, now: number): string {
  return iso ? mmss(Math.max(0, now - Date.parse(iso))) : '';
}

function CallCell({ call, now, queues }: { call: LiveCall; now: number; queues?: QueueFigures[] }) {
  const arrow = call.direction === 'inbound' ? '↙' : call.direction === 'outbound' ? '↗' : '↔';
  const ringing = call.answered_at == null;
  const queue = call.phase === 'queued' ? (queues?.find((q) => q.queue_id === call.queue_id)?.name ?? `#${call.queue_id ?? ''}`) : null;
  return (
    <span class="board__call" data-testid="board-call" data-phase={call.phase}>
      <span aria-hidden="true">{arrow}</span> <span data-testid="board-number">{call.number}</span>
      {call.client && <span class="board__client"> · {call.client.title}</span>}
      <span class="muted">
        {' · '}
        {queue !== null
          ? t('board.inQueue', { queue, time: since(call.started_at, now) })
          : ringing ? t('board.ringingFor', { time: since(call.started_at, now) }) : since(call.answered_at, now)}
      </span>
      {call.on_hold && <span class="badge">{t('board.onHold')}</span>}
      {call.recording && !call.recording_paused && <span class="badge badge--rec" title={t('board.recording')}>● REC</span>}
      {call.recording && call.recording_paused && <span class="badge" data-testid="board-rec-paused">{t('board.recPaused')}</span>}
    </span>
  );
}

const MODES: { mode: SuperviseMode; label: MessageKey; hint: MessageKey }[] = [
  { mode: 'listen', label: 'board.listen', hint: 'board.listenHint' },
  { mode: 'whisper', label: 'board.whisper', hint: 'board.whisperHint' },
  { mode: 'barge', label: 'board.barge', hint: 'board.bargeHint' },
];

type Supervise = (call: LiveCall, agent: BoardAgent, mode: SuperviseMode) => void;

function SuperviseButtons({ call, a, onSupervise }: { call: LiveCall; a: BoardAgent; onSupervise: Supervise }) {
  return (
    <span class="board__supervise" role="group" aria-label={a.name}>
      {MODES.map((m) => (
        <button type="button" class="btn btn--small" data-testid={`board-${m.mode}`} title={t(m.hint)}
          onClick={() => onSupervise(call, a, m.mode)}>
          {t(m.label)}
        </button>
      ))}
    </span>
  );
}

function AgentRow({ a, board, now, me, onSupervise }: { a: BoardAgent; board: Board; now: number; me: number; onSupervise: Supervise }) {
  const state = shownState(a, now);
  const call = callOf(board, a);
  const label = state === 'break' && a.reason === 'missed calls' ? t('agent.breakMissed') : t(STATE_LABEL[state] ?? 'agent.available');
  return (
    <tr data-testid="board-agent" data-user={a.user_id} data-state={state} data-busy={call ? (call.answered_at ? 'talking' : 'ringing') : 'idle'}>
      <td>
        <strong>{a.name}</strong> <span class="muted">{a.extension}</span>
      </td>
      <td>
        <span class={`phone__dot phone__dot--agent-${state}`} aria-hidden="true" /> <span data-testid="board-state">{label}</span>
        {state === 'break' && a.reason && a.reason !== 'missed calls' && <span class="muted"> · {a.reason}</span>}
        <span class="muted"> · {since(a.since, now)}</span>
      </td>
      <td>
        {call ? <CallCell call={call} now={now} /> : <span class="muted">—</span>}
        {call && call.answered_at != null && call.user_id === a.user_id && a.user_id !== me && (
          <SuperviseButtons call={call} a={a} onSupervise={onSupervise} />
        )}
      </td>
    </tr>
  );
}

/**
 * Each queue now and today. `age`: milliseconds since the snapshot was read, so the longest wait
 * keeps counting between snapshots.
 */
function QueuesCard({ queues, age }: { queues: QueueFigures[]; age: number }) {
  return (
    <div class="card" data-testid="board-queues">
      <h2>{t('board.queuesTitle')}</h2>
      <div class="table-wrap">
        <table class="table">
          <thead>
            <tr>
              <th>{t('board.queue')}</th>
              <th>{t('board.queueWaiting')}</th>
              <th>{t('board.queueLongest')}</th>
              <th>{t('board.queueOffered')}</th>
              <th>{t('board.queueAnswered')}</th>
              <th>{t('board.queueAbandoned')}</th>
              <th>{t('board.queueOverflowed')}</th>
              <th>{t('board.serviceLevel')}</th>
            </tr>
          </thead>
          <tbody>
            {queues.map((q) => {
              const sl = serviceLevel(q);
              return (
                <tr key={q.queue_id} data-testid="board-queue" data-queue={q.queue_id} data-waiting={q.waiting}>
                  <td><strong>{q.name}</strong></td>
                  <td>
                    <span data-testid="board-queue-waiting">{q.waiting}</span>
                    {q.callbacks_waiting > 0 && (
                      <span class="muted" data-testid="board-queue-callbacks" title={t('board.queueCallbacksHint')}>
                        {' · '}{t('board.queueCallbacks', { count: q.callbacks_waiting })}
                      </span>
                    )}
                  </td>
                  <td data-testid="board-queue-longest">{q.waiting > 0 ? mmss(q.longest_wait_secs * 1000 + age) : '—'}</td>
                  <td>{q.offered}</td>
                  <td>{q.answered}</td>
                  <td>{q.abandoned}</td>
                  <td>{q.overflowed}</td>
                  <td data-testid="board-queue-sl" title={t('board.serviceLevelHint', { secs: q.service_level_secs })}>
                    {sl === null ? '—' : `${sl}%`}
                    <span class="muted small"> ≤ {q.service_level_secs} s</span>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function SupervisionLog({ entries, onRefresh }: { entries: SupervisionEntry[]; onRefresh: () => void }) {
  const label = (m: string) => t(MODES.find((x) => x.mode === m)?.label ?? 'board.listen');
  return (
    <div class="card" data-testid="board-log">
      <div class="page__head">
        <h2>{t('board.log')}</h2>
        <div class="page__spacer" />
        <button type="button" class="btn btn--small" onClick={onRefresh}>{t('board.logRefresh')}</button>
      </div>
      {entries.length === 0 ? (
        <p class="muted">{t('board.logEmpty')}</p>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th>{t('board.logWhen')}</th>
              <th>{t('board.logWho')}</th>
              <th>{t('board.logWhom')}</th>
              <th>{t('board.logMode')}</th>
              <th>{t('board.logDuration')}</th>
              <th>{t('board.logResult')}</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id} data-testid="board-log-entry">
                <td>{formatDateTime(e.requested_at, { seconds: true })}</td>
                <td>{e.supervisor_name ?? e.supervisor_id}</td>
                <td>{e.agent_name ?? e.agent_id}</td>
                <td>{label(e.mode)}</td>
                <td>{e.duration_secs != null ? mmss(e.duration_secs * 1000) : '—'}</td>
                <td>{e.result ?? '…'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function BoardPage({ userId, isAdmin }: { userId: number; isAdmin: boolean }) {
  const live = useLiveBoard();
  const { board, serverNow } = live;
  // A failed supervise or log read; the snapshot's own failure is `live.error`.
  const [failure, setError] = useState<string | null>(null);
  const error = failure ?? live.error;
  const [notice, setNotice] = useState<string | null>(null);
  const [log, setLog] = useState<SupervisionEntry[]>([]);
  const [group, setGroup] = useState<number | null>(null);

  async function loadLog() {
    if (!isAdmin) return;
    try {
      setLog(await api.supervisions());
    } catch (e) {
      setError(describeError(e));
    }
  }

  async function supervise(call: LiveCall, a: BoardAgent, mode: SuperviseMode) {
    setError(null);
    setNotice(null);
    try {
      await api.supervise(call.call_id, mode);
      setNotice(t('board.superviseRinging', { agent: a.name }));
      void loadLog();
    } catch (e) {
      setError(describeError(e));
    }
  }

  useEffect(() => {
    void loadLog();
  }, []);

  const agents = board ? inGroup(board.agents, group) : [];
  const queue = board ? waiting(board) : [];
  const inSlots = board ? parked(board) : [];
  return (
    <section class="page" data-testid="board">
      <div class="page__head">
        <h1>{t('board.title')}</h1>
        <div class="page__spacer" />
        {board && (
          <label class="board__filter">
            {t('board.group')}{' '}
            <select class="input" data-testid="board-group" value={group ?? ''} onChange={(e) => {
              const v = (e.target as HTMLSelectElement).value;
              setGroup(v === '' ? null : Number(v));
            }}>
              <option value="">{t('board.allGroups')}</option>
              {board.groups.map((g) => (
                <option value={g.id}>{g.name}</option>
              ))}
            </select>
          </label>
        )}
      </div>
      <p class="muted">{t('board.intro')}</p>
      {error && <Alert kind="error">{error}</Alert>}
      {notice && <Alert kind="info">{notice}</Alert>}
      {!board && !error && <p aria-busy="true">{t('app.loading')}</p>}
      {board && (
        <>
          <div class="board__summary">
            {board.trunks.map((tr) => (
              <span class="badge" data-testid="board-trunk">
                {t('board.trunkLines', { label: tr.label, n: tr.in_use })}
              </span>
            ))}
            <span class="badge" data-testid="board-waiting">{t('board.waiting', { n: queue.length })}</span>
            <span class="badge" data-testid="board-parked-count">{t('board.parkedCount', { n: inSlots.length })}</span>
          </div>
          {board.queues.length > 0 && <QueuesCard queues={board.queues} age={live.snapshotAge} />}
          {inSlots.length > 0 && (
            <div class="card" data-testid="board-parked">
              <h2>{t('board.parkedTitle')}</h2>
              <ul class="board__queue">
                {inSlots.map((c) => (
                  <li data-testid="board-parked-call" data-slot={c.park_slot}>
                    <strong>{t('phone.parkSlot', { slot: c.park_slot ?? 0 })}</strong> · <CallCell call={c} now={serverNow} />
                    <span class="muted">
                      {' · '}
                      {t('board.parkedBy', { name: board.agents.find((a) => a.user_id === c.user_id)?.name ?? '—' })}
                    </span>
                  </li>
                ))}
              </ul>
            </div>
          )}
          {queue.length > 0 && (
            <div class="card">
              <h2>{t('board.waitingTitle')}</h2>
              <ul class="board__queue">
                {queue.map((c) => (
                  <li key={c.call_id}>
                    <CallCell call={c} now={serverNow} queues={board.queues} />
                  </li>
                ))}
              </ul>
            </div>
          )}
          <table class="table board__table">
            <thead>
              <tr>
                <th>{t('board.agent')}</th>
                <th>{t('board.state')}</th>
                <th>{t('board.call')}</th>
              </tr>
            </thead>
            <tbody>
              {agents.map((a) => (
                <AgentRow key={a.user_id} a={a} board={board} now={serverNow} me={userId} onSupervise={(c, ag, m) => void supervise(c, ag, m)} />
              ))}
            </tbody>
          </table>
          {agents.length === 0 && <p>{t('board.empty')}</p>}
          {isAdmin && <SupervisionLog entries={log} onRefresh={() => void loadLog()} />}
        </>
      )}
    </section>
  );
}
