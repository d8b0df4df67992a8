/** The Reports page's period picker and filters (supervisors: access group, agent, trunk, queue; everyone: direction). */
import type { CallDirection, ReportPeriodKind } from '../../shared/api/types';
import { t, type MessageKey } from '../../shared/i18n';
import { customProblem, DIRECTIONS, PERIODS, type ReportState } from './model';

/** A choice of a filter: id and what to show. */
export interface Choice {
  id: number;
  name: string;
}

export interface Choices {
  groups: Choice[];
  agents: Choice[];
  trunks: Choice[];
  queues: Choice[];
}

type IdFilter = 'group_id' | 'user_id' | 'trunk' | 'queue_id';

const ID_FILTERS: { key: IdFilter; choices: keyof Choices; label: MessageKey; any: MessageKey; testid: string }[] = [
  { key: 'group_id', choices: 'groups', label: 'reports.group', any: 'reports.allGroups', testid: 'reports-filter-group' },
  { key: 'user_id', choices: 'agents', label: 'reports.agent', any: 'reports.allAgents', testid: 'reports-filter-user' },
  { key: 'trunk', choices: 'trunks', label: 'reports.trunk', any: 'reports.allTrunks', testid: 'reports-filter-trunk' },
  { key: 'queue_id', choices: 'queues', label: 'reports.queue', any: 'reports.allQueues', testid: 'reports-filter-queue' },
];

const value = (e: Event) => (e.target as HTMLInputElement | HTMLSelectElement).value;

export function Filters(props: { state: ReportState; supervisor: boolean; choices: Choices; onChange: (s: ReportState) => void }) {
  const { state, supervisor, choices, onChange } = props;
  const set = (patch: Partial<ReportState>) => onChange({ ...state, ...patch });
  const problem = customProblem(state);
  return (
    <form class="filters reports-filters" data-testid="reports-filters" onSubmit={(e) => e.preventDefault()}>
      <label class="field field--inline">
        <span>{t('reports.period')}</span>
        <select class="input" value={state.period} data-testid="reports-period"
          onChange={(e) => set({ period: value(e) as ReportPeriodKind })}>
          {PERIODS.map((p) => (
            <option key={p} value={p}>{t(`reports.period.${p}` as MessageKey)}</option>
          ))}
        </select>
      </label>
      {state.period === 'custom' && (
        <>
          <label class="field field--inline">
            <span>{t('reports.from')}</span>
            <input class="input" type="date" value={state.from} max={state.to || undefined} data-testid="reports-from"
              onChange={(e) => set({ from: value(e) })} />
          </label>
          <label class="field field--inline">
            <span>{t('reports.to')}</span>
            <input class="input" type="date" value={state.to} min={state.from || undefined} data-testid="reports-to"
              onChange={(e) => set({ to: value(e) })} />
          </label>
        </>
      )}
      {supervisor &&
        ID_FILTERS.map((f) => (
          <label class="field field--inline" key={f.key}>
            <span>{t(f.label)}</span>
            <select class="input" value={state[f.key] ?? ''} data-testid={f.testid}
              onChange={(e) => {
                const v = value(e);
                set({ [f.key]: v === '' ? undefined : Number(v) });
              }}>
              <option value="">{t(f.any)}</option>
              {choices[f.choices].map((c) => (
                <option key={c.id} value={c.id}>{c.name}</option>
              ))}
            </select>
          </label>
        ))}
      <label class="field field--inline">
        <span>{t('reports.direction')}</span>
        <select class="input" value={state.direction ?? ''} data-testid="reports-filter-direction"
          onChange={(e) => set({ direction: (value(e) || undefined) as CallDirection | undefined })}>
          <option value="">{t('reports.allDirections')}</option>
          {DIRECTIONS.map((d) => (
            <option key={d} value={d}>{t(`calls.dir.${d}` as MessageKey)}</option>
          ))}
        </select>
      </label>
      {problem && (
        <p class="muted reports-hint" data-testid="reports-custom-hint">
          {t(problem === 'order' ? 'reports.customOrder' : 'reports.customDates')}
        </p>
      )}
    </form>
  );
}
