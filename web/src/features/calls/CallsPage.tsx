import { useEffect, useState } from 'preact/hooks';
import { api, ApiClient } from '../../shared/api/client';
import type { AuditEntry, CallFilter, CallPage, CallRecord } from '../../shared/api/types';
import { describeError } from '../../shared/api/errors';
import { t, type MessageKey } from '../../shared/i18n';

const PER_PAGE = 50;

function fmtTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
}

export function fmtSecs(s: number | null | undefined): string {
  if (s === null || s === undefined) return '—';
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

/** Saves a blob as a file (the browser's download). */
function save(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Calls: every call record the user may see, with filters, playback, downloads and notes. */
export function CallsPage({ isAdmin }: { isAdmin: boolean }) {
  const [filter, setFilter] = useState<CallFilter>({ sort: 'started_at', order: 'desc', page: 1, per_page: PER_PAGE });
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
          <input class="input" type="date" value={filter.from ?? ''} data-testid="calls-from"
            onChange={(e) => set({ from: (e.target as HTMLInputElement).value })} />
        </label>
        <label class="field field--inline">
          <span>{t('calls.to')}</span>
          <input class="input" type="date" value={filter.to ?? ''} onChange={(e) => set({ to: (e.target as HTMLInputElement).value })} />
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
        <label class="check">
          <input type="checkbox" checked={!!filter.missed} data-testid="calls-missed" onChange={(e) => set({ missed: (e.target as HTMLInputElement).checked })} />
          {t('calls.missedOnly')}
        </label>
      </form>
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
          <p class="muted">{t('calls.count', { count: page.total })}</p>
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

interface RowProps {
  c: CallRecord;
  open: boolean;
  selected: boolean;
  isAdmin: boolean;
  dicts: { types: string[]; results: string[] };
  onToggleOpen: () => void;
  onSelect: (on: boolean) => void;
  onChanged: (c: CallRecord) => void;
}

function CallRow({ c, open, selected, isAdmin, dicts, onToggleOpen, onSelect, onChanged }: RowProps) {
  const stored = c.recording?.state === 'stored';
  return (
    <>
      <tr data-testid={`call-${c.id}`} class={c.result === 'missed' ? 'row--missed' : undefined}>
        <td>
          <input type="checkbox" disabled={!stored} checked={selected} aria-label={t('calls.select')}
            onChange={(e) => onSelect((e.target as HTMLInputElement).checked)} />
        </td>
        <td><button type="button" class="link" onClick={onToggleOpen} aria-expanded={open}>{fmtTime(c.started_at)}</button></td>
        <td>{t(`calls.dir.${c.direction}` as MessageKey)}</td>
        <td>{c.user_name ?? '—'}</td>
        <td class="mono">
          {c.number}
          {c.client && <> · <a href={`#/crm?table=${c.client.table_id}&record=${c.client.record_id}`} data-testid={`call-client-${c.id}`}>{c.client.title || `#${c.client.record_id}`}</a></>}
        </td>
        <td>{fmtSecs(c.duration_secs)}</td>
        <td title={c.reason ?? undefined}>{c.result ? t(`calls.res.${c.result}` as MessageKey) : t('calls.inProgress')}</td>
        <td>{c.recording ? t(`calls.rec.${c.recording.state}` as MessageKey) : '—'}</td>
      </tr>
      {open && (
        <tr class="row--detail">
          <td colSpan={8}>
            <CallDetail c={c} isAdmin={isAdmin} dicts={dicts} onChanged={onChanged} />
          </td>
        </tr>
      )}
    </>
  );
}

function CallDetail({ c, isAdmin, dicts, onChanged }: { c: CallRecord; isAdmin: boolean; dicts: RowProps['dicts']; onChanged: (c: CallRecord) => void }) {
  const [note, setNote] = useState(c.note ?? '');
  const [msg, setMsg] = useState<string | null>(null);
  async function patch(p: Parameters<typeof api.patchCall>[1]) {
    try {
      onChanged(await api.patchCall(c.id, p));
      setMsg(t('tel.saved'));
    } catch (e) {
      setMsg(describeError(e));
    }
  }
  return (
    <div class="call-detail">
      <dl class="facts">
        <dt>{t('calls.connect')}</dt><dd>{fmtSecs(c.connect_secs)}</dd>
        <dt>{t('calls.talk')}</dt><dd>{fmtSecs(c.talk_secs)}</dd>
        <dt>{t('calls.hold')}</dt><dd>{fmtSecs(c.hold_secs)}</dd>
        <dt>{t('calls.wrapup')}</dt><dd>{fmtSecs(c.wrapup_secs ?? null)}</dd>
        {c.did && (<><dt>DID</dt><dd>{c.did}</dd></>)}
        {c.trunk_slot !== null && (<><dt>{t('calls.trunk')}</dt><dd>{c.trunk_slot}</dd></>)}
        {c.reason && (<><dt>{t('calls.reason')}</dt><dd>{c.reason}</dd></>)}
        {c.route_note && (<><dt>{t('calls.route')}</dt><dd>{c.route_note}</dd></>)}
      </dl>
      {c.recording?.state === 'stored' && (
        <div class="player">
          <audio controls preload="none" src={`/api/calls/${c.id}/recording`} data-testid="call-audio" />
          <a class="btn" href={`/api/calls/${c.id}/recording?download=1`} download={c.recording.file_name}>{t('calls.download')}</a>
        </div>
      )}
      <div class="call-detail__edit">
        <label class="field field--inline">
          <span>{t('calls.type')}</span>
          <select class="input" value={c.call_type ?? ''} onChange={(e) => patch({ call_type: (e.target as HTMLSelectElement).value })}>
            <option value="">—</option>
            {dicts.types.map((x) => <option key={x} value={x}>{x}</option>)}
          </select>
        </label>
        <label class="field field--inline">
          <span>{t('calls.callResult')}</span>
          <select class="input" value={c.call_result ?? ''} onChange={(e) => patch({ call_result: (e.target as HTMLSelectElement).value })}>
            <option value="">—</option>
            {dicts.results.map((x) => <option key={x} value={x}>{x}</option>)}
          </select>
        </label>
        {isAdmin && (
          <label class="check">
            <input type="checkbox" checked={c.legal_hold} data-testid="call-hold" onChange={(e) => patch({ legal_hold: (e.target as HTMLInputElement).checked })} />
            {t('calls.legalHold')}
          </label>
        )}
        <label class="field">
          <span>{t('calls.note')}</span>
          <textarea class="input" rows={2} maxLength={4000} value={note} onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)} />
        </label>
        <button type="button" class="btn" onClick={() => patch({ note })}>{t('common.save')}</button>
        {msg && <span role="status">{msg}</span>}
      </div>
    </div>
  );
}

function AuditCard() {
  const [rows, setRows] = useState<AuditEntry[] | null>(null);
  useEffect(() => {
    api.recordingAudit().then(setRows, () => setRows([]));
  }, []);
  if (!rows) return null;
  return (
    <section class="card" aria-labelledby="audit-title">
      <h2 id="audit-title">{t('calls.auditTitle')}</h2>
      {rows.length === 0 ? (
        <p class="muted">{t('calls.auditNone')}</p>
      ) : (
        <table class="table">
          <thead>
            <tr><th>{t('calls.when')}</th><th>{t('calls.user')}</th><th>{t('calls.auditAction')}</th><th>{t('calls.auditCall')}</th><th>IP</th></tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={i}>
                <td>{fmtTime(r.at)}</td>
                <td>{r.user_name ?? '—'}</td>
                <td>{t(`calls.audit.${r.action}` as MessageKey)}</td>
                <td class="mono">{r.call_id.slice(0, 8)}</td>
                <td class="mono">{r.ip ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
