import { describe, expect, it, vi } from 'vitest';
import * as JsSIP from 'jssip';
import { keepThroughReconnects, sessionExpires } from './sessionTimers';
import { uaConfiguration } from './uaConfig';

const CFG = { wsUrl: 'ws://test/sip', uri: 'sip:t1-w5@callbase', authorization_user: 't1-w5', password: 'p', display_name: 'Anna' };

describe('session timers (RFC 4028)', () => {
  it('the UA runs session timers, refreshed by re-INVITE, as JsSIP reads its configuration', () => {
    const conf = uaConfiguration(CFG, new JsSIP.WebSocketInterface(CFG.wsUrl));
    expect(conf.session_timers).toBe(true);
    expect(conf.session_timers_refresh_method).toBe('INVITE');
    const ua = new JsSIP.UA(conf);
    const applied = (ua as any).configuration;
    expect(applied.session_timers).toBe(true);
    expect(applied.session_timers_refresh_method).toBe(JsSIP.C.INVITE);
  });

  it("asks for the server's interval, never less than 90 s", () => {
    expect(sessionExpires(90)).toBe(90);
    expect(sessionExpires(1800)).toBe(1800);
    expect(sessionExpires(60)).toBe(1800);
    expect(sessionExpires(undefined)).toBe(1800);
  });

  it("JsSIP's session still has what the guard replaces (a JsSIP upgrade must keep them)", () => {
    const proto = (JsSIP as any).RTCSession.prototype;
    for (const m of ['_sendReinvite', '_runSessionTimer', 'onTransportError', 'isEstablished']) {
      expect(typeof proto[m], m).toBe('function');
    }
    // The refresh is `_sendReinvite()` without options (JsSIP 3.13 RTCSession._runSessionTimer).
    expect(String(proto._runSessionTimer)).toMatch(/this\._sendReinvite\(\)/);
  });

  function fakeSession(established: boolean) {
    return {
      sent: [] as unknown[],
      ended: 0,
      _sendReinvite(o?: unknown) {
        this.sent.push(o ?? 'refresh');
      },
      onTransportError() {
        this.ended++;
      },
      isEstablished: () => established,
    };
  }

  it('the refresh waits while the socket is down; hold and renegotiate go as before', () => {
    let up = true;
    const s = fakeSession(true);
    expect(keepThroughReconnects(s, () => up)).toBe(true);
    s._sendReinvite();
    up = false;
    s._sendReinvite();
    s._sendReinvite({ eventHandlers: {} });
    expect(s.sent).toEqual(['refresh', { eventHandlers: {} }]);
  });

  it('a transport error keeps a confirmed call and still ends one being set up', () => {
    const live = fakeSession(true);
    keepThroughReconnects(live, () => false);
    live.onTransportError();
    expect(live.ended).toBe(0);
    const early = fakeSession(false);
    keepThroughReconnects(early, () => false);
    early.onTransportError();
    expect(early.ended).toBe(1);
  });

  it('leaves a session without these internals alone', () => {
    const end = vi.fn();
    expect(keepThroughReconnects({ terminate: end }, () => true)).toBe(false);
  });
});
