import { describe, expect, it, vi } from 'vitest';
import { AFTER_RELAY_MS, AT_MOST_MS, gatheringPolicy } from './ice';

const host = { candidate: 'candidate:1 1 udp 2122260223 10.0.0.5 50000 typ host', type: 'host' };
const relay = { candidate: 'candidate:2 1 udp 25108479 203.0.113.7 17912 typ relay raddr 10.0.0.5 rport 50000', type: 'relay' };

describe('when the SDP leaves while ICE still gathers', () => {
  it('sends shortly after the first relay candidate, once', () => {
    vi.useFakeTimers();
    const ready = vi.fn();
    const on = gatheringPolicy();
    on({ candidate: host, ready });
    vi.advanceTimersByTime(AFTER_RELAY_MS * 2);
    expect(ready).not.toHaveBeenCalled();
    on({ candidate: relay, ready });
    on({ candidate: relay, ready });
    vi.advanceTimersByTime(AFTER_RELAY_MS);
    expect(ready).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(AT_MOST_MS);
    on({ candidate: host, ready });
    expect(ready).toHaveBeenCalledTimes(1);
    vi.useRealTimers();
  });

  it('never waits longer than a few seconds (a blocked UDP allocation keeps gathering for ~40 s)', () => {
    vi.useFakeTimers();
    const ready = vi.fn();
    const on = gatheringPolicy();
    on({ candidate: host, ready });
    vi.advanceTimersByTime(AT_MOST_MS - 1);
    expect(ready).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(ready).toHaveBeenCalledTimes(1);
    vi.useRealTimers();
  });

  it('knows a relay candidate by its SDP line when the browser gives no type', () => {
    vi.useFakeTimers();
    const ready = vi.fn();
    gatheringPolicy()({ candidate: { candidate: relay.candidate }, ready });
    vi.advanceTimersByTime(AFTER_RELAY_MS);
    expect(ready).toHaveBeenCalledTimes(1);
    vi.useRealTimers();
  });
});
