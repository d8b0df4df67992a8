/** Small pieces the report sections share: a drill-down link, a section with its export links, a sortable table. */
import type { ComponentChild, ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiClient } from '../../shared/api/client';
import type { ReportName, ReportQuery } from '../../shared/api/types';
import { t, type MessageKey } from '../../shared/i18n';
import type { DrillParams } from './drill';
import { sortRows, type SortDir, type SortValue } from './model';

/** Builds the call-list link of a figure's parameters (`null`: the figure has none). */
export type Linker = (own: DrillParams | null) => string | null;

/** A figure that opens the calls behind it; plain text where no filter selects them. */
export function Drill({ href, testid, children }: { href: string | null; testid: string; children: ComponentChildren }) {
  if (!href) return <span>{children}</span>;
  return (
    <a class="reports-drill" href={href} data-testid={`drill-${testid}`} title={t('reports.drillHint')}>
      {children}
    </a>
  );
}

/** A report section: its heading, CSV/XLSX downloads of the same query, and its content. */
export function Section(props: { name: ReportName; title: string; query: ReportQuery; children: ComponentChildren }) {
  const { name, title, query, children } = props;
  return (
    <section class="card reports-section" data-testid={`reports-${name}`} aria-labelledby={`reports-${name}-title`}>
      <div class="page__head">
        <h2 id={`reports-${name}-title`}>{title}</h2>
        <div class="page__spacer" />
        <span class="reports-actions">
          {(['csv', 'xlsx'] as const).map((f) => (
            <a class="btn btn--small" href={ApiClient.reportExportUrl(name, f, query)} download data-testid={`reports-export-${name}-${f}`}>
              {t(f === 'csv' ? 'reports.exportCsv' : 'reports.exportXlsx')}
            </a>
          ))}
        </span>
      </div>
      {children}
    </section>
  );
}

export interface Column<T> {
  key: string;
  label: MessageKey;
  /** The value the column sorts on. */
  sort: (r: T) => SortValue;
  cell: (r: T) => ComponentChild;
  /** The totals row's cell. */
  total?: ComponentChild;
  /** Text columns align left, figures right. */
  text?: boolean;
}

/** A table sorted by clicking a column's header (again: the other way), with an optional totals row. */
export function SortTable<T>(props: {
  testid: string;
  rows: readonly T[];
  columns: Column<T>[];
  rowKey: (r: T) => string | number;
  /** The column sorted on first, ascending for text, descending for figures. */
  initial: string;
  totals?: boolean;
}) {
  const { testid, rows, columns, rowKey, initial, totals } = props;
  const first = columns.find((c) => c.key === initial) ?? columns[0]!;
  const [sort, setSort] = useState<{ key: string; dir: SortDir }>({ key: first.key, dir: first.text ? 'asc' : 'desc' });
  const col = columns.find((c) => c.key === sort.key) ?? first;
  const sorted = sortRows(rows, col.sort, sort.dir);
  const click = (c: Column<T>) =>
    setSort(sort.key === c.key ? { key: c.key, dir: sort.dir === 'asc' ? 'desc' : 'asc' } : { key: c.key, dir: c.text ? 'asc' : 'desc' });
  return (
    <div class="table-wrap">
      <table class="table reports-table" data-testid={`${testid}-table`}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} class={c.text ? undefined : 'reports-num'}
                aria-sort={sort.key === c.key ? (sort.dir === 'asc' ? 'ascending' : 'descending') : undefined}>
                <button type="button" class="link" data-testid={`${testid}-sort-${c.key}`} onClick={() => click(c)}>
                  {t(c.label)}
                  {sort.key === c.key ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : ''}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {sorted.map((r) => (
            <tr key={rowKey(r)} data-testid={`${testid}-row`} data-key={rowKey(r)}>
              {columns.map((c) => (
                <td key={c.key} class={c.text ? undefined : 'reports-num'}>{c.cell(r)}</td>
              ))}
            </tr>
          ))}
        </tbody>
        {totals && rows.length > 0 && (
          <tfoot>
            <tr class="reports-total" data-testid={`${testid}-total`}>
              {columns.map((c, i) => (
                <td key={c.key} class={c.text ? undefined : 'reports-num'}>{i === 0 ? t('reports.total') : c.total}</td>
              ))}
            </tr>
          </tfoot>
        )}
      </table>
      {rows.length === 0 && <p class="muted reports-empty">{t('reports.noData')}</p>}
    </div>
  );
}
