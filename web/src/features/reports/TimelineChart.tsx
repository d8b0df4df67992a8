/**
 * Calls per hour or day (uPlot on a canvas): calls, answered and missed, and the previous period's
 * calls as a dashed line. The chart fills its container's width and follows its resizes. jsdom
 * (the unit tests) has no canvas: there the chart is not drawn; its data ({@link chartSeries}) is
 * tested on its own. uPlot is loaded with the chart (its own chunk, and it reads `matchMedia` as
 * it loads, which jsdom lacks).
 */
import { useEffect, useRef } from 'preact/hooks';
import type uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { t } from '../../shared/i18n';
import { alignedData, type ChartSeries } from './chart';

const HEIGHT = 260;
const canDraw = () => typeof navigator !== 'undefined' && !/jsdom/i.test(navigator.userAgent);

export function TimelineChart({ series }: { series: ChartSeries }) {
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = box.current;
    if (!el || !canDraw()) return;
    const labels = series.labels;
    const label = (i: number | null) => (i === null ? '' : (labels[Math.round(i)] ?? ''));
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: HEIGHT,
      scales: { x: { time: false } },
      axes: [
        { values: (_u, splits) => splits.map((s) => (Number.isInteger(s) ? label(s) : '')), space: 60, incrs: [1, 2, 3, 4, 6, 12, 24, 48] },
        { values: (_u, splits) => splits.map((s) => (Number.isInteger(s) ? String(s) : '')) },
      ],
      series: [
        { label: t('reports.chartWhen'), value: (_u, v) => label(v) },
        { label: t('reports.calls'), stroke: '#1f5fbf', width: 2 },
        { label: t('reports.answered'), stroke: '#1e7b34', width: 2 },
        { label: t('reports.missed'), stroke: '#b3261e', width: 2 },
        { label: t('reports.chartPrevious'), stroke: '#5b6675', width: 1.5, dash: [6, 4] },
      ],
    };
    let plot: uPlot | undefined;
    let resize: ResizeObserver | undefined;
    let gone = false;
    void import('uplot').then(({ default: UPlot }) => {
      if (gone) return;
      plot = new UPlot(opts, alignedData(series) as uPlot.AlignedData, el);
      if (typeof ResizeObserver !== 'undefined') {
        resize = new ResizeObserver(() => plot?.setSize({ width: Math.max(200, el.clientWidth), height: HEIGHT }));
        resize.observe(el);
      }
    });
    return () => {
      gone = true;
      resize?.disconnect();
      plot?.destroy();
    };
  }, [series]);

  return <div class="reports-chart" ref={box} data-testid="reports-chart" role="img" aria-label={t('reports.chartLabel')} />;
}
