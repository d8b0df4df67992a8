import { act } from 'preact/test-utils';
import { describe, expect, it } from 'vitest';
import { flush, json, pageHarness } from '../../test/harness';
import { AGENTS, HEATMAP, QUEUES, TIMELINE, TRUNKS } from './fixtures';
import { ReportsPage } from './ReportsPage';

const h = pageHarness({ hash: '#/reports' });

const BOARD = { now: '2026-12-01T10:00:00Z', groups: [{ id: 4, name: 'Sales' }], agents: [], calls: [], queues: [], trunks: [] };

/** Answers every report (the agent's own `agents` report when `only` is set). */
function serveReports(opts: { agents?: () => Response } = {}) {
  return h.serve((_m, u) => {
    const path = u.split('?')[0];
    if (path === '/api/reports/agents') return opts.agents ? opts.agents() : json(200, AGENTS);
    if (path === '/api/reports/queues') return json(200, QUEUES);
    if (path === '/api/reports/trunks') return json(200, TRUNKS);
    if (path === '/api/reports/timeline') return json(200, TIMELINE);
    if (path === '/api/reports/heatmap') return json(200, HEATMAP);
    if (path === '/api/telephony/board') return json(200, BOARD);
    return json(404, { code: 'not_found', message: 'no' });
  });
}

const text = (sel: string) => h.q(sel)?.textContent ?? '';
const href = (sel: string) => h.q(sel)?.getAttribute('href') ?? '';
const names = () => [...h.root.querySelectorAll('[data-testid=reports-agents-table] tbody tr')].map((r) => r.querySelector('td')!.textContent);
async function choose(sel: string, value: string) {
  const el = h.q<HTMLSelectElement | HTMLInputElement>(sel)!;
  await act(() => {
    el.value = value;
    el.dispatchEvent(new Event('change'));
  });
}
const FROM_TO = 'from=2026-11-30T21%3A00%3A00Z&to=2026-12-01T21%3A00%3A00Z';

describe('the Reports page', () => {
  it('shows a supervisor every section, with figures against the previous period, drill-down and export links', async () => {
    serveReports();
    h.show(<ReportsPage supervisor userId={1} />);
    await h.until(() => h.q('[data-testid=reports-trunks-table]'));
    expect(text('h1')).toBe('Reports');
    for (const s of ['headline', 'timeline', 'agents', 'queues', 'trunks', 'heatmap']) expect(h.q(`[data-testid=reports-${s}]`), s).not.toBeNull();
    expect(h.q('[data-testid=reports-chart]')).not.toBeNull();

    // Headline: 12 calls (+20 %), 9 answered (−10 %), SL 75 % (+25 points on 50 %).
    expect(text('[data-testid=reports-value-calls]')).toBe('12');
    expect(text('[data-testid=reports-delta-calls]')).toBe('+20 % vs previous period');
    expect(text('[data-testid=reports-value-answered]')).toBe('9');
    expect(text('[data-testid=reports-delta-answered]')).toBe('−10 % vs previous period');
    expect(text('[data-testid=reports-delta-missed]')).toBe('none in the previous period');
    expect(text('[data-testid=reports-value-talk]')).toBe('01:40');
    expect(text('[data-testid=reports-value-sl]')).toBe('75 %');
    expect(text('[data-testid=reports-delta-sl]')).toBe('+25 pts vs previous period');
    expect(href('[data-testid=drill-headline-missed]')).toBe(`#/calls?${FROM_TO}&result=missed`);
    expect(text('[data-testid=reports-range]')).toContain('Europe/Moscow');

    // Agents: a line per agent, a totals row, each figure a link to its calls.
    expect(text('[data-testid=drill-agent-missed-3]')).toBe('2');
    expect(href('[data-testid=drill-agent-missed-3]')).toBe(`#/calls?${FROM_TO}&rang_out=3`);
    expect(href('[data-testid=drill-agent-outbound_answered-2]')).toBe(`#/calls?${FROM_TO}&user_id=2&direction=outbound&answered=true`);
    expect(text('[data-testid=reports-agents-total]')).toContain('Total');
    expect(text('[data-testid=drill-agent-inbound-total]')).toBe('10');
    expect(h.q('[data-testid=drill-agent-missed-total]')).toBeNull();
    expect(text('[data-testid=reports-agents-table] tfoot')).toContain('1:30:00');

    // Queues (a deleted queue's line has no links), trunks, the heatmap.
    expect(href('[data-testid=drill-queue-abandoned-3]')).toBe(`#/calls?${FROM_TO}&queue_id=3&queue_outcome=abandoned`);
    expect(text('[data-testid=drill-queue-sl-3]')).toBe('75 %');
    expect(h.q('[data-testid=drill-queue-abandoned-deleted]')).toBeNull();
    expect(text('[data-testid=reports-queues-table]')).toContain('Deleted queues');
    expect(href('[data-testid=drill-trunk-failed-1]')).toBe(`#/calls?${FROM_TO}&trunk=1&failed=true`);
    expect(text('[data-testid=drill-trunk-minutes-1]')).toBe('15');
    expect(href('[data-testid=drill-heat-2-10]')).toBe(`#/calls?${FROM_TO}&weekday=2&hour=10`);
    expect(h.q('[data-testid=reports-heat-2-10]')!.style.backgroundColor).not.toBe('');
    expect(h.q('[data-testid=reports-heat-1-10]')!.style.backgroundColor).toBe('');

    expect(href('[data-testid=reports-export-queues-xlsx]')).toBe('/api/reports/export?report=queues&format=xlsx&period=today');
    expect(h.q('[data-testid=reports-export-agents-csv]')!.hasAttribute('download')).toBe(true);
    // The access groups come from the board, the other choices from the reports.
    expect([...h.q<HTMLSelectElement>('[data-testid=reports-filter-group]')!.options].map((o) => o.text)).toEqual(['All groups', 'Sales']);
    expect([...h.q<HTMLSelectElement>('[data-testid=reports-filter-user]')!.options].map((o) => o.text)).toEqual(['All agents', 'Boris', 'Ivan']);
    expect([...h.q<HTMLSelectElement>('[data-testid=reports-filter-queue]')!.options].map((o) => o.text)).toEqual(['All queues', 'Sales']);
  });

  it('sorts a table by the column clicked, then the other way', async () => {
    serveReports();
    h.show(<ReportsPage supervisor userId={1} />);
    await h.until(() => h.q('[data-testid=reports-agents-table]'));
    expect(names()).toEqual(['Boris', 'Ivan']);
    await act(() => h.q<HTMLButtonElement>('[data-testid=reports-agents-sort-outbound_answered]')!.click());
    expect(names()).toEqual(['Ivan', 'Boris']);
    expect(h.q('[data-testid=reports-agents-sort-outbound_answered]')!.closest('th')!.getAttribute('aria-sort')).toBe('descending');
    await act(() => h.q<HTMLButtonElement>('[data-testid=reports-agents-sort-outbound_answered]')!.click());
    expect(names()).toEqual(['Boris', 'Ivan']);
  });

  it('asks again for another period and filter, and keeps them in the URL', async () => {
    serveReports();
    h.show(<ReportsPage supervisor userId={1} />);
    await h.until(() => h.q('[data-testid=reports-agents-table]'));
    await choose('[data-testid=reports-filter-queue]', '3');
    await h.until(() => h.sent().find((r) => r.includes('/api/reports/trunks?period=today&queue_id=3')));
    await h.until(() => href('[data-testid=drill-agent-inbound-2]').includes('queue_id=3') || null);
    expect(href('[data-testid=drill-agent-inbound-2]')).toBe(`#/calls?${FROM_TO}&queue_id=3&user_id=2&direction=inbound`);

    // Custom dates start from the period shown; the report follows each date.
    await choose('[data-testid=reports-period]', 'custom');
    expect(h.q<HTMLInputElement>('[data-testid=reports-from]')!.value).toBe('2026-12-01');
    await choose('[data-testid=reports-from]', '2026-11-01');
    await h.until(() => h.sent().find((r) => r.includes('/api/reports/agents?period=custom&from=2026-11-01&to=2026-12-01&queue_id=3')));
    expect(location.hash).toBe('#/reports?period=custom&from=2026-11-01&to=2026-12-01&queue_id=3');
    // The export links follow once the report has answered.
    await h.until(() => href('[data-testid=reports-export-heatmap-csv]').includes('custom') || null);
    expect(href('[data-testid=reports-export-heatmap-csv]')).toBe('/api/reports/export?report=heatmap&format=csv&period=custom&from=2026-11-01&to=2026-12-01&queue_id=3');

    // A first date after the last: said, and not asked.
    const before = h.requests.length;
    await choose('[data-testid=reports-to]', '2026-10-01');
    expect(text('[data-testid=reports-custom-hint]')).toContain('swap');
    await flush();
    expect(h.requests.length).toBe(before);
  });

  it("gives anyone else My statistics: their own figures, no queue or trunk sections or filters, links to their calls", async () => {
    serveReports();
    h.show(<ReportsPage supervisor={false} userId={2} />);
    await h.until(() => h.q('[data-testid=reports-agents-table]'));
    expect(text('h1')).toBe('My statistics');
    expect(h.q('[data-testid=reports-queues]')).toBeNull();
    expect(h.q('[data-testid=reports-trunks]')).toBeNull();
    expect(h.q('[data-testid=reports-heatmap]')).not.toBeNull();
    for (const f of ['group', 'user', 'trunk', 'queue']) expect(h.q(`[data-testid=reports-filter-${f}]`), f).toBeNull();
    expect(h.q('[data-testid=reports-filter-direction]')).not.toBeNull();
    expect(h.sent().some((r) => /queues|trunks|board/.test(r))).toBe(false);
    expect(href('[data-testid=drill-headline-calls]')).toBe(`#/calls?${FROM_TO}&user_id=2`);
    expect(href('[data-testid=drill-heat-2-9]')).toBe(`#/calls?${FROM_TO}&user_id=2&weekday=2&hour=9`);
  });

  it("shows the server's message when it refuses the period", async () => {
    serveReports({ agents: () => json(422, { code: 'invalid_period', message: 'period: from is more than 400 days before to' }) });
    location.hash = '#/reports?period=custom&from=2024-01-01&to=2026-01-01';
    h.show(<ReportsPage supervisor userId={1} />);
    const err = await h.until(() => h.q('[data-testid=reports-error]'));
    expect(err.textContent).toContain('period: from is more than 400 days before to');
    expect(h.sent().find((r) => r.startsWith('GET /api/reports/agents'))).toBe('GET /api/reports/agents?period=custom&from=2024-01-01&to=2026-01-01');
    expect(h.q('[data-testid=reports-headline]')).toBeNull();
  });
});
