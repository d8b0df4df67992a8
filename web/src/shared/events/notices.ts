/**
 * What the server's WebSocket close codes mean for the app (docs/api.md, "WebSocket close codes"),
 * told to whoever listens: the `/events` socket and the phone's `/sip` socket both report here.
 */

/** The session ended (logout elsewhere, disabled, new password): sign in again. */
export const CLOSE_SESSION_ENDED = 4401;
/** The user's role or masking changed: reconnect at once. */
export const CLOSE_ACCESS_CHANGED = 4409;
/** Too many sockets for the user, the organisation or the service. */
export const CLOSE_TOO_MANY = 4429;
/** Events were lost on the way to the server's replica (a Redis restart, or this socket fell behind): reconnect and reload. */
export const CLOSE_RESYNC = 1012;
/** How long to wait before trying again after a 4429. */
export const TOO_MANY_RETRY_MS = 60000;

/** `ok`: a socket works again after `too_many`. */
export type SocketNotice = { kind: 'too_many'; reason: string } | { kind: 'session_ended' } | { kind: 'access_changed' } | { kind: 'ok' };

const noticeListeners = new Set<(n: SocketNotice) => void>();

/** Listens to socket notices; returns the unsubscribe function. */
export function onSocketNotice(fn: (n: SocketNotice) => void): () => void {
  noticeListeners.add(fn);
  return () => noticeListeners.delete(fn);
}

export function noticeSockets(n: SocketNotice): void {
  for (const l of [...noticeListeners]) l(n);
}
