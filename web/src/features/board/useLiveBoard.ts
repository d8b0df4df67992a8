/**
 * The live board's state, shared by the presence board and the wallboard: the snapshot
 * (`GET /api/telephony/board`), then `agent_state`, `agent_presence` and `board_call` news applied
 * to it (news that comes while the first snapshot is on its way is applied once it arrives); the
 * snapshot read again when a call the board does not know appears, a queue's figures change (they
 * come with the snapshot only), the socket reconnects, and every `pollMs` when given. `now` ticks
 * every second; `serverNow()` and `snapshotAge()` count durations on the server's clock.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { Board } from '../../shared/api/types';
import { describeError } from '../../shared/api/errors';
import { subscribe } from '../../shared/events';
import { withAgentState, withCall, withPresence } from './board';

export interface LiveBoard {
  board: Board | null;
  /** The last read's failure (the last snapshot stays shown). */
  error: string | null;
  /** Our clock, ticking every second. */
  now: number;
  /** The server's time now (the snapshot's `now` tells the skew). */
  serverNow: number;
  /** Milliseconds since the last snapshot arrived. */
  snapshotAge: number;
  reload: () => Promise<void>;
}

export function useLiveBoard(pollMs?: number): LiveBoard {
  const [board, setBoard] = useState<Board | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());
  // The server's clock minus ours, and when the last snapshot arrived (our clock).
  const skew = useRef(0);
  const snapAt = useRef(Date.now());
  const refetch = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  // News that came while the first snapshot was on its way: applied to it once it arrives (the
  // snapshot may have been read before the news happened — a phone registering meanwhile).
  const early = useRef<((b: Board) => Board)[]>([]);

  function apply(f: (b: Board) => Board) {
    setBoard((b) => {
      if (b) return f(b);
      early.current.push(f);
      return b;
    });
  }

  async function load() {
    try {
      const b = await api.board();
      skew.current = Date.parse(b.now) - Date.now();
      snapAt.current = Date.now();
      const news = early.current;
      early.current = [];
      setBoard((prev) => (prev ? b : news.reduce((acc, f) => f(acc), b)));
      setNow(Date.now());
      setError(null);
    } catch (e) {
      setError(describeError(e));
    }
  }

  useEffect(() => {
    void load();
    const offState = subscribe('agent_state', (e) => apply((b) => withAgentState(b, e)), { onReconnect: () => void load() });
    const offPresence = subscribe('agent_presence', (e) => apply((b) => withPresence(b, e)));
    // Reads the snapshot again after `ms`, once: more news meanwhile moves the read on.
    const later = (ms: number) => {
      clearTimeout(refetch.current);
      refetch.current = setTimeout(() => void load(), ms);
    };
    const offCall = subscribe('board_call', (e) => {
      apply((b) => {
        const { board: next, fresh } = withCall(b, e);
        if (fresh) later(300);
        return next;
      });
      // A queue's figures (waiting, answered, abandoned…) come with the snapshot.
      if (e.queue_id != null) later(1000);
    });
    const poll = pollMs ? setInterval(() => void load(), pollMs) : undefined;
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      offState();
      offPresence();
      offCall();
      clearInterval(poll);
      clearInterval(tick);
      clearTimeout(refetch.current);
    };
  }, []);

  return { board, error, now, serverNow: now + skew.current, snapshotAge: Math.max(0, now - snapAt.current), reload: load };
}
