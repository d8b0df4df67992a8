import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SocketNotice } from './SocketNotice';
import { setLang } from '../i18n';
import { CLOSE_ACCESS_CHANGED, CLOSE_SESSION_ENDED, CLOSE_TOO_MANY, TOO_MANY_RETRY_MS, connectEvents, noticeSockets, onSocketNotice, type SocketNotice as Notice } from './socket';

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
}

const Impl = FakeSocket as unknown as typeof WebSocket;

function listen(): { notices: Notice[]; stop: () => void } {
  const notices: Notice[] = [];
  return { notices, stop: onSocketNotice((n) => notices.push(n)) };
}

afterEach(() => {
  vi.useRealTimers();
  FakeSocket.all = [];
});

describe('events socket close codes', () => {
  it('shares one socket between the parts of a page', () => {
    const a: unknown[] = [];
    const b: unknown[] = [];
    const stopA = connectEvents({ url: 'ws://shared/events', WebSocketImpl: Impl, onMessage: (m) => a.push(m) });
    const stopB = connectEvents({ url: 'ws://shared/events', WebSocketImpl: Impl, onMessage: (m) => b.push(m) });
    expect(FakeSocket.all.length).toBe(1);
    FakeSocket.all[0]!.onmessage?.({ data: '{"type":"call"}' });
    expect([a.length, b.length]).toEqual([1, 1]);
    stopA();
    expect(FakeSocket.all[0]!.closed).toBe(false);
    stopB();
    expect(FakeSocket.all[0]!.closed).toBe(true);
  });

  it('after 4429 says why, waits a minute before trying again, and clears once a socket stays open', () => {
    vi.useFakeTimers();
    const { notices, stop: unlisten } = listen();
    const stop = connectEvents({ url: 'ws://capped/events', WebSocketImpl: Impl, onMessage: () => undefined });
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
    const stop = connectEvents({ url: 'ws://revoked/events', WebSocketImpl: Impl, onMessage: () => undefined });
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
