/**
 * The `/events` WebSocket (docs/api.md): JSON messages of the signed-in user's tenant. One socket
 * per page, shared by every part of it that listens (the server caps a user's sockets). Reconnects
 * with a growing delay (1 s … 30 s) and calls `onReconnect` after each reconnect, so a page can
 * refetch what it may have missed while the socket was down.
 *
 * The server closes a socket with a code that says why (docs/api.md, "WebSocket close codes"); the
 * app hears about them through {@link onSocketNotice}.
 */
export interface EventsOptions {
  onMessage: (msg: { type: string; [k: string]: unknown }) => void;
  onReconnect?: () => void;
  /** For tests: the WebSocket constructor and the URL. */
  WebSocketImpl?: typeof WebSocket;
  url?: string;
}

/** The session ended (logout elsewhere, disabled, new password): sign in again. */
export const CLOSE_SESSION_ENDED = 4401;
/** The user's role or masking changed: reconnect at once. */
export const CLOSE_ACCESS_CHANGED = 4409;
/** Too many sockets for the user, the organisation or the service. */
export const CLOSE_TOO_MANY = 4429;
/** How long to wait before trying again after a 4429. */
export const TOO_MANY_RETRY_MS = 60000;

/** What the server's close codes mean for the app. `ok`: a socket works again after `too_many`. */
export type SocketNotice = { kind: 'too_many'; reason: string } | { kind: 'session_ended' } | { kind: 'access_changed' } | { kind: 'ok' };

const noticeListeners = new Set<(n: SocketNotice) => void>();

/** Listens to socket notices (from `/events` and the phone); returns the unsubscribe function. */
export function onSocketNotice(fn: (n: SocketNotice) => void): () => void {
  noticeListeners.add(fn);
  return () => noticeListeners.delete(fn);
}

export function noticeSockets(n: SocketNotice): void {
  for (const l of [...noticeListeners]) l(n);
}

export function eventsUrl(loc: Pick<Location, 'protocol' | 'host'> = location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/events`;
}

interface Shared {
  subs: Set<EventsOptions>;
  stop: () => void;
}

const shared = new Map<string, Shared>();

/** Subscribes to the page's socket (opening it if needed); returns a function that unsubscribes. */
export function connectEvents(o: EventsOptions): () => void {
  const url = o.url ?? eventsUrl();
  let s = shared.get(url);
  if (!s) {
    const subs = new Set<EventsOptions>();
    s = { subs, stop: openSocket(url, o.WebSocketImpl ?? WebSocket, subs) };
    shared.set(url, s);
  }
  const mine = s;
  mine.subs.add(o);
  return () => {
    mine.subs.delete(o);
    if (mine.subs.size === 0 && shared.get(url) === mine) {
      shared.delete(url);
      mine.stop();
    }
  };
}

/** One socket delivering to `subs`, reconnecting; returns a function that closes it for good. */
function openSocket(url: string, Ws: typeof WebSocket, subs: Set<EventsOptions>): () => void {
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
      try {
        const msg = JSON.parse(String(ev.data));
        if (msg && typeof msg.type === 'string') for (const s of [...subs]) s.onMessage(msg);
      } catch {
        /* not JSON: ignore */
      }
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
