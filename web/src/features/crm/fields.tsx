/** Showing, entering and filtering the values of CRM fields; the handset that dials a phone value. */
import { useState } from 'preact/hooks';
import type { CrmField, CrmFilter, CrmRecord, FieldKind, FilterOp, UserName } from '../../shared/api/types';
import { t, type MessageKey } from '../../shared/i18n';
import { formatDay } from '../../shared/i18n/format';
import { dial, dialRequest } from './dial';

export const KINDS: FieldKind[] = ['text', 'long_text', 'number', 'date', 'select', 'phone', 'email', 'user'];
const OPS: FilterOp[] = ['contains', 'equals', 'greater', 'less', 'empty', 'not_empty'];

/** A value as text for the grid. */
export function display(field: CrmField, v: unknown, users: UserName[]): string {
  if (v === undefined || v === null) return '';
  if (field.kind === 'user') return users.find((u) => u.id === v)?.name ?? `#${String(v)}`;
  if (field.kind === 'date' && typeof v === 'string') return formatDay(v);
  return String(v);
}

export function Handset({ rec, field }: { rec: CrmRecord; field: CrmField }) {
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

export function FilterAdder({ fields, onAdd }: { fields: CrmField[]; onAdd: (f: CrmFilter) => void }) {
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

export function FieldInput({ field, value, users, onChange }: { field: CrmField; value: unknown; users: UserName[]; onChange: (v: unknown) => void }) {
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
