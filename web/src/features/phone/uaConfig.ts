/** The JsSIP user agent's configuration (`runtime.ts` creates the UA with it). */
import { SESSION_TIMER_OPTIONS } from './sessionTimers';
import type { UAConfig } from './types';

export function uaConfiguration<S>(cfg: UAConfig, socket: S) {
  // JsSIP speaks the `sip` subprotocol, which the server's /sip relay requires.
  return {
    sockets: [socket],
    uri: cfg.uri,
    authorization_user: cfg.authorization_user,
    password: cfg.password,
    display_name: cfg.display_name,
    register: true,
    register_expires: 120,
    // RFC 4028, refreshed by re-INVITE; see sessionTimers.ts.
    ...SESSION_TIMER_OPTIONS,
    // A socket closed by a stopping server replica (1012) comes back through another one within
    // 1–2 s: a call in progress needs its signalling back soon.
    connection_recovery_min_interval: 1,
    connection_recovery_max_interval: 30,
  };
}
