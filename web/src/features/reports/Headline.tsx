/** The headline figures of the period, each with its change against the previous period. */
import type { Figures } from '../../shared/api/types';
import { t, type MessageKey } from '../../shared/i18n';
import { headlineDrill, type HeadlineKey } from './drill';
import { answered, avgTalk, delta, fmtDur, fmtNum, fmtShare, serviceLevel, signed } from './model';
import { Drill, type Linker } from './parts';

interface Spec {
  key: HeadlineKey;
  label: MessageKey;
  value: (f: Figures) => number | null;
  fmt: (v: number | null) => string;
  /** `pts`: a share, compared in percentage points. */
  kind: 'pct' | 'pts';
}

const SPECS: Spec[] = [
  { key: 'calls', label: 'reports.calls', value: (f) => f.calls, fmt: (v) => fmtNum(v ?? 0), kind: 'pct' },
  { key: 'answered', label: 'reports.answered', value: answered, fmt: (v) => fmtNum(v ?? 0), kind: 'pct' },
  { key: 'missed', label: 'reports.missed', value: (f) => f.missed, fmt: (v) => fmtNum(v ?? 0), kind: 'pct' },
  { key: 'talk', label: 'reports.talkAvg', value: avgTalk, fmt: fmtDur, kind: 'pct' },
  { key: 'sl', label: 'reports.serviceLevel', value: serviceLevel, fmt: fmtShare, kind: 'pts' },
];

/** "+12 % vs previous period" and how to colour it (more missed calls is not good news). */
export function deltaText(cur: number | null, prev: number | null, kind: 'pct' | 'pts'): string {
  const d = delta(cur, prev, kind);
  if (d === null) return cur ? t('reports.deltaNone') : '';
  if (d === 0) return t('reports.deltaSame');
  return t(kind === 'pts' ? 'reports.deltaPts' : 'reports.deltaPct', { delta: signed(d) });
}

export function Headline({ totals, previous, link }: { totals: Figures; previous: Figures; link: Linker }) {
  return (
    <ul class="reports-headline" data-testid="reports-headline">
      {SPECS.map((s) => {
        const cur = s.value(totals);
        const prev = s.value(previous);
        const d = delta(cur, prev, s.kind);
        const good = d === null || d === 0 ? 'same' : (d > 0) !== (s.key === 'missed') ? 'up' : 'down';
        return (
          <li class="reports-figure" data-testid={`reports-figure-${s.key}`}>
            <span class="reports-figure__label">{t(s.label)}</span>
            <span class="reports-figure__value" data-testid={`reports-value-${s.key}`}>
              <Drill href={cur === null ? null : link(headlineDrill(s.key))} testid={`headline-${s.key}`}>{s.fmt(cur)}</Drill>
            </span>
            <span class={`reports-figure__delta reports-figure__delta--${good}`} data-testid={`reports-delta-${s.key}`}
              title={t('reports.previousValue', { value: s.fmt(prev) })}>
              {deltaText(cur, prev, s.kind)}
            </span>
          </li>
        );
      })}
    </ul>
  );
}
