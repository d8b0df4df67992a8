import { beforeEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../../shared/api/client';
import { setLang } from '../../shared/i18n';
import { alignedData, chartSeries } from './chart';
import { agentDrill, drillHref, headlineDrill, heatDrill, queueDrill, trunkDrill } from './drill';
import { fig, PERIOD, TIMELINE } from './fixtures';
import { deltaText } from './Headline';
import { heatGrid } from './Heatmap';
import { avgTalk, avgWait, buildQuery, customProblem, delta, fmtDur, heatColour, INITIAL, serviceLevel, signed, sortRows, stateFromSearch } from './model';

beforeEach(() => setLang('en'));

describe('the report query', () => {
  it('asks for a named period without dates, and for a custom one with both', () => {
    expect(buildQuery(INITIAL, true)).toEqual({ period: 'today' });
    expect(ApiClient.reportQuery({ period: 'last_week', from: '2026-01-01', to: '2026-01-02' })).toBe('?period=last_week');
    const custom = { ...INITIAL, period: 'custom' as const, from: '2026-11-01', to: '2026-11-30' };
    expect(buildQuery(custom, true)).toEqual({ period: 'custom', from: '2026-11-01', to: '2026-11-30' });
    expect(ApiClient.reportQuery(buildQuery(custom, true)!)).toBe('?period=custom&from=2026-11-01&to=2026-11-30');
  });

  it('waits for both custom dates in order', () => {
    expect(customProblem({ ...INITIAL, period: 'custom', from: '2026-11-01', to: '' })).toBe('dates');
    expect(buildQuery({ ...INITIAL, period: 'custom', from: '2026-11-01', to: '' }, true)).toBeNull();
    expect(customProblem({ ...INITIAL, period: 'custom', from: '2026-11-30', to: '2026-11-01' })).toBe('order');
    expect(customProblem({ ...INITIAL, period: 'custom', from: '2026-11-01', to: '2026-11-01' })).toBeNull();
  });

  it("keeps a supervisor's filters and drops a non-supervisor's (the server would refuse them)", () => {
    const s = { ...INITIAL, period: 'this_month' as const, group_id: 4, user_id: 2, trunk: 1, queue_id: 3, direction: 'inbound' as const };
    expect(ApiClient.reportQuery(buildQuery(s, true)!)).toBe('?period=this_month&group_id=4&user_id=2&trunk=1&queue_id=3&direction=inbound');
    expect(buildQuery(s, false)).toEqual({ period: 'this_month', direction: 'inbound' });
  });

  it('reads the state from the URL, ignoring what it does not know', () => {
    expect(stateFromSearch('period=custom&from=2026-11-01&to=2026-11-30&queue_id=3&direction=outbound')).toEqual({
      period: 'custom', from: '2026-11-01', to: '2026-11-30', queue_id: 3, direction: 'outbound',
    });
    expect(stateFromSearch('period=forever&from=yesterday&user_id=-1&trunk=x&direction=up')).toEqual({ period: 'today', from: '', to: '' });
  });

  it('links each export to the same query', () => {
    expect(ApiClient.reportExportUrl('agents', 'xlsx', { period: 'yesterday', user_id: 2 })).toBe('/api/reports/export?report=agents&format=xlsx&period=yesterday&user_id=2');
    expect(ApiClient.reportExportUrl('heatmap', 'csv', {})).toBe('/api/reports/export?report=heatmap&format=csv');
  });
});

describe('drill-down links', () => {
  const from = 'from=2026-11-30T21%3A00%3A00Z&to=2026-12-01T21%3A00%3A00Z';

  it("opens an agent's missed calls (rang out), without the page's user filter", () => {
    expect(drillHref(PERIOD, { user_id: 2, direction: 'inbound' }, agentDrill('missed', 2)!)).toBe(`#/calls?${from}&direction=inbound&rang_out=2`);
  });

  it("opens an agent's answered outbound calls, the figure's own filters winning over the page's", () => {
    expect(drillHref(PERIOD, { group_id: 4, direction: 'inbound' }, agentDrill('outbound_answered', 2)!)).toBe(
      `#/calls?${from}&group_id=4&direction=outbound&user_id=2&answered=true`,
    );
    expect(agentDrill('outbound_answered', 'total')).toEqual({ direction: 'outbound', answered: true });
    expect(agentDrill('missed', 'total')).toBeNull();
  });

  it("opens a queue's abandoned calls, its service level and a trunk's failures", () => {
    expect(drillHref(PERIOD, {}, queueDrill('abandoned', 3)!)).toBe(`#/calls?${from}&queue_id=3&queue_outcome=abandoned`);
    expect(queueDrill('callbacks', 3)).toEqual({ queue_id: 3, queue_outcome: 'callback' });
    expect(queueDrill('sl', 'total')).toEqual({ in_service_level: true });
    expect(queueDrill('offered', 'total')).toBeNull();
    expect(queueDrill('answered', null)).toBeNull();
    expect(drillHref(PERIOD, { queue_id: 3 }, trunkDrill('failed', 1)!)).toBe(`#/calls?${from}&queue_id=3&trunk=1&failed=true`);
    expect(trunkDrill('minutes', 'total')).toEqual({ answered: true });
  });

  it('opens a heatmap cell and a headline figure', () => {
    expect(drillHref(PERIOD, { trunk: 2 }, heatDrill(3, 14))).toBe(`#/calls?${from}&trunk=2&weekday=3&hour=14`);
    expect(drillHref(PERIOD, { direction: 'inbound' }, headlineDrill('missed'))).toBe(`#/calls?${from}&direction=inbound&result=missed`);
  });
});

describe('figures', () => {
  it('averages over the right divisors and says none without them', () => {
    expect(avgTalk(fig({ talk_ms: 900_000, inbound_answered: 8, outbound_answered: 1 }))).toBe(100_000);
    expect(avgTalk(fig())).toBeNull();
    expect(avgWait(fig({ answer_wait_ms: 60_000, queue_answered: 6 }))).toBe(10_000);
    expect(serviceLevel(fig({ in_service_level: 6, queued: 8 }))).toBe(0.75);
  });

  it('gives the change against the previous period in percent or points', () => {
    expect(delta(112, 100)).toBe(12);
    expect(delta(8, 10)).toBe(-20);
    expect(delta(5, 0)).toBeNull();
    expect(delta(0.75, 0.5, 'pts')).toBe(25);
    expect(signed(12)).toBe('+12');
    expect(signed(-20)).toBe('−20');
    expect(deltaText(12, 10, 'pct')).toBe('+20 % vs previous period');
    expect(deltaText(8, 10, 'pct')).toBe('−20 % vs previous period');
    expect(deltaText(0.75, 0.5, 'pts')).toBe('+25 pts vs previous period');
    expect(deltaText(10, 10, 'pct')).toBe('same as previous period');
    expect(deltaText(3, 0, 'pct')).toBe('none in the previous period');
    expect(deltaText(0, 0, 'pct')).toBe('');
  });

  it('formats durations', () => {
    expect(fmtDur(65_000)).toBe('01:05');
    expect(fmtDur(3_725_000)).toBe('1:02:05');
    expect(fmtDur(null)).toBe('—');
  });
});

describe('sorting', () => {
  const rows = [
    { name: 'Ivan', n: 4 as number | null },
    { name: 'boris', n: null },
    { name: 'Anna', n: 9 },
    { name: 'Zoe', n: 4 },
  ];
  it('sorts numbers either way with empty figures last and ties in their order', () => {
    expect(sortRows(rows, (r) => r.n, 'desc').map((r) => r.name)).toEqual(['Anna', 'Ivan', 'Zoe', 'boris']);
    expect(sortRows(rows, (r) => r.n, 'asc').map((r) => r.name)).toEqual(['Ivan', 'Zoe', 'Anna', 'boris']);
  });
  it('sorts text by the language, not by code points', () => {
    expect(sortRows(rows, (r) => r.name, 'asc').map((r) => r.name)).toEqual(['Anna', 'boris', 'Ivan', 'Zoe']);
    expect(rows[0]!.name).toBe('Ivan');
  });
});

describe('the heatmap', () => {
  it('shades nothing for no calls and deepens with the count', () => {
    expect(heatColour(0, 10)).toBeNull();
    expect(heatColour(3, 0)).toBeNull();
    expect(heatColour(10, 10)).toEqual({ background: 'hsl(214, 70%, 30%)', color: '#ffffff' });
    expect(heatColour(1, 10)).toEqual({ background: 'hsl(214, 70%, 88%)', color: '#1b2430' });
    const light = (v: number) => Number(/(\d+)%\)$/.exec(heatColour(v, 10)!.background)![1]);
    expect(light(2)).toBeGreaterThan(light(5));
    expect(light(5)).toBeGreaterThan(light(9));
  });
  it('adds up cells by weekday and hour', () => {
    const { grid, max } = heatGrid({ cells: [
      { weekday: 1, hour: 9, figures: fig({ calls: 3 }) },
      { weekday: 7, hour: 23, figures: fig({ calls: 5 }) },
    ] });
    expect(grid.get(1)?.get(9)).toBe(3);
    expect(grid.get(7)?.get(23)).toBe(5);
    expect(grid.get(2)).toBeUndefined();
    expect(max).toBe(5);
  });
});

describe('the timeline chart data', () => {
  it('labels hours of one day and lines the previous period up with the current one', () => {
    const s = chartSeries(TIMELINE);
    expect(s.labels).toEqual(['09:00', '10:00']);
    expect(s.calls).toEqual([4, 8]);
    expect(s.answered).toEqual([3, 6]);
    expect(s.missed).toEqual([1, 1]);
    expect(s.previous).toEqual([6, null]);
    expect(alignedData(s)[0]).toEqual([0, 1]);
  });
  it('labels hours of two days with the date, and days by date', () => {
    const twoDays = { ...TIMELINE, points: [TIMELINE.points[0]!, { ...TIMELINE.points[1]!, at: '2026-12-02T00:00' }] };
    expect(chartSeries(twoDays).labels).toEqual(['01.12 09:00', '02.12 00:00']);
    const days = { unit: 'day' as const, previous: [], points: [{ at: '2026-12-01T00:00', figures: fig() }, { at: '2026-12-02T00:00', figures: fig() }] };
    expect(chartSeries(days).labels).toEqual(['01.12', '02.12']);
  });
});
