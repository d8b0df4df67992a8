/**
 * Reports and "My statistics" (issue #20). Administrators and supervisors see everyone, with
 * filters by access group, agent, trunk and queue, and the Queues and Trunks sections; anyone
 * else sees their own figures (the server restricts them) without those. A period picker,
 * headline figures against the previous period, sortable tables, calls per hour/day (uPlot) and a
 * weekday × hour heatmap; every figure opens the calls behind it in the call list; each section
 * downloads as CSV or XLSX; the page prints without its controls.
 *
 * The period and filters live in the URL (`#/reports?period=last_week&queue_id=3`), so a reload
 * or the way back from the call list finds the same report.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiClient } from '../../shared/api/client';
import type { AgentsReport, Heatmap, QueuesReport, ReportPeriod, ReportQuery, Timeline, TrunksReport } from '../../shared/api/types';
import { explain, say, type Msg } from '../../shared/api/errors';
import { t } from '../../shared/i18n';
import { formatDay, setTimeZone } from '../../shared/i18n/format';
import { Alert } from '../../shared/ui/Alert';
import { chartSeries } from './chart';
import { drillHref, type DrillBase } from './drill';
import { Filters, type Choice, type Choices } from './Filters';
import { Headline } from './Headline';
import { HeatmapTable } from './Heatmap';
import { buildQuery, stateFromSearch, type ReportState } from './model';
import { Section, type Linker } from './parts';
import { AgentsTable, QueuesTable, TrunksTable } from './tables';
import { TimelineChart } from './TimelineChart';

interface Data {
  /** The query these answers are for (drill-down links carry its filters). */
  query: ReportQuery;
  agents?: AgentsReport;
  queues?: QueuesReport;
  trunks?: TrunksReport;
  timeline?: Timeline;
  heatmap?: Heatmap;
}

const fmtDay = (d: string) => formatDay(d);

/** Adds the lines of a fresh answer to the choices seen so far (a filtered answer has fewer). */
function merge(old: Choice[], fresh: Choice[]): Choice[] {
  const byId = new Map(old.map((c) => [c.id, c]));
  for (const c of fresh) byId.set(c.id, c);
  return [...byId.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function ReportsPage({ supervisor, userId }: { supervisor: boolean; userId: number }) {
  const [state, setState] = useState<ReportState>(() => stateFromSearch(location.hash.split('?')[1] ?? ''));
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState<Msg | null>(null);
  const [loading, setLoading] = useState(false);
  const [choices, setChoices] = useState<Choices>({ groups: [], agents: [], trunks: [], queues: [] });

  const query = useMemo(() => buildQuery(state, supervisor), [state, supervisor]);
  const queryKey = query ? ApiClient.reportQuery(query) : null;

  useEffect(() => {
    if (queryKey === null) return;
    if (location.hash.startsWith('#/reports')) history.replaceState(null, '', `#/reports${queryKey}`);
  }, [queryKey]);

  useEffect(() => {
    if (!supervisor) return;
    api.board().then(
      (b) => setChoices((c) => ({ ...c, groups: b.groups.map((g) => ({ id: g.id, name: g.name })) })),
      () => undefined,
    );
  }, [supervisor]);

  useEffect(() => {
    if (!query) return;
    let stale = false;
    setLoading(true);
    const q = query;
    void Promise.allSettled([
      api.reportAgents(q),
      api.reportTimeline(q),
      api.reportHeatmap(q),
      supervisor ? api.reportQueues(q) : Promise.resolve(undefined),
      supervisor ? api.reportTrunks(q) : Promise.resolve(undefined),
    ]).then(([agents, timeline, heatmap, queues, trunks]) => {
      if (stale) return;
      const ok = <T,>(r: PromiseSettledResult<T>) => (r.status === 'fulfilled' ? r.value : undefined);
      const failed = [agents, timeline, heatmap, queues, trunks].find((r) => r.status === 'rejected');
      const next: Data = { query: q, agents: ok(agents), timeline: ok(timeline), heatmap: ok(heatmap), queues: ok(queues), trunks: ok(trunks) };
      setData(next);
      setTimeZone((next.agents ?? next.timeline ?? next.heatmap)?.period.time_zone);
      setError(failed ? explain((failed as PromiseRejectedResult).reason) : null);
      setLoading(false);
      setChoices((c) => ({
        ...c,
        agents: merge(c.agents, next.agents?.agents.map((a) => ({ id: a.user_id, name: a.name })) ?? []),
        queues: merge(c.queues, (next.queues?.queues ?? []).flatMap((x) => (x.queue_id != null ? [{ id: x.queue_id, name: x.name ?? `#${x.queue_id}` }] : []))),
        trunks: merge(c.trunks, next.trunks?.trunks.map((x) => ({ id: x.slot, name: x.label ?? t('reports.trunkSlot', { slot: x.slot }) })) ?? []),
      }));
    });
    return () => {
      stale = true;
    };
  }, [queryKey]);

  function change(s: ReportState) {
    // Switching to a custom period starts from the dates shown.
    const period = data?.agents?.period;
    if (s.period === 'custom' && state.period !== 'custom' && !s.from && !s.to && period) s = { ...s, from: period.from, to: period.to };
    setState(s);
  }

  const period: ReportPeriod | undefined = data?.agents?.period ?? data?.timeline?.period ?? data?.heatmap?.period;
  const linker = (): Linker => {
    if (!period || !data) return () => null;
    const q = data.query;
    const base: DrillBase = supervisor
      ? { group_id: q.group_id, user_id: q.user_id, trunk: q.trunk, queue_id: q.queue_id, direction: q.direction }
      : { user_id: userId, direction: q.direction };
    return (own) => (own ? drillHref(period, base, own) : null);
  };
  const link = linker();
  const series = useMemo(() => (data?.timeline ? chartSeries(data.timeline) : null), [data?.timeline]);
  const title = supervisor ? t('reports.title') : t('reports.myTitle');

  return (
    <section class="page reports" data-testid="reports" aria-labelledby="reports-title">
      <div class="page__head">
        <h1 id="reports-title">{title}</h1>
        <div class="page__spacer" />
        <button type="button" class="btn reports-print" data-testid="reports-print" onClick={() => window.print()}>
          {t('reports.print')}
        </button>
      </div>
      <p class="muted reports-intro">{t(supervisor ? 'reports.intro' : 'reports.myIntro')}</p>
      <Filters state={state} supervisor={supervisor} choices={choices} onChange={change} />
      {period && (
        <p class="reports-range" data-testid="reports-range">
          {t('reports.range', { from: fmtDay(period.from), to: fmtDay(period.to), zone: period.time_zone })}
          <span class="muted"> · {t('reports.previousRange', { from: fmtDay(period.previous_from), to: fmtDay(period.previous_to) })}</span>
        </p>
      )}
      {error && (
        <div data-testid="reports-error">
          <Alert kind="error">{say(error)}</Alert>
        </div>
      )}
      {loading && <p class="muted reports-loading" aria-busy="true">{t('app.loading')}</p>}
      {data && (
        <>
          {data.agents && <Headline totals={data.agents.totals} previous={data.agents.previous} link={link} />}
          {data.timeline && series && (
            <Section name="timeline" title={t(data.timeline.unit === 'hour' ? 'reports.perHour' : 'reports.perDay')} query={data.query}>
              <TimelineChart series={series} />
            </Section>
          )}
          {data.agents && (
            <Section name="agents" title={supervisor ? t('reports.agents') : t('reports.mine')} query={data.query}>
              <AgentsTable report={data.agents} link={link} />
            </Section>
          )}
          {supervisor && data.queues && (
            <Section name="queues" title={t('reports.queues')} query={data.query}>
              <QueuesTable report={data.queues} link={link} />
            </Section>
          )}
          {supervisor && data.trunks && (
            <Section name="trunks" title={t('reports.trunks')} query={data.query}>
              <TrunksTable report={data.trunks} link={link} />
            </Section>
          )}
          {data.heatmap && (
            <Section name="heatmap" title={t('reports.heatmap')} query={data.query}>
              <HeatmapTable heatmap={data.heatmap} link={link} />
            </Section>
          )}
        </>
      )}
    </section>
  );
}
