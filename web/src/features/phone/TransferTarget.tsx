/**
 * Where a transfer or a consultation goes (issue #18): a typed extension or number, a colleague
 * picked from the list (with their live state), or a CRM client found by name — the client's phone
 * field is sent as a reference (`crm<record>x<field>`), which the server resolves, so users who see
 * numbers masked can transfer to a client too.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { Colleague, CrmRecord, CrmTable } from '../../shared/api/types';
import { t, type MessageKey } from '../../shared/i18n';

export interface Target {
  /** What the field shows. */
  text: string;
  /** A CRM client's phone field, when one was picked. */
  ref?: string;
}

/** A colleague as a transfer target: offline (no phone), or their agent state. */
function colleagueState(p: Colleague): string {
  if (!p.online) return 'offline';
  return ['available', 'break', 'dnd', 'wrapup'].includes(p.state) ? p.state : 'available';
}

interface Client {
  ref: string;
  label: string;
}

/** The clients of the tenant's call table (or its first table with a phone field) matching `q`. */
async function findClients(q: string): Promise<Client[]> {
  const tables: CrmTable[] = await api.crmTables();
  const phones = (tb: CrmTable) => tb.fields.filter((f) => f.kind === 'phone');
  const table = tables.find((tb) => tb.call_table && phones(tb).length) ?? tables.find((tb) => phones(tb).length);
  if (!table) return [];
  const page = await api.crmRecords(table.id, { q, per_page: 5 });
  return page.records.flatMap((r: CrmRecord) =>
    phones(table)
      .filter((f) => r.values[String(f.id)])
      .map((f) => ({ ref: `crm${r.id}x${f.id}`, label: `${r.title || `#${r.id}`} · ${String(r.values[String(f.id)])}` })),
  );
}

export function TransferTarget({ value, onChange, colleagues, onFocus }: {
  value: Target;
  onChange: (v: Target) => void;
  colleagues: Colleague[];
  onFocus: () => void;
}) {
  const [clients, setClients] = useState<Client[]>([]);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  // Letters mean a name: look the clients up (debounced); digits are a number or an extension.
  useEffect(() => {
    clearTimeout(timer.current);
    const q = value.text.trim();
    if (value.ref || q.length < 2 || !/\p{L}/u.test(q)) {
      setClients([]);
      return;
    }
    timer.current = setTimeout(() => void findClients(q).then(setClients, () => setClients([])), 250);
    return () => clearTimeout(timer.current);
  }, [value.text, value.ref]);
  return (
    <>
      <input
        class="input"
        aria-label={t('phone.transferTo')}
        placeholder={t('phone.transferTo')}
        value={value.text}
        list="phone-colleagues"
        data-testid="phone-transfer-target"
        onFocus={onFocus}
        onInput={(e) => onChange({ text: (e.target as HTMLInputElement).value })}
      />
      <datalist id="phone-colleagues">
        {colleagues.map((p) => (
          <option value={p.extension} key={p.user_id}>
            {`${p.name} · ${t(`phone.colleague.${colleagueState(p)}` as MessageKey)}`}
          </option>
        ))}
      </datalist>
      {clients.length > 0 && (
        <ul class="phone__clients" aria-label={t('phone.transferClients')}>
          {clients.map((c) => (
            <li key={c.ref}>
              <button type="button" class="btn btn--quiet" data-testid="phone-transfer-client"
                onClick={() => {
                  setClients([]);
                  onChange({ text: c.label, ref: c.ref });
                }}>
                {c.label}
              </button>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
