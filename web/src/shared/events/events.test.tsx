import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { setLang } from '../i18n';
import { SocketNotice } from './SocketNotice';
import {
  CLOSE_ACCESS_CHANGED,
  CLOSE_SESSION_ENDED,
  CLOSE_TOO_MANY,
  TOO_MANY_RETRY_MS,
  createEventBus,
  eventsUrl,
  noticeSockets,
  onSocketNotice,
  parseEvent,
  subscribe,
  type CallEvent,
  type Event,
  type SocketNotice as Notice,
  type TrunkStatusEvent,
} from '.';

class FakeSocket {
  static all: FakeSocket[] = [];
  onopen?: () => void;
  onmessage?: (e: { data: string }) => void;
  onclose?: (e?: { code: number; reason: string }) => void;
  closed = false;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  close() {
    this.closed = true;
  }
  send(msg: unknown) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
}

const bus = (url = 'ws://x/events') => createEventBus({ url: () => url, WebSocketImpl: () => FakeSocket as unknown as typeof WebSocket });

const CALL = { type: 'call', call_id: 'c1', state: 'ringing', direction: 'inbound', number: '+74951234567', user_id: 3 };
const TRUNK = { type: 'trunk_status', registration: 't1-trk1', state: 'registered', reason: '', since: 1 };
const ALERT = { type: 'security_alert', alert: { id: 7, at: '2026-12-03T08:00:00Z', kind: 'concurrent_calls', level: 'warning', message: 'm', user_id: null, country_code: null } };

function listen(): { notices: Notice[]; stop: () => void } {
  const notices: Notice[] = [];
  return { notices, stop: onSocketNotice((n) => notices.push(n)) };
}

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  FakeSocket.all = [];
});

describe('the /events socket of a tab', () => {
  it('builds the URL from the page origin', () => {
    expect(eventsUrl({ protocol: 'https:', host: 'app.example.com' })).toBe('wss://app.example.com/events');
    expect(eventsUrl({ protocol: 'http:', host: '127.0.0.1:8080' })).toBe('ws://127.0.0.1:8080/events');
  });

  it('opens one socket for several subscribers and gives each the events it asked for', () => {
    const b = bus();
    const calls: CallEvent[] = [];
    const trunks: TrunkStatusEvent[] = [];
    const all: Event[] = [];
    const stops = [b.subscribe('call', (e) => calls.push(e)), b.subscribe('trunk_status', (e) => trunks.push(e)), b.subscribe((e) => all.push(e))];
    expect(FakeSocket.all.length).toBe(1);
    expect(FakeSocket.all[0]!.url).toBe('ws://x/events');
    const s = FakeSocket.all[0]!;
    s.send(CALL);
    s.send(TRUNK);
    s.send(ALERT);
    expect(calls).toEqual([CALL]);
    expect(trunks).toEqual([TRUNK]);
    expect(all.map((e) => e.type)).toEqual(['call', 'trunk_status', 'security_alert']);
    for (const stop of stops) stop();
  });

  it('the app-wide subscribe shares one socket between the phone, the call card and a page', () => {
    vi.stubGlobal('WebSocket', FakeSocket);
    const stops = [subscribe(() => undefined), subscribe('call', () => undefined), subscribe('trunk_status', () => undefined, { onReconnect: () => undefined })];
    expect(FakeSocket.all.length).toBe(1);
    expect(FakeSocket.all[0]!.url).toMatch(/\/events$/);
    for (const stop of stops) stop();
    expect(FakeSocket.all[0]!.closed).toBe(true);
  });

  it('stops delivering after unsubscribe; closes with the last subscriber and opens again for a new one', () => {
    const b = bus();
    const a: unknown[] = [];
    const c: unknown[] = [];
    const stopA = b.subscribe('call', (e) => a.push(e));
    const stopC = b.subscribe('call', (e) => c.push(e));
    FakeSocket.all[0]!.send(CALL);
    stopA();
    stopA();
    expect(FakeSocket.all[0]!.closed).toBe(false);
    FakeSocket.all[0]!.send(CALL);
    expect([a.length, c.length]).toEqual([1, 2]);
    stopC();
    expect(FakeSocket.all[0]!.closed).toBe(true);
    const stopD = b.subscribe(() => undefined);
    expect(FakeSocket.all.length).toBe(2);
    stopD();
  });

  it('reconnects with a growing delay, says when it is back, and stays closed once everyone left', () => {
    vi.useFakeTimers();
    const b = bus();
    const reconnected = vi.fn();
    const got: unknown[] = [];
    const stop = b.subscribe('trunk_status', (e) => got.push(e), { onReconnect: reconnected });
    const first = FakeSocket.all[0]!;
    first.onopen?.();
    expect(reconnected).not.toHaveBeenCalled();
    first.onclose?.();
    vi.advanceTimersByTime(999);
    expect(FakeSocket.all.length).toBe(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all.length).toBe(2);
    FakeSocket.all[1]!.onclose?.();
    vi.advanceTimersByTime(1999);
    expect(FakeSocket.all.length).toBe(2);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all.length).toBe(3);
    FakeSocket.all[2]!.onopen?.();
    expect(reconnected).toHaveBeenCalledTimes(1);
    FakeSocket.all[2]!.send(TRUNK);
    expect(got).toEqual([TRUNK]);
    FakeSocket.all[2]!.onclose?.();
    vi.advanceTimersByTime(1000);
    expect(FakeSocket.all.length).toBe(4);
    stop();
    expect(FakeSocket.all[3]!.closed).toBe(true);
    FakeSocket.all[3]!.onclose?.();
    vi.advanceTimersByTime(60000);
    expect(FakeSocket.all.length).toBe(4);
  });

  it('narrows each event by its type and drops what handlers could not read', () => {
    const b = bus();
    const seen: string[] = [];
    const stop = b.subscribe((e) => {
      switch (e.type) {
        case 'call':
          expectTypeOf(e).toEqualTypeOf<CallEvent>();
          seen.push(`call ${e.call_id} ${e.state}`);
          break;
        case 'trunk_status':
          seen.push(`trunk ${e.registration} ${e.state}`);
          break;
        case 'security_alert':
          seen.push(`alert ${e.alert.id}`);
          break;
        case 'phone_status':
          seen.push(`phone ${e.registered}`);
          break;
      }
    });
    const s = FakeSocket.all[0]!;
    s.send(CALL);
    s.send(TRUNK);
    s.send(ALERT);
    s.send({ type: 'phone_status', registered: true });
    s.onmessage?.({ data: 'not json' });
    s.send({ type: 'call_ringing', call_id: 'x' });
    s.send({ type: 'call', state: 'ringing' });
    s.send({ type: 'security_alert', alert: null });
    s.send({ type: 'phone_status', registered: 'yes' });
    s.send(['call']);
    expect(seen).toEqual(['call c1 ringing', 'trunk t1-trk1 registered', 'alert 7', 'phone true']);
    stop();
    expect(parseEvent(JSON.stringify(CALL))).toEqual(CALL);
    expect(parseEvent('{"type":"toString"}')).toBeNull();
    b.subscribe('security_alert', (e) => expectTypeOf(e.alert.id).toEqualTypeOf<number>())();
  });
});

describe('events socket close codes', () => {
  it('after 4429 says why, waits a minute before trying again, and clears once a socket stays open', () => {
    vi.useFakeTimers();
    const { notices, stop: unlisten } = listen();
    const stop = bus('ws://capped/events').subscribe(() => undefined);
    const first = FakeSocket.all[0]!;
    first.onopen?.();
    first.onclose?.({ code: CLOSE_TOO_MANY, reason: 'too many event connections for you (at most 8)' });
    expect(notices).toEqual([{ kind: 'too_many', reason: 'too many event connections for you (at most 8)' }]);
    vi.advanceTimersByTime(TOO_MANY_RETRY_MS - 1);
    expect(FakeSocket.all.length).toBe(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all.length).toBe(2);
    FakeSocket.all[1]!.onopen?.();
    vi.advanceTimersByTime(2000);
    expect(notices.at(-1)).toEqual({ kind: 'ok' });
    stop();
    unlisten();
  });

  it('stops after 4401 (session ended) and reconnects at once after 4409 (access changed)', () => {
    vi.useFakeTimers();
    const { notices, stop: unlisten } = listen();
    const stop = bus('ws://revoked/events').subscribe(() => undefined);
    FakeSocket.all[0]!.onopen?.();
    FakeSocket.all[0]!.onclose?.({ code: CLOSE_ACCESS_CHANGED, reason: 'access_changed' });
    vi.advanceTimersByTime(100);
    expect(FakeSocket.all.length).toBe(2);
    FakeSocket.all[1]!.onopen?.();
    FakeSocket.all[1]!.onclose?.({ code: CLOSE_SESSION_ENDED, reason: 'session_ended' });
    vi.advanceTimersByTime(120000);
    expect(FakeSocket.all.length).toBe(2);
    expect(notices).toEqual([{ kind: 'access_changed' }, { kind: 'session_ended' }]);
    stop();
    unlisten();
  });
});

describe('SocketNotice', () => {
  it('tells the user, in their language, that too many connections are open', async () => {
    const root = document.createElement('div');
    for (const [lang, words] of [
      ['en', 'too many connections are open'],
      ['ru', 'слишком много подключений'],
    ] as const) {
      setLang(lang);
      await act(() => render(<SocketNotice />, root));
      expect(root.querySelector('[data-testid="socket-notice"]')).toBeNull();
      await act(() => noticeSockets({ kind: 'too_many', reason: 'x' }));
      expect(root.querySelector('[role="alert"]')?.textContent).toContain(words);
      await act(() => noticeSockets({ kind: 'ok' }));
      expect(root.querySelector('[data-testid="socket-notice"]')).toBeNull();
      await act(() => render(null, root));
    }
    setLang('en');
  });
});
