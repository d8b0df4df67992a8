import { useEffect, useState } from 'preact/hooks';
import { api, ApiClient } from '../../shared/api/client';
import type { CrmField, CrmFilter, CrmRecord, CrmTable, FieldKind, FilterOp, ImportPreview, ImportStatus, RecordPage, UserName } from '../../shared/api/types';
import { Dialog } from '../../shared/ui/Dialog';
import { describeError } from '../../shared/api/errors';
import { t, type MessageKey } from '../../shared/i18n';
import { dial, dialRequest } from './dial';

const PER_PAGE = 50;
const KINDS: FieldKind[] = ['text', 'long_text', 'number', 'date', 'select', 'phone', 'email', 'user'];
const OPS: FilterOp[] = ['contains', 'equals', 'greater', 'less', 'empty', 'not_empty'];

/** The table to show, from `#/crm?table=ID`. */
function tableFromHash(): number | null {
  const q = location.hash.split('?')[1];
  const v = q ? new URLSearchParams(q).get('table') : null;
  return v ? Number(v) : null;
}

/** A value as text for the grid. */
export function display(field: CrmField, v: unknown, users: UserName[]): string {
  if (v === undefined || v === null) return '';
  if (field.kind === 'user') return users.find((u) => u.id === v)?.name ?? `#${String(v)}`;
  if (field.kind === 'date' && typeof v === 'string') return new Date(`${v}T00:00:00`).toLocaleDateString();
  return String(v);
}

function Handset({ rec, field }: { rec: CrmRecord; field: CrmField }) {
  const req = dialRequest(rec, field.id);
  if (!req) return null;
  return (
    <button type="button" class="dial" title={t('crm.call')} aria-label={t('crm.callField', { field: field.name })}
      data-testid={`dial-${rec.id}-${field.id}`}
      onClick={(e) => {
        e.stopPropagation();
        dial(req);
      }}>
      ☎
    </button>
  );
}

/** CRM: the tenant's tables, their records (sort, filter, search, pages), import and export. */
export function CrmPage({ isAdmin }: { isAdmin: boolean }) {
  const [tables, setTables] = useState<CrmTable[] | null>(null);
  const [tableId, setTableId] = useState<number | null>(tableFromHash());
  const [query, setQuery] = useState<{ page: number; sort?: number; desc?: boolean; q?: string; filters: CrmFilter[] }>({ page: 1, filters: [] });
  const [page, setPage] = useState<RecordPage | null>(null);
  const [users, setUsers] = useState<UserName[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<CrmRecord | 'new' | null>(null);
  const [dialog, setDialog] = useState<'fields' | 'import' | 'table' | null>(null);
  const [search, setSearch] = useState('');

  async function loadTables() {
    try {
      const ts = await api.crmTables();
      setTables(ts);
      if (!ts.some((x) => x.id === tableId) && ts[0]) setTableId(ts[0].id);
    } catch (e) {
      setError(describeError(e));
    }
  }
  useEffect(() => {
    void loadTables();
    api.crmUsers().then(setUsers, () => undefined);
    // `#/crm?table=T&record=R` (from the call card and the call list) opens that record.
    const openFromHash = () => {
      const q = location.hash.split('?')[1];
      const params = new URLSearchParams(q ?? '');
      const tbl = params.get('table');
      if (tbl) setTableId(Number(tbl));
      const rec = params.get('record');
      if (rec) api.crmRecord(Number(rec)).then(setEditing, (e) => setError(describeError(e)));
    };
    openFromHash();
    window.addEventListener('hashchange', openFromHash);
    return () => window.removeEventListener('hashchange', openFromHash);
  }, []);
  const table = tables?.find((x) => x.id === tableId) ?? null;

  async function load() {
    if (!table) return;
    try {
      setPage(await api.crmRecords(table.id, { ...query, per_page: PER_PAGE }));
      setError(null);
    } catch (e) {
      setError(describeError(e));
    }
  }
  useEffect(() => {
    void load();
  }, [table?.id, query]);
  // Quick search as you type, a moment after the last key.
  useEffect(() => {
    const h = setTimeout(() => {
      if ((query.q ?? '') !== search.trim()) setQuery({ ...query, page: 1, q: search.trim() || undefined });
    }, 250);
    return () => clearTimeout(h);
  }, [search]);

  if (!tables) return <section class="page">{error ? <p class="alert alert--error" role="alert">{error}</p> : <p aria-busy="true">{t('app.loading')}</p>}</section>;
  const fields = table?.fields ?? [];
  const sortBy = (f: CrmField) => setQuery({ ...query, page: 1, sort: f.id, desc: query.sort === f.id ? !query.desc : false });
  const mark = (f: CrmField) => (query.sort === f.id ? (query.desc ? ' ▼' : ' ▲') : '');
  const pages = page ? Math.max(1, Math.ceil(page.total / PER_PAGE)) : 1;
  const { page: _p, ...exportQuery } = query;

  return (
    <section class="page crm" aria-labelledby="crm-title">
      <h1 id="crm-title">{t('crm.title')}</h1>
      <div class="tabs" role="tablist">
        {tables.map((x) => (
          <button key={x.id} type="button" role="tab" aria-selected={x.id === tableId} class={'tab' + (x.id === tableId ? ' tab--active' : '')}
            onClick={() => {
              setTableId(x.id);
              setQuery({ page: 1, filters: [] });
              setSearch('');
              history.replaceState(null, '', `#/crm?table=${x.id}`);
            }}>
            {x.name}
          </button>
        ))}
        {isAdmin && <button type="button" class="btn btn--quiet" onClick={() => setDialog('table')}>+ {t('crm.newTable')}</button>}
      </div>
      {table && (
        <>
          <div class="toolbar">
            <input class="input" type="search" placeholder={t('crm.search')} aria-label={t('crm.search')} value={search} data-testid="crm-search"
              onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
            <FilterAdder fields={fields} onAdd={(f) => setQuery({ ...query, page: 1, filters: [...query.filters, f] })} />
            <button type="button" class="btn btn--primary" data-testid="crm-new" onClick={() => setEditing('new')}>{t('crm.newRecord')}</button>
            <a class="btn" href={`/api/crm/tables/${table.id}/export.csv${ApiClient.recordQuery(exportQuery)}`} download>{t('crm.export')}</a>
            {isAdmin && <button type="button" class="btn" onClick={() => setDialog('import')}>{t('crm.import')}</button>}
            {isAdmin && <button type="button" class="btn" onClick={() => setDialog('fields')}>{t('crm.fields')}</button>}
          </div>
          {query.filters.length > 0 && (
            <ul class="chips">
              {query.filters.map((f, i) => (
                <li key={i} class="chip">
                  {fields.find((x) => x.id === f.field)?.name} {t(`crm.op.${f.op}` as MessageKey)} {f.value}
                  <button type="button" class="link" aria-label={t('crm.removeFilter')}
                    onClick={() => setQuery({ ...query, page: 1, filters: query.filters.filter((_, j) => j !== i) })}>✕</button>
                </li>
              ))}
            </ul>
          )}
          {error && <p class="alert alert--error" role="alert">{error}</p>}
          {page && (
            <>
              <p class="muted" data-testid="crm-count">
                {page.total_capped ? t('crm.countMore', { count: page.total }) : t('crm.count', { count: page.total })}
              </p>
              <div class="table-wrap">
                <table class="table crm__grid" data-testid="crm-table">
                  <thead>
                    <tr>
                      {fields.filter((f) => f.kind !== 'long_text').map((f) => (
                        <th key={f.id}><button type="button" class="link" onClick={() => sortBy(f)}>{f.name}{mark(f)}</button></th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {page.records.map((r) => (
                      <tr key={r.id} data-testid={`rec-${r.id}`} class="crm__row" onClick={() => setEditing(r)}>
                        {fields.filter((f) => f.kind !== 'long_text').map((f) => (
                          <td key={f.id} class={f.kind === 'phone' ? 'crm__phone' : undefined}>
                            {f.kind === 'phone' && r.phones[String(f.id)] && !r.phones[String(f.id)].valid && r.values[String(f.id)] ? (
                              <span class="warn" title={t('crm.phoneAsText')}>{display(f, r.values[String(f.id)], users)} ⚠</span>
                            ) : (
                              display(f, r.values[String(f.id)], users)
                            )}
                            {f.kind === 'phone' && table.call_table && <Handset rec={r} field={f} />}
                          </td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {page.records.length === 0 && <p class="muted">{t('crm.none')}</p>}
              <nav class="pager" aria-label={t('calls.pages')}>
                <button type="button" class="btn" disabled={query.page <= 1} onClick={() => setQuery({ ...query, page: query.page - 1 })}>←</button>
                <span>{page.total_capped ? t('crm.page', { page: query.page }) : t('calls.pageOf', { page: query.page, pages })}</span>
                <button type="button" class="btn" disabled={page.total_capped ? page.records.length < PER_PAGE : query.page >= pages}
                  onClick={() => setQuery({ ...query, page: query.page + 1 })}>→</button>
              </nav>
            </>
          )}
        </>
      )}
      {table && editing && (
        <RecordDialog table={table} rec={editing === 'new' ? null : editing} users={users} onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            void load();
          }} />
      )}
      {table && dialog === 'fields' && <FieldsDialog table={table} onClose={() => setDialog(null)} onChanged={loadTables} />}
      {table && dialog === 'import' && (
        <ImportDialog table={table} onClose={() => {
          setDialog(null);
          void load();
        }} />
      )}
      {dialog === 'table' && <NewTableDialog onClose={() => setDialog(null)} onCreated={(id) => {
        setDialog(null);
        setTableId(id);
        void loadTables();
      }} />}
    </section>
  );
}

function FilterAdder({ fields, onAdd }: { fields: CrmField[]; onAdd: (f: CrmFilter) => void }) {
  const [field, setField] = useState<number>(fields[0]?.id ?? 0);
  const [op, setOp] = useState<FilterOp>('contains');
  const [value, setValue] = useState('');
  return (
    <form class="filter-adder" onSubmit={(e) => {
      e.preventDefault();
      if (!field) return;
      onAdd({ field, op, value });
      setValue('');
    }}>
      <select class="input" aria-label={t('crm.filterField')} value={field} onChange={(e) => setField(Number((e.target as HTMLSelectElement).value))}>
        {fields.map((f) => <option key={f.id} value={f.id}>{f.name}</option>)}
      </select>
      <select class="input" aria-label={t('crm.filterOp')} value={op} onChange={(e) => setOp((e.target as HTMLSelectElement).value as FilterOp)}>
        {OPS.map((o) => <option key={o} value={o}>{t(`crm.op.${o}` as MessageKey)}</option>)}
      </select>
      {op !== 'empty' && op !== 'not_empty' && (
        <input class="input" aria-label={t('crm.filterValue')} value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
      )}
      <button type="submit" class="btn">{t('crm.addFilter')}</button>
    </form>
  );
}

function FieldInput({ field, value, users, onChange }: { field: CrmField; value: unknown; users: UserName[]; onChange: (v: unknown) => void }) {
  const v = value === undefined || value === null ? '' : String(value);
  const id = `f-${field.id}`;
  const on = (e: Event) => onChange((e.target as HTMLInputElement).value);
  let input;
  switch (field.kind) {
    case 'long_text':
      input = <textarea id={id} class="input" rows={3} value={v} onInput={on} />;
      break;
    case 'select':
      input = (
        <select id={id} class="input" value={v} onChange={on}>
          <option value="">—</option>
          {field.options.map((o) => <option key={o} value={o}>{o}</option>)}
        </select>
      );
      break;
    case 'user':
      input = (
        <select id={id} class="input" value={v} onChange={(e) => onChange((e.target as HTMLSelectElement).value ? Number((e.target as HTMLSelectElement).value) : null)}>
          <option value="">—</option>
          {users.map((u) => <option key={u.id} value={u.id}>{u.name}</option>)}
        </select>
      );
      break;
    default: {
      const type = ({ number: 'text', date: 'date', email: 'email', phone: 'tel' } as Record<string, string>)[field.kind] ?? 'text';
      input = <input id={id} class="input" type={type} inputMode={field.kind === 'number' ? 'decimal' : undefined} value={v} onInput={on} />;
    }
  }
  return (
    <div class="field">
      <label for={id}>{field.name}</label>
      {input}
    </div>
  );
}

function RecordDialog({ table, rec, users, onClose, onSaved }: { table: CrmTable; rec: CrmRecord | null; users: UserName[]; onClose: () => void; onSaved: () => void }) {
  const [values, setValues] = useState<Record<string, unknown>>({ ...(rec?.values ?? {}) });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const masked = rec ? table.fields.filter((f) => f.kind === 'phone' && rec.phones[String(f.id)]?.e164?.includes('*')).map((f) => f.id) : [];
  const phones = rec ? table.fields.filter((f) => f.kind === 'phone' && rec.phones[String(f.id)]?.valid) : [];

  async function save(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // Only what changed; masked numbers are never sent back.
      const out: Record<string, unknown> = {};
      for (const f of table.fields) {
        const k = String(f.id);
        if (masked.includes(f.id)) continue;
        if (!rec || values[k] !== rec.values[k]) out[k] = values[k] === '' ? null : values[k] ?? null;
      }
      if (rec) await api.updateCrmRecord(rec.id, out);
      else await api.createCrmRecord(table.id, out);
      onSaved();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }
  async function remove() {
    if (!rec || !confirm(t('crm.deleteConfirm'))) return;
    setBusy(true);
    try {
      await api.deleteCrmRecord(rec.id);
      onSaved();
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  }
  return (
    <Dialog title={rec ? rec.title || t('crm.record') : t('crm.newRecord')} onClose={onClose} busy={busy}>
      <form onSubmit={save} data-testid="crm-record-form">
        {phones.length > 0 && table.call_table && (
          <div class="crm__call-choice" role="group" aria-label={t('crm.call')}>
            {phones.map((f) => (
              <button key={f.id} type="button" class="btn" onClick={() => {
                const req = dialRequest(rec as CrmRecord, f.id);
                if (req) dial(req);
                onClose();
              }}>☎ {f.name}: {(rec as CrmRecord).phones[String(f.id)].e164}</button>
            ))}
          </div>
        )}
        {table.fields.map((f) =>
          masked.includes(f.id) ? (
            <div class="field" key={f.id}><span>{f.name}</span><output>{String(rec?.values[String(f.id)] ?? '')}</output></div>
          ) : (
            <FieldInput key={f.id} field={f} value={values[String(f.id)]} users={users} onChange={(v) => setValues({ ...values, [String(f.id)]: v })} />
          ),
        )}
        {error && <p class="alert alert--error" role="alert">{error}</p>}
        <div class="dialog__actions">
          {rec && <button type="button" class="btn btn--danger" onClick={remove} disabled={busy}>{t('crm.delete')}</button>}
          <button type="submit" class="btn btn--primary" disabled={busy}>{t('common.save')}</button>
        </div>
      </form>
    </Dialog>
  );
}

function NewTableDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (id: number) => void }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  return (
    <Dialog title={t('crm.newTable')} onClose={onClose}>
      <form onSubmit={async (e) => {
        e.preventDefault();
        try {
          onCreated((await api.createCrmTable(name)).id);
        } catch (err) {
          setError(describeError(err));
        }
      }}>
        <div class="field"><label for="tbl-name">{t('crm.tableName')}</label><input id="tbl-name" class="input" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} /></div>
        {error && <p class="alert alert--error" role="alert">{error}</p>}
        <div class="dialog__actions"><button type="submit" class="btn btn--primary">{t('crm.create')}</button></div>
      </form>
    </Dialog>
  );
}

function FieldsDialog({ table, onClose, onChanged }: { table: CrmTable; onClose: () => void; onChanged: () => Promise<void> }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState<FieldKind>('text');
  const [options, setOptions] = useState('');
  const [error, setError] = useState<string | null>(null);
  async function run(f: () => Promise<unknown>) {
    setError(null);
    try {
      await f();
      await onChanged();
    } catch (err) {
      setError(describeError(err));
    }
  }
  return (
    <Dialog title={t('crm.fieldsOf', { table: table.name })} onClose={onClose}>
      <label class="check">
        <input type="checkbox" checked={table.call_table} onChange={(e) => run(() => api.updateCrmTable(table.id, { call_table: (e.target as HTMLInputElement).checked }))} />
        {t('crm.callTable')}
      </label>
      <table class="table">
        <thead><tr><th>{t('crm.fieldName')}</th><th>{t('crm.fieldKind')}</th><th>{t('crm.onCard')}</th><th /></tr></thead>
        <tbody>
          {table.fields.map((f) => (
            <tr key={f.id}>
              <td>{f.name}{f.options.length > 0 && <span class="muted"> ({f.options.join(', ')})</span>}</td>
              <td>{t(`crm.kind.${f.kind}` as MessageKey)}</td>
              <td>
                <input type="checkbox" aria-label={t('crm.onCard')} checked={table.card_field_ids.includes(f.id)}
                  onChange={(e) => run(() => api.updateCrmTable(table.id, {
                    card_field_ids: (e.target as HTMLInputElement).checked ? [...table.card_field_ids, f.id] : table.card_field_ids.filter((x) => x !== f.id),
                  }))} />
              </td>
              <td>{!f.is_title && <button type="button" class="link" onClick={() => confirm(t('crm.deleteFieldConfirm', { field: f.name })) && run(() => api.deleteCrmField(table.id, f.id))}>{t('crm.delete')}</button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="filters" onSubmit={(e) => {
        e.preventDefault();
        void run(() => api.createCrmField(table.id, { name, kind, options: kind === 'select' ? options.split(',').map((s) => s.trim()).filter(Boolean) : [] })).then(() => setName(''));
      }}>
        <label class="field field--inline"><span>{t('crm.fieldName')}</span><input class="input" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} /></label>
        <label class="field field--inline"><span>{t('crm.fieldKind')}</span>
          <select class="input" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value as FieldKind)}>
            {KINDS.map((k) => <option key={k} value={k}>{t(`crm.kind.${k}` as MessageKey)}</option>)}
          </select>
        </label>
        {kind === 'select' && <label class="field field--inline"><span>{t('crm.options')}</span><input class="input" value={options} placeholder="new, won, lost" onInput={(e) => setOptions((e.target as HTMLInputElement).value)} /></label>}
        <button type="submit" class="btn btn--primary">{t('crm.addField')}</button>
      </form>
      {error && <p class="alert alert--error" role="alert">{error}</p>}
    </Dialog>
  );
}

/** Import: file → column mapping with a preview → run with a progress bar → the report. */
export function ImportDialog({ table, onClose }: { table: CrmTable; onClose: () => void }) {
  const [preview, setPreview] = useState<ImportPreview | null>(null);
  const [mapping, setMapping] = useState<(number | null)[]>([]);
  const [skip, setSkip] = useState(false);
  const [status, setStatus] = useState<ImportStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function upload(file: File) {
    setError(null);
    setBusy(true);
    try {
      const p = await api.uploadImport(table.id, file);
      setPreview(p);
      setMapping(p.suggested);
      setStatus(null);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }
  async function run() {
    if (!preview) return;
    setError(null);
    try {
      let s = await api.runImport(preview.id, mapping, skip);
      setStatus(s);
      while (s.state === 'running') {
        await new Promise((r) => setTimeout(r, 400));
        s = await api.importStatus(preview.id);
        setStatus(s);
      }
    } catch (e) {
      setError(describeError(e));
    }
  }
  const running = status?.state === 'running';
  const pct = status && status.rows ? Math.floor((status.done_rows * 100) / status.rows) : 0;
  return (
    <Dialog title={t('crm.importInto', { table: table.name })} onClose={onClose} busy={running}>
      <div class="field">
        <label for="imp-file">{t('crm.importFile')}</label>
        <input id="imp-file" type="file" accept=".csv,text/csv" disabled={busy || running} data-testid="import-file"
          onChange={(e) => {
            const f = (e.target as HTMLInputElement).files?.[0];
            if (f) void upload(f);
          }} />
        <p class="muted">{t('crm.importHint')}</p>
      </div>
      {preview && (
        <>
          <p>{t('crm.importRows', { count: preview.rows })}</p>
          <div class="table-wrap">
            <table class="table" data-testid="import-mapping">
              <thead>
                <tr>
                  {preview.columns.map((c, i) => (
                    <th key={i}>
                      {c}
                      <select class="input" aria-label={t('crm.mapColumn', { column: c })} value={mapping[i] ?? ''}
                        onChange={(e) => {
                          const m = [...mapping];
                          const v = (e.target as HTMLSelectElement).value;
                          m[i] = v ? Number(v) : null;
                          setMapping(m);
                        }}>
                        <option value="">{t('crm.skipColumn')}</option>
                        {table.fields.map((f) => <option key={f.id} value={f.id}>{f.name}</option>)}
                      </select>
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {preview.preview.slice(0, 5).map((row, i) => (
                  <tr key={i}>{preview.columns.map((_, j) => <td key={j}>{row[j] ?? ''}</td>)}</tr>
                ))}
              </tbody>
            </table>
          </div>
          <label class="check">
            <input type="checkbox" checked={skip} onChange={(e) => setSkip((e.target as HTMLInputElement).checked)} />
            {t('crm.skipInvalid')}
          </label>
          <div class="dialog__actions">
            <button type="button" class="btn btn--primary" disabled={running || status?.state === 'done'} data-testid="import-run" onClick={run}>{t('crm.importRun')}</button>
          </div>
        </>
      )}
      {status && (
        <div role="status" data-testid="import-status">
          <progress max={100} value={status.state === 'done' ? 100 : pct} />
          {status.state === 'done' && <p>{t('crm.importDone', { inserted: status.inserted, skipped: status.skipped })}</p>}
          {status.phones_as_text > 0 && <p class="muted">{t('crm.phonesAsText', { count: status.phones_as_text })}</p>}
          {status.state === 'failed' && <p class="alert alert--error">{status.message}</p>}
          {status.errors.length > 0 && (
            <ul class="import-errors">
              {status.errors.slice(0, 100).map((e, i) => <li key={i}>{t('crm.importError', { line: e.line, field: e.field, message: e.message })}</li>)}
            </ul>
          )}
        </div>
      )}
      {error && <p class="alert alert--error" role="alert">{error}</p>}
    </Dialog>
  );
}
