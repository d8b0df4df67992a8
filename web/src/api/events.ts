/**
 * The `/events` WebSocket (docs/api.md): JSON messages of the signed-in user's tenant. Reconnects
 * with a growing delay (1 s … 30 s) and calls `onReconnect` after each reconnect, so a page can
 * refetch what it may have missed while the socket was down.
 */
export interface EventsOptions {
  onMessage: (msg: { type: string; [k: string]: unknown }) => void;
  onReconnect?: () => void;
  /** For tests: the WebSocket constructor and the URL. */
  WebSocketImpl?: typeof WebSocket;
  url?: string;
}

export function eventsUrl(loc: Pick<Location, 'protocol' | 'host'> = location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/events`;
}

/** Opens the socket; returns a function that closes it for good. */
export function connectEvents(o: EventsOptions): () => void {
  const Ws = o.WebSocketImpl ?? WebSocket;
  const url = o.url ?? eventsUrl();
  let closed = false;
  let delay = 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let socket: WebSocket | undefined;
  let opened = false;

  function open() {
    socket = new Ws(url);
    socket.onopen = () => {
      if (opened) o.onReconnect?.();
      opened = true;
      delay = 1000;
    };
    socket.onmessage = (ev: MessageEvent) => {
      try {
        const msg = JSON.parse(String(ev.data));
        if (msg && typeof msg.type === 'string') o.onMessage(msg);
      } catch {
        /* not JSON: ignore */
      }
    };
    socket.onclose = () => {
      if (closed) return;
      timer = setTimeout(open, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  open();
  return () => {
    closed = true;
    if (timer) clearTimeout(timer);
    socket?.close();
  };
}
