/** The timeline chart's data, shaped for uPlot (pure: the chart itself needs a canvas). */
import type { Timeline } from '../../shared/api/types';
import { answered } from './model';

export interface ChartSeries {
  /** One label per point: `HH:MM` (hours of one day), `DD.MM HH:MM` (hours of two days), `DD.MM` (days). */
  labels: string[];
  calls: number[];
  answered: number[];
  missed: number[];
  /** The previous period's calls at the same place; `null` where it has no point. */
  previous: (number | null)[];
}

const dayOf = (at: string) => `${at.slice(8, 10)}.${at.slice(5, 7)}`;

export function chartSeries(tl: Pick<Timeline, 'unit' | 'points' | 'previous'>): ChartSeries {
  const days = new Set(tl.points.map((p) => p.at.slice(0, 10)));
  const label = (at: string) => {
    if (tl.unit !== 'hour') return dayOf(at);
    const time = at.slice(11, 16);
    return days.size > 1 ? `${dayOf(at)} ${time}` : time;
  };
  return {
    labels: tl.points.map((p) => label(p.at)),
    calls: tl.points.map((p) => p.figures.calls),
    answered: tl.points.map((p) => answered(p.figures)),
    missed: tl.points.map((p) => p.figures.missed),
    previous: tl.points.map((_, i) => tl.previous[i]?.figures.calls ?? null),
  };
}

/** uPlot's aligned data: x = the point's index (its label comes from {@link ChartSeries.labels}). */
export function alignedData(s: ChartSeries): [number[], number[], number[], number[], (number | null)[]] {
  return [s.labels.map((_, i) => i), s.calls, s.answered, s.missed, s.previous];
}
