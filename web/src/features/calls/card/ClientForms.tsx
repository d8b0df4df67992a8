import { useEffect, useState } from 'preact/hooks';
import { api } from '../../../shared/api/client';
import type { CrmRecord, CrmTable } from '../../../shared/api/types';
import { describeError } from '../../../shared/api/errors';
import { t } from '../../../shared/i18n';

/** A new client from the call's number (the number goes into the table's first phone field). */
export function CreateClient({ callId, tables, onDone }: { callId: string; tables: CrmTable[]; onDone: (r: CrmRecord) => void }) {
  const [table, setTable] = useState<number>(tables[0]?.id ?? 0);
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const tbl = tables.find((x) => x.id === table);
  const title = tbl?.fields.find((f) => f.is_title);
  return (
    <form onSubmit={async (e) => {
      e.preventDefault();
      if (!tbl) return;
      try {
        onDone(await api.clientFromCall(callId, tbl.id, title && name ? { [String(title.id)]: name } : {}));
      } catch (err) {
        setError(describeError(err));
      }
    }}>
      {tables.length > 1 && (
        <select class="input" aria-label={t('card.table')} value={table} onChange={(e) => setTable(Number((e.target as HTMLSelectElement).value))}>
          {tables.map((x) => <option key={x.id} value={x.id}>{x.name}</option>)}
        </select>
      )}
      <input class="input" autoFocus placeholder={title?.name ?? ''} aria-label={title?.name ?? t('card.name')} value={name} data-testid="card-name"
        onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      <p class="muted">{t('card.numberFilled')}</p>
      <button type="submit" class="btn btn--primary">{t('card.createSave')}</button>
      {error && <p class="alert alert--error">{error}</p>}
    </form>
  );
}

/** Links the call to an existing client found by search. */
export function AttachClient({ callId, tables, onDone }: { callId: string; tables: CrmTable[]; onDone: (r: CrmRecord) => void }) {
  const [q, setQ] = useState('');
  const [found, setFound] = useState<CrmRecord[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (q.trim().length < 2) return;
    const h = setTimeout(async () => {
      try {
        const pages = await Promise.all(tables.map((x) => api.crmRecords(x.id, { q: q.trim(), per_page: 8 })));
        setFound(pages.flatMap((p) => p.records));
      } catch (err) {
        setError(describeError(err));
      }
    }, 250);
    return () => clearTimeout(h);
  }, [q]);
  return (
    <div>
      <input class="input" type="search" autoFocus placeholder={t('card.searchClient')} aria-label={t('card.searchClient')} value={q}
        onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
      <ul class="callcard__list">
        {found.map((r) => (
          <li key={r.id}>
            <button type="button" class="link" onClick={async () => {
              try {
                onDone(await api.attachCallToRecord(callId, r.id));
              } catch (err) {
                setError(describeError(err));
              }
            }}>{r.title || `#${r.id}`}</button>
          </li>
        ))}
      </ul>
      {error && <p class="alert alert--error">{error}</p>}
    </div>
  );
}
