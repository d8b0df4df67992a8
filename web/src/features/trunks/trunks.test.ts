import { describe, expect, it, vi } from 'vitest';
import { connectEvents, eventsUrl } from '../../shared/events/socket';
import { hostAndDomain, statusView } from './status';

describe('trunk status', () => {
  it('maps every state to a tone, an icon and words, with advice for red ones', () => {
    expect(statusView({ state: 'registered', reason: null, since: 1 })).toMatchObject({ tone: 'ok', icon: 'check', label: 'trunks.state.registered' });
    expect(statusView({ state: 'waiting', reason: null, since: null }).tone).toBe('idle');
    expect(statusView({ state: 'rejected', reason: 'x', since: 1 })).toMatchObject({ tone: 'bad', advice: 'trunks.advice.rejected' });
    expect(statusView({ state: 'unregistered', reason: 'x', since: 1 })).toMatchObject({ tone: 'bad', advice: 'trunks.advice.unregistered' });
  });

  it('defaults host and domain to each other in extended mode only', () => {
    expect(hostAndDomain('extended', '', 'sip.x.ru:9060')).toEqual({ domain: 'sip.x.ru:9060', host: 'sip.x.ru:9060' });
    expect(hostAndDomain('extended', 'sip.x.ru', '')).toEqual({ domain: 'sip.x.ru', host: 'sip.x.ru' });
    expect(hostAndDomain('simple', 'sip.x.ru', 'ignored')).toEqual({ domain: 'sip.x.ru', host: 'sip.x.ru' });
  });
});

class FakeSocket {
  static all: FakeSocket[] = [];
  onopen?: () => void;
  onmessage?: (e: { data: string }) => void;
  onclose?: () => void;
  closed = false;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  close() {
    this.closed = true;
  }
}

describe('events socket', () => {
  it('builds the URL from the page origin', () => {
    expect(eventsUrl({ protocol: 'https:', host: 'app.example.com' })).toBe('wss://app.example.com/events');
    expect(eventsUrl({ protocol: 'http:', host: '127.0.0.1:8080' })).toBe('ws://127.0.0.1:8080/events');
  });

  it('delivers JSON messages, reconnects with backoff and says when it is back', () => {
    vi.useFakeTimers();
    FakeSocket.all = [];
    const got: unknown[] = [];
    const reconnected = vi.fn();
    const stop = connectEvents({
      url: 'ws://x/events',
      WebSocketImpl: FakeSocket as unknown as typeof WebSocket,
      onMessage: (m) => got.push(m),
      onReconnect: reconnected,
    });
    const first = FakeSocket.all[0]!;
    first.onopen?.();
    first.onmessage?.({ data: '{"type":"trunk_status","state":"registered"}' });
    first.onmessage?.({ data: 'not json' });
    expect(got).toEqual([{ type: 'trunk_status', state: 'registered' }]);
    first.onclose?.();
    vi.advanceTimersByTime(999);
    expect(FakeSocket.all.length).toBe(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all.length).toBe(2);
    FakeSocket.all[1]!.onopen?.();
    expect(reconnected).toHaveBeenCalledTimes(1);
    stop();
    expect(FakeSocket.all[1]!.closed).toBe(true);
    FakeSocket.all[1]!.onclose?.();
    vi.advanceTimersByTime(60000);
    expect(FakeSocket.all.length).toBe(2);
    vi.useRealTimers();
  });
});
