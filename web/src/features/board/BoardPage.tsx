/**
 * The live presence board (issue #18), for administrators, sub-administrators and supervisors:
 * every telephony user with their state and the time in it, the call they are on (direction, the
 * other party as the viewer may see it, the client, duration, hold, recording), calls nobody has
 * taken yet, and the trunk lines in use. One snapshot, then `agent_state`, `agent_presence` and `board_call` events —
 * no polling; the snapshot is read again after a reconnect and when a call with a CRM client
 * appears (its name comes with the snapshot).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { Board, BoardAgent, LiveCall } from '../../shared/api/types';
import { describeError } from '../../shared/api/errors';
import { subscribe } from '../../shared/events';
import { Alert } from '../../shared/ui/Alert';
import { t, type MessageKey } from '../../shared/i18n';
import { mmss } from '../../shared/ui/time';
import { callOf, inGroup, shownState, waiting, withAgentState, withCall, withPresence } from './board';

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

function CallCell({ call, now }: { call: LiveCall; now: number }) {
  const arrow = call.direction === 'inbound' ? '↙' : call.direction === 'outbound' ? '↗' : '↔';
  const ringing = call.answered_at == null;
  return (
    <span class="board__call" data-testid="board-call" data-phase={call.phase}>
      <span aria-hidden="true">{arrow}</span> <span data-testid="board-number">{call.number}</span>
      {call.client && <span class="board__client"> · {call.client.title}</span>}
      <span class="muted">
        {' · '}
        {ringing ? t('board.ringingFor', { time: since(call.started_at, now) }) : since(call.answered_at, now)}
      </span>
      {call.on_hold && <span class="badge">{t('board.onHold')}</span>}
      {call.recording && <span class="badge badge--rec" title={t('board.recording')}>● REC</span>}
    </span>
  );
}

function AgentRow({ a, board, now }: { a: BoardAgent; board: Board; now: number }) {
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
      <td>{call ? <CallCell call={call} now={now} /> : <span class="muted">—</span>}</td>
    </tr>
  );
}

export function BoardPage() {
  const [board, setBoard] = useState<Board | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [group, setGroup] = useState<number | null>(null);
  const [now, setNow] = useState(Date.now());
  // The server's clock minus ours: durations count from the server's times.
  const skew = useRef(0);
  const refetch = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  async function load() {
    try {
      const b = await api.board();
      skew.current = Date.parse(b.now) - Date.now();
      setBoard(b);
      setError(null);
    } catch (e) {
      setError(describeError(e));
    }
  }

  useEffect(() => {
    void load();
    const offState = subscribe('agent_state', (e) => setBoard((b) => (b ? withAgentState(b, e) : b)), { onReconnect: () => void load() });
    const offPresence = subscribe('agent_presence', (e) => setBoard((b) => (b ? withPresence(b, e) : b)));
    const offCall = subscribe('board_call', (e) =>
      setBoard((b) => {
        if (!b) return b;
        const { board: next, fresh } = withCall(b, e);
        if (fresh) {
          clearTimeout(refetch.current);
          refetch.current = setTimeout(() => void load(), 300);
        }
        return next;
      }),
    );
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      offState();
      offPresence();
      offCall();
      clearInterval(tick);
      clearTimeout(refetch.current);
    };
  }, []);

  const serverNow = now + skew.current;
  const agents = board ? inGroup(board.agents, group) : [];
  const queue = board ? waiting(board) : [];
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
          </div>
          {queue.length > 0 && (
            <div class="card">
              <h2>{t('board.waitingTitle')}</h2>
              <ul class="board__queue">
                {queue.map((c) => (
                  <li>
                    <CallCell call={c} now={serverNow} />
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
                <AgentRow key={a.user_id} a={a} board={board} now={serverNow} />
              ))}
            </tbody>
          </table>
          {agents.length === 0 && <p>{t('board.empty')}</p>}
        </>
      )}
    </section>
  );
}
