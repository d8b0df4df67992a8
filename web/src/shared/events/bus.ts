/**
 * The `/events` WebSocket of this tab (docs/api.md): ONE socket, opened when the first part of the
 * page subscribes and closed when the last one leaves, delivering typed {@link Event}s. Reconnects
 * with a growing delay (1 s … 30 s) and tells subscribers after each reconnect, so they can refetch
 * what they may have missed while the socket was down. Close codes become socket notices.
 */
import { CLOSE_ACCESS_CHANGED, CLOSE_RESYNC, CLOSE_SESSION_ENDED, CLOSE_TOO_MANY,
  TOO_MANY_RETRY_MS, noticeSockets } from './notices';
import { parseEvent, type Event, type EventOf, type EventType } from './types';

export type Unsubscribe = () => void;

export interface SubscribeOptions {
  /** Called after the socket came back (not on the first open). */
  onReconnect?: () => void;
}

export interface EventBus {
  /** Events of one type, narrowed. */
  subscribe<T extends EventType>(type: T, handler: (e: EventOf<T>) => void, opts?: SubscribeOptions): Unsubscribe;
  /** Every event. */
  subscribe(handler: (e: Event) => void, opts?: SubscribeOptions): Unsubscribe;
}

export interface BusOptions {
  /** The socket's URL; read when a socket opens. */
  url?: () => string;
  /** The WebSocket constructor; read when a socket opens (tests replace the global). */
  WebSocketImpl?: () => typeof WebSocket;
}

export function eventsUrl(loc: Pick<Location, 'protocol' | 'host'> = location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/events`;
}

interface Sub {
  type?: EventType;
  handler: (e: Event) => void;
  onReconnect?: () => void;
}

export function createEventBus(o: BusOptions = {}): EventBus {
  const subs = new Set<Sub>();
  let stop: (() => void) | null = null;

  function subscribe(a: EventType | ((e: Event) => void), b?: unknown, c?: SubscribeOptions): Unsubscribe {
    const sub: Sub =
      typeof a === 'string'
        ? { type: a, handler: b as (e: Event) => void, onReconnect: c?.onReconnect }
        : { handler: a, onReconnect: (b as SubscribeOptions | undefined)?.onReconnect };
    subs.add(sub);
    stop ??= openSocket((o.url ?? (() => eventsUrl()))(), (o.WebSocketImpl ?? (() => WebSocket))(), subs);
    return () => {
      if (!subs.delete(sub) || subs.size > 0) return;
      stop?.();
      stop = null;
    };
  }
  return { subscribe: subscribe as EventBus['subscribe'] };
}

/** One socket delivering to `subs`, reconnecting; returns a function that closes it for good. */
function openSocket(url: string, Ws: typeof WebSocket, subs: Set<Sub>): () => void {
  let closed = false;
  let delay = 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let okTimer: ReturnType<typeof setTimeout> | undefined;
  let socket: WebSocket | undefined;
  let opened = false;
  let refused = false;

  function open() {
    socket = new Ws(url);
    socket.onopen = () => {
      if (opened) for (const s of [...subs]) s.onReconnect?.();
      opened = true;
      delay = 1000;
      // A refused socket opens and is closed at once: only one that stays says the cap is gone.
      if (refused) {
        okTimer = setTimeout(() => {
          refused = false;
          noticeSockets({ kind: 'ok' });
        }, 2000);
      }
    };
    socket.onmessage = (ev: MessageEvent) => {
      const e = parseEvent(String(ev.data));
      if (!e) return;
      for (const s of [...subs]) if (!s.type || s.type === e.type) s.handler(e);
    };
    socket.onclose = (ev?: CloseEvent) => {
      if (okTimer) clearTimeout(okTimer);
      if (closed) return;
      const code = ev?.code;
      if (code === CLOSE_SESSION_ENDED) {
        // Reconnecting cannot help; the app takes the user to the login page.
        closed = true;
        noticeSockets({ kind: 'session_ended' });
        return;
      }
      let wait = delay;
      if (code === CLOSE_TOO_MANY) {
        refused = true;
        noticeSockets({ kind: 'too_many', reason: ev?.reason ?? '' });
        wait = TOO_MANY_RETRY_MS;
      } else if (code === CLOSE_ACCESS_CHANGED) {
        noticeSockets({ kind: 'access_changed' });
        wait = 100;
      } else if (code === CLOSE_RESYNC) {
        // Soon, not all at once: every socket of the replica got this close.
        wait = 100 + Math.random() * 1000;
      } else {
        delay = Math.min(delay * 2, 30000);
      }
      timer = setTimeout(open, wait);
    };
  }
  open();
  return () => {
    closed = true;
    if (timer) clearTimeout(timer);
    if (okTimer) clearTimeout(okTimer);
    socket?.close();
  };
}
