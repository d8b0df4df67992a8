import { describe, expect, it, vi } from 'vitest';
import { act } from 'preact/test-utils';
import { WallboardPage } from './WallboardPage';
import { abandonedTone, agentCounts, levelTone, offeredLevel, queueTotals, totalWaitTone, waitTone } from './wallboard';
import { App } from '../../app/App';
import { FakeSocket, json, pageHarness } from '../../test/harness';
import { ME } from '../../test/fixtures';
import type { Board, BoardAgent, QueueFigures } from '../../shared/api/types';

const h = pageHarness();
const now = new Date().toISOString();
const later = new Date(Date.now() + 60_000).toISOString();

const agent = (user_id: number, name: string, state: string, online = true, extra: Partial<BoardAgent> = {}): BoardAgent => ({
  user_id, name, extension: String(100 + user_id), group_ids: [], state, reason: null, since: now, wrapup_until: null,
  accept_incoming: true, online: { browser: online, desk: false }, ...extra,
});

const queue = (over: Partial<QueueFigures>): QueueFigures => ({
  queue_id: 5, name: 'Support', waiting: 0, longest_wait_secs: 0, offered: 0, answered: 0, answered_in_time: 0, abandoned: 0,
  overflowed: 0, service_level_secs: 20, callbacks_waiting: 0, ...over,
});

function board(): Board {
  return {
    now,
    groups: [],
    trunks: [{ slot: 1, label: 'Main line', in_use: 1 }],
    calls: [
      // Anna talks; Fred's phone rings for a caller (he is still available); a caller waits in Support.
      { call_id: 'c1', direction: 'inbound', number: '******4567', trunk: 1, user_id: 7, ringing: [], phase: 'talking',
        on_hold: false, recording: false, recording_paused: false, started_at: now, answered_at: now, client: null },
      { call_id: 'c2', direction: 'inbound', number: '******1111', trunk: 1, user_id: null, ringing: [12], phase: 'ringing',
        on_hold: false, recording: false, recording_paused: false, started_at: now, answered_at: null, client: null },
    ],
    queues: [
      queue({ waiting: 2, longest_wait_secs: 75, offered: 10, answered: 8, answered_in_time: 6, abandoned: 1 }),
      queue({ queue_id: 6, name: 'Night', service_level_secs: 30 }),
    ],
    agents: [
      agent(7, 'Anna', 'available'),
      agent(8, 'Boris', 'break', true, { reason: 'Lunch' }),
      agent(9, 'Carl', 'available', false),
      agent(10, 'Dana', 'dnd'),
      agent(11, 'Eve', 'wrapup', true, { wrapup_until: later }),
      agent(12, 'Fred', 'available'),
    ],
  };
}

const text = (id: string) => h.q(`[data-testid=${id}]`)?.textContent;
const tone = (id: string) => h.q(`[data-testid=${id}]`)?.closest<HTMLElement>('[data-tone]')?.dataset.tone;
const counts = () => ['available', 'on_call', 'wrapup', 'break', 'dnd', 'offline'].map((k) => text(`wallboard-agents-${k}`)).join(' ');

describe('the wallboard', () => {
  it('shows the queues, agents by state and today\'s calls from the board\'s snapshot, and follows agent states and calls', async () => {
    h.serve((_m, u) => (u.endsWith('/api/telephony/board') ? json(200, board()) : json(404, {})));
    h.show(<WallboardPage />);
    await h.until(() => h.q('[data-testid=wallboard-waiting]'));
    expect(text('wallboard-waiting')).toBe('2');
    expect(text('wallboard-longest')).toMatch(/^01:1[5-7]$/);
    // Support's caller has waited past its 20 s: red.
    expect(tone('wallboard-waiting')).toBe('alert');
    expect(text('wallboard-sl')).toBe('60%');
    expect(tone('wallboard-sl')).toBe('warn');
    expect(text('wallboard-answered')).toBe('8');
    expect(text('wallboard-abandoned')).toBe('1');
    expect(tone('wallboard-abandoned')).toBe('warn');
    // available on_call wrapup break dnd offline
    expect(counts()).toBe('1 1 1 1 1 1');
    expect(text('wallboard-agents-total')).toBe('6');
    const row = (id: number) => h.q<HTMLTableRowElement>(`[data-testid=wallboard-queue][data-queue="${id}"]`)!;
    expect(row(5).querySelector('[data-testid=wallboard-queue-waiting]')!.textContent).toBe('2');
    expect(row(5).dataset.tone).toBe('alert');
    expect(row(5).querySelector('[data-testid=wallboard-queue-sl]')!.textContent).toBe('60%');
    expect(row(6).querySelector('[data-testid=wallboard-queue-longest]')!.textContent).toBe('—');
    expect(row(6).querySelector('[data-testid=wallboard-queue-sl]')!.textContent).toBe('—');
    expect(row(6).dataset.tone).toBe('ok');

    // Fred goes on a break; Eve is ready; Anna's call ends; Carl's desk phone registers.
    await act(() => FakeSocket.last!.push({ type: 'agent_state', user_id: 12, state: 'break', reason: 'Lunch', since: now }));
    expect(counts()).toBe('0 1 1 2 1 1');
    await act(() => FakeSocket.last!.push({ type: 'agent_state', user_id: 11, state: 'available', reason: null, since: now }));
    expect(counts()).toBe('1 1 0 2 1 1');
    await act(() => FakeSocket.last!.push({ type: 'board_call', call_id: 'c1', state: 'ended', direction: 'inbound', number: '******4567',
      trunk: 1, user_id: 7, ringing: [], on_hold: false, recording: false, at: now }));
    expect(counts()).toBe('2 0 0 2 1 1');
    await act(() => FakeSocket.last!.push({ type: 'agent_presence', user_id: 9, browser: false, desk: true }));
    expect(counts()).toBe('3 0 0 2 1 0');
    // An outbound call of Dana's (in DND) counts her on a call.
    await act(() => FakeSocket.last!.push({ type: 'board_call', call_id: 'c3', state: 'dialing', direction: 'outbound', number: '******2222',
      trunk: 1, user_id: 10, ringing: [], on_hold: false, recording: false, at: now }));
    expect(counts()).toBe('3 1 0 2 0 0');
    expect(h.requests.filter((r) => r.url.endsWith('/api/telephony/board'))).toHaveLength(1);
  });

  it('reads the queues\' figures again after a queue\'s news, and keeps them with a note when a read fails', async () => {
    let snapshots = 0;
    h.serve((_m, u) => {
      if (!u.endsWith('/api/telephony/board')) return json(404, {});
      snapshots += 1;
      if (snapshots === 3) return json(503, { code: 'unavailable', message: 'try later' });
      const b = board();
      if (snapshots === 2) b.queues[0] = queue({ waiting: 3, longest_wait_secs: 5, offered: 11, answered: 8, answered_in_time: 6, abandoned: 1 });
      return json(200, b);
    });
    h.show(<WallboardPage />);
    await h.until(() => h.q('[data-testid=wallboard-waiting]'));
    const news = { type: 'board_call', call_id: 'c9', state: 'ringing', direction: 'inbound', number: '******3333', trunk: 1,
      user_id: null, ringing: [], queue_id: 5, on_hold: false, recording: false, at: now };
    await act(() => FakeSocket.last!.push(news));
    await h.until(() => (text('wallboard-waiting') === '3' ? true : null));
    expect(snapshots).toBe(2);
    expect(text('wallboard-sl')).toBe('55%');
    // The oldest caller was answered: the longest wait is now 5 s, within Support's 20 s — amber, not red.
    expect(tone('wallboard-waiting')).toBe('warn');
    await act(() => FakeSocket.last!.push({ ...news, call_id: 'c10' }));
    await h.until(() => h.q('[data-testid=wallboard-stale]'));
    expect(snapshots).toBe(3);
    expect(text('wallboard-waiting')).toBe('3');
  });

  it('goes full screen on request and links back', async () => {
    h.serve((_m, u) => (u.endsWith('/api/telephony/board') ? json(200, board()) : json(404, {})));
    const request = vi.fn(() => Promise.resolve());
    (HTMLElement.prototype as unknown as { requestFullscreen: unknown }).requestFullscreen = request;
    try {
      h.show(<WallboardPage />);
      await h.until(() => h.q('[data-testid=wallboard-waiting]'));
      await act(() => h.q<HTMLButtonElement>('[data-testid=wallboard-fullscreen]')!.click());
      expect(request).toHaveBeenCalledTimes(1);
      expect(h.q('[data-testid=wallboard-back]')!.getAttribute('href')).toBe('#/');
    } finally {
      delete (HTMLElement.prototype as unknown as { requestFullscreen?: unknown }).requestFullscreen;
    }
  });

  it('is shown without the app\'s frame', async () => {
    location.hash = '#/wallboard';
    try {
      h.serve((_m, u) => {
        if (u.endsWith('/api/auth/me')) return json(200, ME);
        if (u.endsWith('/api/telephony/board')) return json(200, board());
        return json(404, {});
      });
      h.show(<App />);
      await h.until(() => h.q('[data-testid=wallboard-waiting]'));
      expect(h.q('nav')).toBeNull();
      expect(h.q('.topbar')).toBeNull();
      expect(document.title).toBe('Wallboard · callbase');
    } finally {
      location.hash = '';
    }
  });
});

describe('the wallboard\'s colours and sums', () => {
  it('colours waiting callers: calm with none, amber with some, red past the queue\'s service-level time', () => {
    expect(waitTone(0, 0, 20)).toBe('ok');
    expect(waitTone(1, 5_000, 20)).toBe('warn');
    expect(waitTone(1, 20_000, 20)).toBe('warn');
    expect(waitTone(1, 20_001, 20)).toBe('alert');
    const qs = [queue({ waiting: 1, longest_wait_secs: 10 }), queue({ queue_id: 6, waiting: 0, service_level_secs: 5 })];
    expect(totalWaitTone(qs, 0)).toBe('warn');
    // The wait counts on between snapshots: 10 s + 11 s passes Support's 20 s.
    expect(totalWaitTone(qs, 11_000)).toBe('alert');
    expect(totalWaitTone([], 0)).toBe('ok');
  });

  it('colours the service level and abandoned calls', () => {
    expect(levelTone(null)).toBe('ok');
    expect(levelTone(80)).toBe('ok');
    expect(levelTone(79)).toBe('warn');
    expect(levelTone(60)).toBe('warn');
    expect(levelTone(59)).toBe('alert');
    expect(abandonedTone(0)).toBe('ok');
    expect(abandonedTone(1)).toBe('warn');
  });

  it('sums the queues and counts agents', () => {
    expect(offeredLevel(0, 0)).toBeNull();
    expect(offeredLevel(2, 3)).toBe(67);
    const totals = queueTotals([queue({ waiting: 2, longest_wait_secs: 30, offered: 4, answered: 3, answered_in_time: 3, abandoned: 1 }),
      queue({ queue_id: 6, waiting: 1, longest_wait_secs: 50, offered: 6, answered: 4, answered_in_time: 2, abandoned: 2 })], 1000);
    expect(totals).toEqual({ waiting: 3, longestMs: 51_000, offered: 10, answered: 7, answeredInTime: 5, abandoned: 3, serviceLevel: 50 });
    const b = board();
    // Eve's wrap-up has run out: available.
    b.agents[4] = { ...b.agents[4]!, wrapup_until: new Date(Date.now() - 1000).toISOString() };
    expect(agentCounts(b, Date.now())).toEqual({ available: 2, on_call: 1, wrapup: 0, break: 1, dnd: 1, offline: 1, total: 6 });
  });
});
