/** Who listened to or downloaded recordings (administrators). */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { AuditEntry } from '../../shared/api/types';
import { t, type MessageKey } from '../../shared/i18n';
import { fmtTime } from './format';

export function AuditCard() {
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
