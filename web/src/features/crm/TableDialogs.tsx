/** Tables and their fields: a new table, and adding or removing fields (administrators). */
import { useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { CrmTable, FieldKind } from '../../shared/api/types';
import { Dialog } from '../../shared/ui/Dialog';
import { describeError } from '../../shared/api/errors';
import { t, type MessageKey } from '../../shared/i18n';
import { KINDS } from './fields';

export function NewTableDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (id: number) => void }) {
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

export function FieldsDialog({ table, onClose, onChanged }: { table: CrmTable; onClose: () => void; onChanged: () => Promise<void> }) {
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
