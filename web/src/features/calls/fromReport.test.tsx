import { act } from 'preact/test-utils';
import { describe, expect, it } from 'vitest';
import { json, pageHarness } from '../../test/harness';
import { CallsPage } from './CallsPage';
import { fromReport, reportFilter, withoutReport } from './fromReport';

const h = pageHarness();

describe("a report's filter in the call list's URL", () => {
  it('reads every drill-down parameter and leaves out malformed ones', () => {
    expect(reportFilter('from=2026-11-30T21:00:00Z&to=2026-12-01T21:00:00Z&user_id=2&direction=outbound&answered=true&trunk=1&failed=true'))
      .toEqual({ from: '2026-11-30T21:00:00Z', to: '2026-12-01T21:00:00Z', user_id: 2, direction: 'outbound', answered: 'true', trunk: 1, failed: 'true' });
    expect(reportFilter('queue_id=3&queue_outcome=abandoned&in_service_level=false&rang_out=5&group_id=4&weekday=7&hour=0&result=missed'))
      .toEqual({ queue_id: 3, queue_outcome: 'abandoned', in_service_level: 'false', rang_out: 5, group_id: 4, weekday: 7, hour: 0, result: 'missed' });
    expect(reportFilter('from=yesterday&user_id=0&weekday=8&hour=24&answered=yes&queue_outcome=lost&direction=up&failed=false')).toEqual({});
  });

  it('tells a report filter from the list’s own and takes it off', () => {
    expect(fromReport({ from: '2026-11-01', direction: 'inbound' })).toBe(false);
    expect(fromReport({ from: '2026-11-30T21:00:00Z' })).toBe(true);
    expect(fromReport({ hour: 0 })).toBe(true);
    expect(withoutReport({ sort: 'duration', order: 'asc', page: 3, rang_out: 2, direction: 'inbound', from: '2026-11-30T21:00:00Z', number: '123' }))
      .toEqual({ sort: 'duration', order: 'asc', page: 1, number: '123' });
  });

  it('opens filtered from a report, says so, and the chip clears it', async () => {
    location.hash = '#/calls?from=2026-11-30T21%3A00%3A00Z&to=2026-12-01T21%3A00%3A00Z&queue_id=3&queue_outcome=abandoned&direction=inbound';
    h.serve((_m, u) => {
      if (u.startsWith('/api/calls?')) return json(200, { items: [], total: 0, page: 1, per_page: 50 });
      if (u === '/api/telephony/recording') return json(200, { record_calls: false, record_group_ids: [], retention_days: 30, retention_delete_calls: false, calls_visible_to_all: false, call_types: [], call_results: [] });
      return json(404, { code: 'not_found', message: 'no' });
    });
    h.show(<CallsPage isAdmin={false} />);
    const chip = await h.until(() => h.q('[data-testid=calls-from-report]'));
    expect(chip.textContent).toContain('Filtered from a report');
    expect(h.q('[data-testid=calls-from-report-range]')).not.toBeNull();
    const first = (await h.until(() => h.requests.find((r) => r.url.startsWith('/api/calls?')))).url;
    expect(first).toContain('from=2026-11-30T21%3A00%3A00Z');
    expect(first).toContain('to=2026-12-01T21%3A00%3A00Z');
    expect(first).toContain('&queue_id=3&');
    expect(first).toContain('queue_outcome=abandoned');
    expect(first).toContain('direction=inbound');
    expect(h.q<HTMLSelectElement>('[data-testid=calls-direction]')!.value).toBe('inbound');
    // The date field holds days only: the report's instants are on the chip.
    expect(h.q<HTMLInputElement>('[data-testid=calls-from]')!.value).toBe('');

    await act(() => h.q<HTMLButtonElement>('[data-testid=calls-from-report-clear]')!.click());
    await h.until(() => h.requests.filter((r) => r.url.startsWith('/api/calls?')).length > 1 || null);
    const last = h.requests.filter((r) => r.url.startsWith('/api/calls?')).at(-1)!.url;
    expect(last).toBe('/api/calls?sort=started_at&order=desc&page=1&per_page=50');
    expect(h.q('[data-testid=calls-from-report]')).toBeNull();
    expect(location.hash).toBe('#/calls');
  });
});
