import { describe, expect, it } from 'vitest';
import { nextLiveCall } from './live';

const ev = (state: string, user_id: number | null, direction = 'inbound') =>
  ({ type: 'call', call_id: 'c1', state, direction, number: '+79161234567', user_id, at: '2026-12-05T10:00:00Z', user_ids: [5] }) as any;

describe("the call card's call", () => {
  it('closes for a consulted colleague once the agent goes back to the caller, and stays when the transfer completes', () => {
    // Sofia (5) is consulted about Anna's (7) inbound call.
    let c = nextLiveCall(null, ev('consulting', 7), 5, 1000);
    expect(c).toMatchObject({ id: 'c1', state: 'consulting' });
    expect(nextLiveCall(c, ev('consult_ended', 7), 5, 2000)).toBeNull();
    // Anna keeps hers.
    expect(nextLiveCall(c, ev('consult_ended', 7), 7, 2000)).toMatchObject({ state: 'consult_ended' });
    // Completed: the call is Sofia's now.
    c = nextLiveCall(c, ev('answered', 5), 5, 3000);
    expect(c).toMatchObject({ state: 'answered', answeredAt: 3000 });
  });
});
