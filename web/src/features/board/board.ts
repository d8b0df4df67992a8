/**
 * The presence board's state (issue #18): the snapshot of `GET /api/telephony/board`, kept live by
 * `agent_state` and `board_call` events. Pure functions, so the page only renders.
 *
 * Queues (issue #19): a caller waiting in a queue is a call in phase `queued` (its news: `ringing`
 * with the queue's id and nobody rung); while a member rings for it, it is `ringing` like any call.
 * The queues' figures come with the snapshot only.
 */
import type { Board, BoardAgent, LiveCall, QueueFigures } from '../../shared/api/types';
import type { AgentPresenceEvent, AgentStateEvent, BoardCallEvent } from '../../shared/events/types';

/** A call's news that ends it on the board. */
const GONE = new Set(['ended', 'missed', 'refused']);

function phaseOf(e: BoardCallEvent, prev: string | undefined): string {
  switch (e.state) {
    case 'dialing':
      return 'dialing';
    case 'ringing':
      // A caller in a queue nobody is rung for yet waits in line.
      return e.queue_id != null && e.ringing.length === 0 ? 'queued' : 'ringing';
    case 'answered':
    case 'held':
    case 'unheld':
      return 'talking';
    case 'transferring':
      return 'transferring';
    case 'forwarded':
      return 'forwarded';
    case 'parked':
      return 'parked';
    case 'consulting':
    case 'consulted':
      return 'consulting';
    case 'consult_ended':
      return 'talking';
    default:
      return prev ?? 'setup';
  }
}

export function withAgentState(b: Board, e: AgentStateEvent): Board {
  return {
    ...b,
    agents: b.agents.map((a) =>
      a.user_id === e.user_id ? { ...a, state: e.state, reason: e.reason ?? null, since: e.since, wrapup_until: e.wrapup_until ?? null } : a,
    ),
  };
}

export function withPresence(b: Board, e: AgentPresenceEvent): Board {
  return { ...b, agents: b.agents.map((a) => (a.user_id === e.user_id ? { ...a, online: { browser: e.browser, desk: e.desk } } : a)) };
}

/** The board after a call's news; `fresh` says whether the call is new to it (its client's name comes with the next snapshot). */
export function withCall(b: Board, e: BoardCallEvent): { board: Board; fresh: boolean } {
  const prev = b.calls.find((c) => c.call_id === e.call_id);
  let calls: LiveCall[];
  if (GONE.has(e.state)) {
    calls = b.calls.filter((c) => c.call_id !== e.call_id);
  } else {
    const next: LiveCall = {
      call_id: e.call_id,
      direction: e.direction,
      number: e.number,
      trunk: e.trunk ?? null,
      user_id: e.user_id ?? null,
      ringing: e.ringing,
      phase: phaseOf(e, prev?.phase),
      on_hold: e.on_hold,
      recording: e.recording,
      recording_paused: e.recording_paused ?? false,
      started_at: prev?.started_at ?? e.at,
      answered_at: prev?.answered_at ?? (e.state === 'answered' ? e.at : null),
      client: prev?.client ?? null,
      park_slot: e.park_slot ?? null,
      queue_id: e.queue_id ?? null,
    };
    calls = prev ? b.calls.map((c) => (c.call_id === e.call_id ? next : c)) : [...b.calls, next];
  }
  const trunks = b.trunks.map((t) => ({ ...t, in_use: calls.filter((c) => c.trunk === t.slot).length }));
  return { board: { ...b, calls, trunks }, fresh: !prev && !GONE.has(e.state) && e.crm_record_id != null };
}

/**
 * The call an agent is on, or being rung for (a call they parked is no longer theirs to show; a
 * caller waiting in a queue rings nobody until a member is chosen for it).
 */
export function callOf(b: Board, a: BoardAgent): LiveCall | undefined {
  return (
    b.calls.find((c) => c.user_id === a.user_id && c.park_slot == null) ??
    b.calls.find((c) => c.user_id == null && c.phase !== 'queued' && c.ringing.includes(a.user_id))
  );
}

/** Calls waiting in a parking slot, by slot. */
export function parked(b: Board): LiveCall[] {
  return b.calls.filter((c) => c.park_slot != null).sort((x, y) => (x.park_slot ?? 0) - (y.park_slot ?? 0));
}

/** Inbound calls nobody has taken yet (ringing, in the greeting, waiting in a queue, forwarded). */
export function waiting(b: Board): LiveCall[] {
  return b.calls.filter((c) => c.user_id == null);
}

/** What the board shows as an agent's status: offline (no device) wins over the chosen state. */
export function shownState(a: BoardAgent, now: number): string {
  if (!a.online.browser && !a.online.desk) return 'offline';
  if (a.state === 'wrapup' && a.wrapup_until && Date.parse(a.wrapup_until) <= now) return 'available';
  return a.state;
}

/** The agents in `group` (all with `null`). */
export function inGroup(agents: BoardAgent[], group: number | null): BoardAgent[] {
  return group == null ? agents : agents.filter((a) => a.group_ids.includes(group));
}

/**
 * The service level in percent: answered within the queue's time, of the callers who joined it
 * today (null: nobody did) — as the dashboard, the wallboard and the reports count it.
 */
export function serviceLevel(q: QueueFigures): number | null {
  return q.offered > 0 ? Math.round((q.answered_in_time * 100) / q.offered) : null;
}
