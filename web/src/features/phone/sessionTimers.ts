/**
 * SIP session timers (RFC 4028) in the browser phone (docs/phone.md, "Session timers").
 *
 * JsSIP advertises `timer`, asks for the server's session interval in its INVITEs and answers,
 * and — the phone is the refresher both ways: Asterisk lets the UAC refresh when it says
 * nothing, and JsSIP takes the refresh when Asterisk's INVITE says nothing — sends a re-INVITE
 * with the current media at half the interval. A re-INVITE, not an UPDATE: pjsip replaces the
 * dialog's remote target only on a re-INVITE, so every refresh also points Asterisk's requests at
 * the phone's current `/sip` socket (the reconnect's own re-INVITE does it first; a refresh heals a
 * call whose move did not get through).
 *
 * What JsSIP 3.13 does not do for us: a request of a confirmed call that meets a closed socket
 * (sent while the phone reconnects, or pending when the socket closes) makes JsSIP end the call
 * (`RTCSession.onTransportError`). Without timers that was rare (hold at the wrong moment); with a
 * refresh every half interval it would end calls that the reconnect (`controller.ts`) keeps. So
 * `keepThroughReconnects` makes the refresh wait while the socket is down — the controller's
 * re-INVITE after registering again is the refresh — and keeps a confirmed call on a transport
 * error. If the socket never comes back, Asterisk ends the call when no refresh came for the
 * interval less 32 s (less a third for short ones: 60 s of 90), and the phone's next re-INVITE
 * learns it (481).
 */

/** JsSIP UA options for the timers. */
export const SESSION_TIMER_OPTIONS = {
  session_timers: true,
  session_timers_refresh_method: 'INVITE',
} as const;

/** The interval when the server does not say (Asterisk's default), in seconds. */
export const DEFAULT_SESSION_EXPIRES = 1800;
/** JsSIP ignores a smaller `sessionTimersExpires`; Asterisk's minimum is 90. */
export const MIN_SESSION_EXPIRES = 90;

/** The interval to ask for: the server's, else the default. */
export function sessionExpires(fromServer: number | undefined | null): number {
  return typeof fromServer === 'number' && fromServer >= MIN_SESSION_EXPIRES ? fromServer : DEFAULT_SESSION_EXPIRES;
}

/** The JsSIP RTCSession internals the guard replaces (JsSIP 3.13; `sessionTimers.test.ts` checks they exist). */
interface JsSipSessionInternals {
  _sendReinvite?: (options?: unknown) => void;
  onTransportError?: () => void;
  isEstablished?: () => boolean;
}

/**
 * Keeps a confirmed call through a socket that closes: the session-timer refresh waits while
 * `connected()` is false, and a transport error of a confirmed call no longer ends it. A session
 * without these internals (the unit tests' fake) is left as it is. Returns whether it applied.
 */
export function keepThroughReconnects(session: unknown, connected: () => boolean): boolean {
  const s = session as JsSipSessionInternals;
  if (typeof s._sendReinvite !== 'function' || typeof s.onTransportError !== 'function' || typeof s.isEstablished !== 'function') {
    return false;
  }
  const sendReinvite = s._sendReinvite.bind(s);
  const onTransportError = s.onTransportError.bind(s);
  const established = s.isEstablished.bind(s);
  // JsSIP's session timer calls `_sendReinvite()` without options; hold, unhold and renegotiate
  // always pass some.
  s._sendReinvite = (options?: unknown) => {
    if (options === undefined && !connected()) return;
    sendReinvite(options);
  };
  s.onTransportError = () => {
    if (established()) return;
    onTransportError();
  };
  return true;
}
