/**
 * Drill-down (issue #20): every figure of a report links to the call list filtered to the calls
 * behind it — `#/calls?from=<period start>&to=<period end>&<the page's filters>&<the figure's own>`
 * (REPORTS-API "Drill-down"; the call list reads these from its URL).
 */
import type { ReportPeriod } from '../../shared/api/types';

export type DrillParams = Record<string, string | number | boolean>;

/** The page's active filters that also narrow the call list. */
export interface DrillBase {
  group_id?: number;
  user_id?: number;
  trunk?: number;
  queue_id?: number;
  direction?: string;
}

/**
 * The call-list link of one figure: the period's instants, the page's filters, then the figure's
 * own parameters (which win). `rang_out` (an agent's missed calls) drops the user filter: those
 * calls belong to whoever answered them, or to nobody.
 */
export function drillHref(period: Pick<ReportPeriod, 'starts_at' | 'ends_at'>, base: DrillBase, own: DrillParams): string {
  const p = new URLSearchParams();
  p.set('from', period.starts_at);
  p.set('to', period.ends_at);
  const all: DrillParams = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined && v !== '') all[k] = v;
  Object.assign(all, own);
  if ('rang_out' in own) delete all.user_id;
  for (const [k, v] of Object.entries(all)) p.set(k, String(v));
  return `#/calls?${p}`;
}

/** `total`: the table's totals row (no id of its own); `null`: a line without one (a deleted queue). */
export type LineId = number | 'total' | null;

export type AgentCol = 'inbound' | 'inbound_answered' | 'missed' | 'outbound' | 'outbound_answered' | 'talk' | 'hold' | 'wrapup';

/** The call-list filter behind an agent's figure, `null` where no filter selects those calls. */
export function agentDrill(col: AgentCol, id: LineId): DrillParams | null {
  if (id === null) return null;
  const who: DrillParams = id === 'total' ? {} : { user_id: id };
  switch (col) {
    case 'inbound':
      return { ...who, direction: 'inbound' };
    case 'inbound_answered':
      return { ...who, direction: 'inbound', answered: true };
    case 'missed':
      // Calls that rang this agent out; "rang any agent out" has no filter.
      return id === 'total' ? null : { rang_out: id };
    case 'outbound':
      return { ...who, direction: 'outbound' };
    case 'outbound_answered':
      return { ...who, direction: 'outbound', answered: true };
    case 'talk':
    case 'hold':
      return { ...who, answered: true };
    case 'wrapup':
      return who;
  }
}

export type QueueCol = 'offered' | 'answered' | 'abandoned' | 'overflow' | 'callbacks' | 'sl' | 'wait';

const OUTCOME: Partial<Record<QueueCol, string>> = {
  answered: 'answered', abandoned: 'abandoned', overflow: 'overflow', callbacks: 'callback', wait: 'answered',
};

/** The call-list filter behind a queue's figure (deleted queues have none). */
export function queueDrill(col: QueueCol, id: LineId): DrillParams | null {
  if (id === null) return null;
  const which: DrillParams = id === 'total' ? {} : { queue_id: id };
  if (col === 'offered') return id === 'total' ? null : which;
  if (col === 'sl') return { ...which, in_service_level: true };
  return { ...which, queue_outcome: OUTCOME[col]! };
}

export type TrunkCol = 'calls' | 'inbound' | 'outbound' | 'answered' | 'minutes' | 'failed';

/** The call-list filter behind a trunk's figure. */
export function trunkDrill(col: TrunkCol, slot: LineId): DrillParams | null {
  if (slot === null) return null;
  const which: DrillParams = slot === 'total' ? {} : { trunk: slot };
  switch (col) {
    case 'calls':
      return which;
    case 'inbound':
    case 'outbound':
      return { ...which, direction: col };
    case 'answered':
    case 'minutes':
      return { ...which, answered: true };
    case 'failed':
      return { ...which, failed: true };
  }
}

export type HeadlineKey = 'calls' | 'answered' | 'missed' | 'talk' | 'sl';

/** The call-list filter behind a headline figure. */
export function headlineDrill(key: HeadlineKey): DrillParams {
  switch (key) {
    case 'calls':
      return {};
    case 'answered':
    case 'talk':
      return { answered: true };
    case 'missed':
      // The figure counts the calls whose result is "missed" (inbound, ended, nobody answered).
      return { result: 'missed' };
    case 'sl':
      return { in_service_level: true };
  }
}

/** The calls of one heatmap cell: weekday 1 = Monday … 7 = Sunday, hour 0..23 (account's zone). */
export function heatDrill(weekday: number, hour: number): DrillParams {
  return { weekday, hour };
}
