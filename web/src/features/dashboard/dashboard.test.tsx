import { afterEach, describe, expect, it, vi } from 'vitest';
import { act } from 'preact/test-utils';
import { Dashboard } from './Dashboard';
import { hms, isDashboard, throttle } from './dashboard';
import { FakeSocket, json, pageHarness } from '../../test/harness';
import type { Dashboard as DashboardData } from '../../shared/api/types';

const h = pageHarness();

const zeros = {
  calls: 0, inbound: 0, inbound_answered: 0, missed: 0, outbound: 0, outbound_answered: 0, internal: 0, failed: 0, voicemails: 0,
  talk_ms: 0, hold_ms: 0, wrapup_ms: 0, wrapups: 0, queued: 0, queue_answered: 0, answer_wait_ms: 0, in_service_level: 0,
  abandoned: 0, overflowed: 0, callbacks: 0, rang_out: 0,
};
const period = {
  from: '2026-11-24', to: '2026-11-24', previous_from: '2026-11-23', previous_to: '2026-11-23',
  starts_at: '2026-11-24T00:00:00+03:00', ends_at: '2026-11-25T00:00:00+03:00',
  previous_starts_at: '2026-11-23T00:00:00+03:00', previous_ends_at: '2026-11-24T00:00:00+03:00', time_zone: 'Europe/Moscow',
};

function agentDashboard(over: Partial<typeof zeros> = {}, toCallBack = 3): DashboardData {
  return {
    period,
    mine: { ...zeros, calls: 12, inbound: 7, inbound_answered: 5, outbound: 5, outbound_answered: 4, rang_out: 2, talk_ms: 3_725_000, ...over },
    to_call_back: toCallBack,
    team: null,
  } as DashboardData;
}

function supervisorDashboard(): DashboardData {
  return {
    ...agentDashboard(),
    team: {
      figures: { ...zeros, calls: 140, inbound_answered: 90, outbound_answered: 30, missed: 9 },
      waiting: 2,
      longest_wait_secs: 95,
      agents: { total: 11, on_call: 4, available: 3, wrapup: 1, break: 2, dnd: 1 },
      service_level: 0.834,
    },
  } as DashboardData;
}

const text = (id: string) => h.q(`[data-testid=${id}]`)?.textContent;
const reads = () => h.requests.filter((r) => r.url.endsWith('/api/reports/dashboard')).length;

describe('the home dashboard', () => {
  it('shows an agent today\'s own figures, a link to the calls to call back, and no account block', async () => {
    h.serve((_m, u) => (u.endsWith('/api/reports/dashboard') ? json(200, agentDashboard()) : json(404, {})));
    h.show(<Dashboard />);
    await h.until(() => h.q('[data-testid=dash]'));
    expect(text('dash-calls')).toBe('12');
    expect(text('dash-answered')).toBe('9');
    expect(text('dash-missed')).toBe('2');
    expect(text('dash-talk')).toBe('1:02:05');
    expect(text('dash-callback')).toBe('3');
    expect(h.q('[data-testid=dash-callback]')!.closest('a')!.getAttribute('href')).toBe('#/calls?called_back=false');
    expect(h.q('[data-testid=dash-team]')).toBeNull();
    expect(h.q('[data-testid=dash-link-board]')).toBeNull();
    expect(h.q('[data-testid=dash-stale]')).toBeNull();
  });

  it('shows zeros to a user without telephony, quietly', async () => {
    h.serve((_m, u) => (u.endsWith('/api/reports/dashboard') ? json(200, { period, mine: zeros, to_call_back: 0, team: null }) : json(404, {})));
    h.show(<Dashboard />);
    await h.until(() => h.q('[data-testid=dash]'));
    expect(text('dash-calls')).toBe('0');
    expect(text('dash-talk')).toBe('00:00');
    expect(text('dash-callback')).toBe('0');
    expect(h.q('.dash-figure--alert')).toBeNull();
  });

  it('shows a supervisor the account now and today, with links to the board, reports and wallboard', async () => {
    h.serve((_m, u) => (u.endsWith('/api/reports/dashboard') ? json(200, supervisorDashboard()) : json(404, {})));
    h.show(<Dashboard />);
    await h.until(() => h.q('[data-testid=dash-team]'));
    expect(text('dash-calls')).toBe('12');
    expect(text('dash-team-waiting')).toBe('2');
    expect(text('dash-team-longest')).toMatch(/^01:3[5-7]$/);
    expect(text('dash-team-sl')).toBe('83%');
    expect(text('dash-team-calls')).toBe('140');
    expect(text('dash-team-answered')).toBe('120');
    expect(text('dash-team-missed')).toBe('9');
    expect(text('dash-agents-on_call')).toBe('4');
    expect(text('dash-agents-available')).toBe('3');
    expect(text('dash-agents-wrapup')).toBe('1');
    expect(text('dash-agents-break')).toBe('2');
    expect(text('dash-agents-dnd')).toBe('1');
    expect(text('dash-agents-total')).toBe('11');
    expect(h.q('[data-testid=dash-link-board]')!.getAttribute('href')).toBe('#/board');
    expect(h.q('[data-testid=dash-link-reports]')!.getAttribute('href')).toBe('#/reports');
    const wall = h.q('[data-testid=dash-link-wallboard]')!;
    expect(wall.getAttribute('href')).toBe('#/wallboard');
    expect(wall.getAttribute('target')).toBe('_blank');
  });

  it('reads the figures again on news, once for a burst, at most once per 2 s', async () => {
    let n = 0;
    h.serve((_m, u) => {
      if (!u.endsWith('/api/reports/dashboard')) return json(404, {});
      n += 1;
      return json(200, n === 1 ? agentDashboard() : agentDashboard({ calls: 13, inbound_answered: 6 }, 2));
    });
    h.show(<Dashboard />);
    await h.until(() => h.q('[data-testid=dash]'));
    expect(reads()).toBe(1);
    const started = Date.now();
    await act(() => {
      FakeSocket.last!.push({ type: 'board_call', call_id: 'c1', state: 'ringing', direction: 'inbound', number: '1', ringing: [2],
        on_hold: false, recording: false, at: new Date().toISOString() });
      FakeSocket.last!.push({ type: 'agent_state', user_id: 2, state: 'wrapup', reason: null, since: new Date().toISOString() });
      FakeSocket.last!.push({ type: 'call', call_id: 'c1', state: 'ended', user_ids: [2] });
    });
    // The first read was just now: the news waits for the 2 s to pass, then is read once.
    expect(reads()).toBe(1);
    await h.until(() => (text('dash-calls') === '13' ? true : null));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(reads()).toBe(2);
    expect(text('dash-answered')).toBe('10');
    expect(text('dash-callback')).toBe('2');
    await new Promise((r) => setTimeout(r, 300));
    expect(reads()).toBe(2);
  });

  it('keeps the last figures when a read fails, and says they are not up to date', async () => {
    let n = 0;
    h.serve((_m, u) => {
      if (!u.endsWith('/api/reports/dashboard')) return json(404, {});
      n += 1;
      return n === 1 ? json(200, agentDashboard()) : json(503, { code: 'unavailable', message: 'try later' });
    });
    h.show(<Dashboard />);
    await h.until(() => h.q('[data-testid=dash]'));
    await act(() => FakeSocket.last!.push({ type: 'agent_state', user_id: 2, state: 'break', reason: 'Lunch', since: new Date().toISOString() }));
    await h.until(() => h.q('[data-testid=dash-stale]'));
    expect(reads()).toBe(2);
    expect(text('dash-stale')).toContain('Not updated since');
    expect(text('dash-calls')).toBe('12');
  });

  it('says so when the first read fails', async () => {
    h.serve(() => json(500, { code: 'internal', message: 'boom' }));
    h.show(<Dashboard />);
    await h.until(() => h.q('[role=alert]'));
    expect(h.root.textContent).toContain("Today's figures could not be read");
    expect(h.q('[data-testid=dash]')).toBeNull();
  });
});

describe('the dashboard\'s helpers', () => {
  afterEach(() => vi.useRealTimers());

  it('throttles: the first poke runs at once, a burst inside the window runs once at its end', () => {
    vi.useFakeTimers();
    const run = vi.fn();
    const th = throttle(run, 2000);
    th.poke();
    expect(run).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(500);
    th.poke();
    th.poke();
    th.poke();
    expect(run).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1499);
    expect(run).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(run).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(10_000);
    expect(run).toHaveBeenCalledTimes(2);
    // Long after the last run: at once again.
    th.poke();
    expect(run).toHaveBeenCalledTimes(3);
    // A pending run is dropped on cancel.
    th.poke();
    th.cancel();
    vi.advanceTimersByTime(5000);
    expect(run).toHaveBeenCalledTimes(3);
  });

  it('formats talk time and checks an answer\'s shape', () => {
    expect(hms(0)).toBe('00:00');
    expect(hms(65_400)).toBe('01:05');
    expect(hms(3_725_000)).toBe('1:02:05');
    expect(isDashboard(agentDashboard())).toBe(true);
    expect(isDashboard(supervisorDashboard())).toBe(true);
    expect(isDashboard({ user: { id: 1 } })).toBe(false);
    expect(isDashboard(null)).toBe(false);
  });
});
