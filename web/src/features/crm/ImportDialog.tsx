/** Import of a CSV file into a table: column mapping, progress, the report of bad rows. */
import { useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { CrmTable, ImportPreview, ImportStatus } from '../../shared/api/types';
import { Dialog } from '../../shared/ui/Dialog';
import { describeError } from '../../shared/api/errors';
import { t } from '../../shared/i18n';

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
