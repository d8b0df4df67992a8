import { useEffect, useState } from 'preact/hooks';
import { api, ApiClient } from '../../shared/api/client';
import type { CallFilter, CallPage, CallRecord } from '../../shared/api/types';
import { describeError } from '../../shared/api/errors';
import { t, type MessageKey } from '../../shared/i18n';
import { AuditCard } from './AuditCard';
import { CallRow } from './CallRow';
import { fmtTime, save } from './format';
import { fromReport, isInstant, reportFilter, withoutReport } from './fromReport';

const PER_PAGE = 50;

/** Calls: every call record the user may see, with filters, playback, downloads and notes. */
export function CallsPage({ isAdmin }: { isAdmin: boolean }) {
  // `#/calls?voicemail=new` (the phone's new-voicemail badge) and `#/calls?called_back=false` (the
  // missed calls nobody has called back yet) open the list filtered; so do a report's figures
  // (`#/calls?from=…&to=…&rang_out=2`, issue #20).
  const [filter, setFilter] = useState<CallFilter>(() => {
    const search = location.hash.split('?')[1] ?? '';
    const params = new URLSearchParams(search);
    const vm = params.get('voicemail');
    const cb = params.get('called_back');
    return {
      sort: 'started_at', order: 'desc', page: 1, per_page: PER_PAGE,
      ...(vm === 'new' || vm === 'any' ? { voicemail: vm } : {}),
      ...(cb === 'false' || cb === 'true' ? { called_back: cb } : {}),
      ...reportFilter(search),
    };
  });
  const [page, setPage] = useState<CallPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [open, setOpen] = useState<string | null>(null);
  const [progress, setProgress] = useState<string | null>(null);
  const [dicts, setDicts] = useState<{ types: string[]; results: string[] }>({ types: [], results: [] });

  async function load(f = filter) {
    try {
      setPage(await api.calls(f));
      setError(null);
    } catch (e) {
      setError(describeError(e));
    }
  }
  useEffect(() => {
    void load(filter);
  }, [filter]);
  useEffect(() => {
    api.recordingSettings().then((s) => setDicts({ types: s.call_types, results: s.call_results }), () => undefined);
  }, []);

  const set = (patch: Partial<CallFilter>) => setFilter({ ...filter, page: 1, ...patch });
  function clearReport() {
    setFilter(withoutReport(filter));
    if (location.hash.startsWith('#/calls?')) history.replaceState(null, '', '#/calls');
  }
  const sortBy = (col: string) =>
    setFilter({ ...filter, sort: col, order: filter.sort === col && filter.order === 'desc' ? 'asc' : 'desc' });
  const sortMark = (col: string) => (filter.sort === col ? (filter.order === 'asc' ? ' ▲' : ' ▼') : '');
  const withRecording = (page?.items ?? []).filter((c) => c.recording?.state === 'stored');

  async function downloadZip() {
    const ids = [...selected];
    setProgress(t('calls.zipStarting'));
    try {
      const blob = await api.recordingsZip(ids, (got, total) =>
        setProgress(t('calls.zipProgress', { percent: total ? Math.floor((got * 100) / total) : 0 })),
      );
      save(blob, 'records.zip');
      setProgress(t('calls.zipDone', { count: ids.length }));
    } catch (e) {
      setProgress(describeError(e));
    }
  }

  function replace(c: CallRecord) {
    if (page) setPage({ ...page, items: page.items.map((x) => (x.id === c.id ? c : x)) });
  }

  const pages = page ? Math.max(1, Math.ceil(page.total / PER_PAGE)) : 1;
  const { page: _p, per_page: _pp, ...exportFilter } = filter;
  return (
    <section class="page" aria-labelledby="calls-title">
      <h1 id="calls-title">{t('calls.title')}</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label class="field field--inline">
          <span>{t('calls.from')}</span>
          <input class="input" type="date" value={isInstant(filter.from) ? '' : (filter.from ?? '')} data-testid="calls-from"
            onChange={(e) => set({ from: (e.target as HTMLInputElement).value })} />
        </label>
        <label class="field field--inline">
          <span>{t('calls.to')}</span>
          <input class="input" type="date" value={isInstant(filter.to) ? '' : (filter.to ?? '')} onChange={(e) => set({ to: (e.target as HTMLInputElement).value })} />
        </label>
        <label class="field field--inline">
          <span>{t('calls.direction')}</span>
          <select class="input" value={filter.direction ?? ''} data-testid="calls-direction"
            onChange={(e) => set({ direction: (e.target as HTMLSelectElement).value })}>
            <option value="">{t('calls.any')}</option>
            {(['inbound', 'outbound', 'internal'] as const).map((d) => (
              <option key={d} value={d}>{t(`calls.dir.${d}` as MessageKey)}</option>
            ))}
          </select>
        </label>
        <label class="field field--inline">
          <span>{t('calls.result')}</span>
          <select class="input" value={filter.result ?? ''} onChange={(e) => set({ result: (e.target as HTMLSelectElement).value })}>
            <option value="">{t('calls.any')}</option>
            {(['answered', 'missed', 'busy', 'failed', 'refused', 'forwarded'] as const).map((r) => (
              <option key={r} value={r}>{t(`calls.res.${r}` as MessageKey)}</option>
            ))}
          </select>
        </label>
        <label class="field field--inline">
          <span>{t('calls.number')}</span>
          <input class="input" value={filter.number ?? ''} inputMode="tel" data-testid="calls-number"
            onInput={(e) => set({ number: (e.target as HTMLInputElement).value })} />
        </label>
        <label class="field field--inline">
          <span>{t('calls.voicemail')}</span>
          <select class="input" value={filter.voicemail ?? ''} data-testid="calls-voicemail"
            onChange={(e) => set({ voicemail: (e.target as HTMLSelectElement).value as CallFilter['voicemail'] })}>
            <option value="">{t('calls.any')}</option>
            <option value="any">{t('calls.voicemailAny')}</option>
            <option value="new">{t('calls.voicemailNewOnly')}</option>
          </select>
        </label>
        <label class="field field--inline">
          <span>{t('calls.callback')}</span>
          <select class="input" value={filter.called_back ?? ''} data-testid="calls-filter-callback"
            onChange={(e) => set({ called_back: (e.target as HTMLSelectElement).value as CallFilter['called_back'] })}>
            <option value="">{t('calls.any')}</option>
            <option value="false">{t('calls.callbackTodo')}</option>
            <option value="true">{t('calls.callbackDone')}</option>
          </select>
        </label>
        <label class="check">
          <input type="checkbox" checked={!!filter.missed} data-testid="calls-missed" onChange={(e) => set({ missed: (e.target as HTMLInputElement).checked })} />
          {t('calls.missedOnly')}
        </label>
      </form>
      {fromReport(filter) && (
        <p class="chip reports-calls-chip" data-testid="calls-from-report">
          <strong>{t('calls.fromReport')}</strong>
          {(isInstant(filter.from) || isInstant(filter.to)) && (
            <span data-testid="calls-from-report-range">
              {' · '}{t('calls.fromReportRange', { from: filter.from ? fmtTime(filter.from) : '…', to: filter.to ? fmtTime(filter.to) : '…' })}
            </span>
          )}
          <button type="button" class="btn btn--icon" aria-label={t('calls.fromReportClear')} title={t('calls.fromReportClear')}
            data-testid="calls-from-report-clear" onClick={clearReport}>×</button>
        </p>
      )}
      <div class="toolbar">
        <button type="button" class="btn btn--primary" disabled={selected.size === 0} data-testid="calls-zip" onClick={downloadZip}>
          {t('calls.downloadSelected', { count: selected.size })}
        </button>
        <a class="btn" href={`/api/calls/export.csv${ApiClient.callQuery(exportFilter)}`} download="calls.csv">{t('calls.exportCsv')}</a>
        {progress && <span role="status" data-testid="calls-progress">{progress}</span>}
      </div>
      {error && <p class="alert alert--error" role="alert">{error}</p>}
      {page && (
        <>
          <p class="muted" data-testid="calls-count" data-total={page.total}>{t('calls.count', { count: page.total })}</p>
          <table class="table" data-testid="calls-table">
            <thead>
              <tr>
                <th>
                  <input type="checkbox" aria-label={t('calls.selectAll')}
                    checked={withRecording.length > 0 && withRecording.every((c) => selected.has(c.id))}
                    onChange={(e) => setSelected((e.target as HTMLInputElement).checked ? new Set(withRecording.map((c) => c.id)) : new Set())} />
                </th>
                <th><button type="button" class="link" onClick={() => sortBy('started_at')}>{t('calls.when')}{sortMark('started_at')}</button></th>
                <th><button type="button" class="link" onClick={() => sortBy('direction')}>{t('calls.direction')}{sortMark('direction')}</button></th>
                <th><button type="button" class="link" onClick={() => sortBy('user')}>{t('calls.user')}{sortMark('user')}</button></th>
                <th><button type="button" class="link" onClick={() => sortBy('number')}>{t('calls.number')}{sortMark('number')}</button></th>
                <th><button type="button" class="link" onClick={() => sortBy('duration')}>{t('calls.duration')}{sortMark('duration')}</button></th>
                <th><button type="button" class="link" onClick={() => sortBy('result')}>{t('calls.result')}{sortMark('result')}</button></th>
                <th>{t('calls.recording')}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((c) => (
                <CallRow key={c.id} c={c} open={open === c.id} selected={selected.has(c.id)} isAdmin={isAdmin} dicts={dicts}
                  onToggleOpen={() => setOpen(open === c.id ? null : c.id)}
                  onSelect={(on) => {
                    const s = new Set(selected);
                    if (on) s.add(c.id);
                    else s.delete(c.id);
                    setSelected(s);
                  }}
                  onChanged={replace} />
              ))}
            </tbody>
          </table>
          {page.items.length === 0 && <p class="muted">{t('calls.none')}</p>}
          <nav class="pager" aria-label={t('calls.pages')}>
            <button type="button" class="btn" disabled={(filter.page ?? 1) <= 1} onClick={() => setFilter({ ...filter, page: (filter.page ?? 1) - 1 })}>←</button>
            <span>{t('calls.pageOf', { page: filter.page ?? 1, pages })}</span>
            <button type="button" class="btn" disabled={(filter.page ?? 1) >= pages} onClick={() => setFilter({ ...filter, page: (filter.page ?? 1) + 1 })}>→</button>
          </nav>
        </>
      )}
      {isAdmin && <AuditCard />}
    </section>
  );
}
