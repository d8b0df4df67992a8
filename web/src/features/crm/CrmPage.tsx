import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiClient } from '../../shared/api/client';
import type { CrmField, CrmFilter, CrmRecord, CrmTable, RecordPage, UserName } from '../../shared/api/types';
import { describeError } from '../../shared/api/errors';
import { t, type MessageKey } from '../../shared/i18n';
import { ImportDialog } from './ImportDialog';
import { RecordDialog } from './RecordDialog';
import { FieldsDialog, NewTableDialog } from './TableDialogs';
import { FilterAdder, Handset, display } from './fields';

const PER_PAGE = 50;
/** The table to show, from `#/crm?table=ID`. */
function tableFromHash(): number | null {
  const q = location.hash.split('?')[1];
  const v = q ? new URLSearchParams(q).get('table') : null;
  return v ? Number(v) : null;
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

  // Each page's `next` (trail[p - 1] starts page p + 1): the pager moves one page at a time, so
  // every page but the first is asked for after the previous one's last record, at the same cost
  // however deep it is (an offset page costs every row before it).
  const trail = useRef<(string | undefined)[]>([]);
  async function load() {
    if (!table) return;
    try {
      const after = query.page > 1 ? trail.current[query.page - 2] : undefined;
      const res = await api.crmRecords(table.id, { ...query, per_page: PER_PAGE, after });
      trail.current[query.page - 1] = res.next ?? undefined;
      setPage(res);
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
      <div class="tabs">
        <div class="tabs__list" role="tablist" aria-label={t('crm.title')}>
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
        </div>
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
                <button type="button" class="btn" disabled={page.total_capped ? !page.next : query.page >= pages}
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
