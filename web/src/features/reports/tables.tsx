/** The Agents, Queues and Trunks tables of the Reports page: sortable, with totals, every figure a drill-down link. */
import type { AgentLine, AgentsReport, Figures, QueueLine, QueuesReport, TrunkLine, TrunksReport } from '../../shared/api/types';
import { t, type MessageKey } from '../../shared/i18n';
import { agentDrill, queueDrill, trunkDrill, type AgentCol, type DrillParams, type QueueCol, type TrunkCol } from './drill';
import { avgHold, avgTalk, avgWait, avgWrapup, fmtDur, fmtNum, fmtShare, serviceLevel, answered } from './model';
import { Drill, SortTable, type Column, type Linker } from './parts';

interface NumSpec<T> {
  key: string;
  label: MessageKey;
  /** The figure of a line, and of the totals row. */
  value: (f: T) => number | null;
  fmt?: (v: number | null) => string;
  /** The call-list filter of a line's figure; `id` identifies the line in test ids. */
  drill?: (r: T) => DrillParams | null;
  totalDrill?: DrillParams | null;
}

const num = (v: number | null) => (v === null ? '—' : fmtNum(v));

/** A figure column: a drill-down link per line (where the figure has calls behind it) and in the totals row. */
function figureColumn<T>(prefix: string, id: (r: T) => string | number, link: Linker, total: T | null, s: NumSpec<T>): Column<T> {
  const fmt = s.fmt ?? num;
  const cell = (r: T, key: string | number, params: DrillParams | null | undefined) => {
    const v = s.value(r);
    const href = params !== undefined && v !== null ? link(params) : null;
    return <Drill href={href} testid={`${prefix}-${s.key}-${key}`}>{fmt(v)}</Drill>;
  };
  return {
    key: s.key,
    label: s.label,
    sort: s.value,
    cell: (r) => cell(r, id(r), s.drill?.(r)),
    total: total === null ? undefined : cell(total, 'total', s.totalDrill),
  };
}

// --- agents ---

type AgentRow = AgentLine | { user_id: 'total'; name: string; figures: Figures; states: AgentLine['states'] };

export function AgentsTable({ report, link }: { report: AgentsReport; link: Linker }) {
  const sum = (k: keyof AgentLine['states']) => report.agents.reduce((acc, a) => acc + a.states[k], 0);
  const total: AgentRow = {
    user_id: 'total', name: '', figures: report.totals,
    states: { available_ms: sum('available_ms'), break_ms: sum('break_ms'), dnd_ms: sum('dnd_ms'), wrapup_ms: sum('wrapup_ms') },
  };
  const col = (key: string, label: MessageKey, value: (f: Figures) => number | null, drillCol: AgentCol | null, fmt?: (v: number | null) => string) =>
    figureColumn<AgentRow>('agent', (r) => r.user_id, link, total, {
      key, label, fmt,
      value: (r) => value(r.figures),
      drill: drillCol ? (r) => agentDrill(drillCol, r.user_id) : undefined,
      totalDrill: drillCol ? agentDrill(drillCol, 'total') : undefined,
    });
  const state = (key: string, label: MessageKey, k: keyof AgentLine['states']) =>
    figureColumn<AgentRow>('agent', (r) => r.user_id, link, total, { key, label, value: (r) => r.states[k], fmt: fmtDur });
  const columns: Column<AgentRow>[] = [
    { key: 'name', label: 'reports.agent', text: true, sort: (r) => r.name, cell: (r) => <strong>{r.name}</strong> },
    col('inbound', 'reports.inbound', (f) => f.inbound, 'inbound'),
    col('inbound_answered', 'reports.inboundAnswered', (f) => f.inbound_answered, 'inbound_answered'),
    col('missed', 'reports.agentMissed', (f) => f.rang_out, 'missed'),
    col('outbound', 'reports.outbound', (f) => f.outbound, 'outbound'),
    col('outbound_answered', 'reports.outboundAnswered', (f) => f.outbound_answered, 'outbound_answered'),
    col('talk', 'reports.talkTotal', (f) => f.talk_ms, 'talk', fmtDur),
    col('avg_talk', 'reports.talkAvg', avgTalk, 'talk', fmtDur),
    col('hold', 'reports.holdTotal', (f) => f.hold_ms, 'hold', fmtDur),
    col('avg_hold', 'reports.holdAvg', avgHold, 'hold', fmtDur),
    col('wrapup', 'reports.wrapupTotal', (f) => f.wrapup_ms, 'wrapup', fmtDur),
    col('avg_wrapup', 'reports.wrapupAvg', avgWrapup, 'wrapup', fmtDur),
    state('available', 'reports.available', 'available_ms'),
    state('break', 'reports.break', 'break_ms'),
    state('dnd', 'reports.dnd', 'dnd_ms'),
  ];
  return <SortTable<AgentRow> testid="reports-agents" rows={report.agents} columns={columns} rowKey={(r) => r.user_id} initial="name" totals />;
}

// --- queues ---

type QueueRow = QueueLine | { queue_id: 'total'; name: null; service_level_secs: null; figures: Figures };
const queueKey = (r: QueueRow) => r.queue_id ?? 'deleted';

export function QueuesTable({ report, link }: { report: QueuesReport; link: Linker }) {
  const total: QueueRow = { queue_id: 'total', name: null, service_level_secs: null, figures: report.totals };
  const col = (key: QueueCol, label: MessageKey, value: (f: Figures) => number | null, fmt?: (v: number | null) => string) =>
    figureColumn<QueueRow>('queue', queueKey, link, total, {
      key, label, fmt,
      value: (r) => value(r.figures),
      drill: (r) => queueDrill(key, r.queue_id ?? null),
      totalDrill: queueDrill(key, 'total'),
    });
  const columns: Column<QueueRow>[] = [
    {
      key: 'name', label: 'reports.queue', text: true, sort: (r) => r.name ?? '',
      cell: (r) => (r.name != null ? <strong>{r.name}</strong> : <span class="muted">{t('reports.deletedQueues')}</span>),
    },
    col('offered', 'reports.offered', (f) => f.queued),
    col('answered', 'reports.answered', (f) => f.queue_answered),
    col('abandoned', 'reports.abandoned', (f) => f.abandoned),
    col('overflow', 'reports.overflow', (f) => f.overflowed),
    col('callbacks', 'reports.callbacks', (f) => f.callbacks),
    {
      ...col('sl', 'reports.serviceLevel', serviceLevel, fmtShare),
      cell: (r) => {
        const v = serviceLevel(r.figures);
        const href = r.queue_id != null && v !== null ? link(queueDrill('sl', r.queue_id)) : null;
        return (
          <>
            <Drill href={href} testid={`queue-sl-${queueKey(r)}`}>{fmtShare(v)}</Drill>
            {r.service_level_secs != null && <span class="muted small"> ≤ {r.service_level_secs} s</span>}
          </>
        );
      },
    },
    col('wait', 'reports.avgWait', avgWait, fmtDur),
  ];
  return <SortTable<QueueRow> testid="reports-queues" rows={report.queues} columns={columns} rowKey={queueKey} initial="name" totals />;
}

// --- trunks ---

type TrunkRow = TrunkLine | { slot: 'total'; label: null; figures: Figures };

export function TrunksTable({ report, link }: { report: TrunksReport; link: Linker }) {
  const total: TrunkRow = { slot: 'total', label: null, figures: report.totals };
  const col = (key: TrunkCol, label: MessageKey, value: (f: Figures) => number | null) =>
    figureColumn<TrunkRow>('trunk', (r) => r.slot, link, total, {
      key, label,
      value: (r) => value(r.figures),
      drill: (r) => trunkDrill(key, r.slot),
      totalDrill: trunkDrill(key, 'total'),
    });
  const columns: Column<TrunkRow>[] = [
    {
      key: 'name', label: 'reports.trunk', text: true, sort: (r) => r.label ?? `#${r.slot}`,
      cell: (r) => <strong>{r.label ?? t('reports.trunkSlot', { slot: r.slot })}</strong>,
    },
    col('calls', 'reports.calls', (f) => f.calls),
    col('inbound', 'reports.inbound', (f) => f.inbound),
    col('outbound', 'reports.outbound', (f) => f.outbound),
    col('answered', 'reports.answered', answered),
    col('minutes', 'reports.minutes', (f) => Math.round(f.talk_ms / 60_000)),
    col('failed', 'reports.failed', (f) => f.failed),
  ];
  return <SortTable<TrunkRow> testid="reports-trunks" rows={report.trunks} columns={columns} rowKey={(r) => r.slot} initial="name" totals />;
}
