/** Create or edit one record. */
import { useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { CrmRecord, CrmTable, UserName } from '../../shared/api/types';
import { Dialog } from '../../shared/ui/Dialog';
import { describeError } from '../../shared/api/errors';
import { t } from '../../shared/i18n';
import { dial, dialRequest } from './dial';
import { FieldInput } from './fields';
import { ClientCalls } from './ClientCalls';

export function RecordDialog({ table, rec, users, onClose, onSaved }: { table: CrmTable; rec: CrmRecord | null; users: UserName[]; onClose: () => void; onSaved: () => void }) {
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
        {rec && <ClientCalls rec={rec} redial={table.call_table && phones.length > 0 ? dialRequest(rec, phones[0].id) : null} />}
        <div class="dialog__actions">
          {rec && <button type="button" class="btn btn--danger" onClick={remove} disabled={busy}>{t('crm.delete')}</button>}
          <button type="submit" class="btn btn--primary" disabled={busy}>{t('common.save')}</button>
        </div>
      </form>
    </Dialog>
  );
}
