/** The call a card follows, updated from the `call` events of the user's `/events` socket. */
import type { CallEvent } from '../../../shared/events';

export interface LiveCall {
  id: string;
  direction: string;
  state: string;
  startedAt: number;
  answeredAt?: number;
  endedAt?: number;
  /** The tenant's number an inbound call came in on. */
  did?: string;
}

const ENDED = ['ended', 'missed', 'refused', 'forwarded', 'failed'];

/** The card's call after event `m` reached user `userId`; `c` is the call the card shows now. */
export function nextLiveCall(c: LiveCall | null, m: CallEvent, userId: number, now: number): LiveCall | null {
  const state = String(m.state);
  // An inbound call answered by someone else is not ours any more; nor is a call we were consulted
  // about once the agent went back to the caller.
  const elsewhere = (state === 'answered' && m.direction === 'inbound') || state === 'consult_ended';
  if (elsewhere && typeof m.user_id === 'number' && m.user_id !== userId) return c?.id === m.call_id ? null : c;
  if (c && c.id !== m.call_id) {
    // A new call replaces a finished card; a running call keeps its card.
    if (!c.endedAt) return c;
  }
  const base: LiveCall = c && c.id === m.call_id ? c : { id: m.call_id, direction: String(m.direction), state, startedAt: now };
  const next: LiveCall = { ...base, state };
  if (typeof m.did === 'string' && m.did && next.direction === 'inbound') next.did = m.did;
  if (state === 'answered' && !next.answeredAt) next.answeredAt = now;
  if (ENDED.includes(state) && !next.endedAt) next.endedAt = now;
  return next;
}
