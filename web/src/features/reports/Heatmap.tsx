/** Calls by weekday (rows, Monday first) and hour (columns 0–23), shaded by how many; each cell opens its calls. */
import type { Heatmap } from '../../shared/api/types';
import { t } from '../../shared/i18n';
import { formatWeekday } from '../../shared/i18n/format';
import { heatDrill } from './drill';
import { fmtNum, heatColour } from './model';
import type { Linker } from './parts';

const HOURS = Array.from({ length: 24 }, (_, h) => h);
const WEEKDAYS = [1, 2, 3, 4, 5, 6, 7];

/** The short name of weekday `d` (1 = Monday) in the page's language. 2024-01-01 was a Monday. */
export function weekdayName(d: number): string {
  return formatWeekday(d);
}

/** `{weekday: {hour: calls}}` of the heatmap's cells (absent cells had no calls). */
export function heatGrid(h: Pick<Heatmap, 'cells'>): { grid: Map<number, Map<number, number>>; max: number } {
  const grid = new Map<number, Map<number, number>>();
  let max = 0;
  for (const c of h.cells) {
    const row = grid.get(c.weekday) ?? new Map<number, number>();
    const n = (row.get(c.hour) ?? 0) + c.figures.calls;
    row.set(c.hour, n);
    grid.set(c.weekday, row);
    max = Math.max(max, n);
  }
  return { grid, max };
}

export function HeatmapTable({ heatmap, link }: { heatmap: Heatmap; link: Linker }) {
  const { grid, max } = heatGrid(heatmap);
  return (
    <div class="table-wrap">
      <table class="reports-heatmap" data-testid="reports-heatmap-table">
        <caption class="sr-only">{t('reports.heatmapCaption')}</caption>
        <thead>
          <tr>
            <th scope="col"><span class="sr-only">{t('reports.weekday')}</span></th>
            {HOURS.map((h) => (
              <th scope="col" key={h}>{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {WEEKDAYS.map((d) => (
            <tr key={d}>
              <th scope="row">{weekdayName(d)}</th>
              {HOURS.map((h) => {
                const n = grid.get(d)?.get(h) ?? 0;
                const colour = heatColour(n, max);
                return (
                  <td key={h} data-testid={`reports-heat-${d}-${h}`} data-calls={n}
                    style={colour ? { backgroundColor: colour.background, color: colour.color } : undefined}>
                    {n > 0 && (
                      <a class="reports-drill" href={link(heatDrill(d, h)) ?? undefined} data-testid={`drill-heat-${d}-${h}`}
                        title={t('reports.heatCell', { day: weekdayName(d), hour: h, count: n })}>
                        {fmtNum(n)}
                      </a>
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      {max === 0 && <p class="muted reports-empty">{t('reports.noData')}</p>}
    </div>
  );
}
