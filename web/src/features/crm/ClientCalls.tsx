/**
 * The client's call history on a CRM record (issue #18): every call linked to the record that the
 * viewer may see (in and out, who handled it, result, note), its recording in a player, and redial
 * (the record's first phone field, by reference when the number is masked).
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { CallRecord, CrmRecord } from '../../shared/api/types';
import { describeError } from '../../shared/api/errors';
import { t, type MessageKey } from '../../shared/i18n';
import { fmtSecs, fmtTime } from '../calls/format';
import { dial, type DialRequest } from './dial';

export function ClientCalls({ rec, redial }: { rec: CrmRecord; redial: DialRequest | null }) {
  const [calls, setCalls] = useState<CallRecord[] | null>(null);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.calls({ record_id: rec.id, per_page: 20 }).then(
      (p) => {
        setCalls(p.items);
        setTotal(p.total);
      },
      (e) => setError(describeError(e)),
    );
  }, [rec.id]);
  return (
    <section class="crm__history" aria-label={t('crm.history')} data-testid="client-calls">
      <h3>
        {t('crm.history')}
        {redial && (
          <button type="button" class="btn btn--quiet" data-testid="client-redial" onClick={() => dial(redial)}>
            ☎ {t('crm.redial')}
          </button>
        )}
      </h3>
      {error && <p class="alert alert--error">{error}</p>}
      {calls && calls.length === 0 && <p class="muted">{t('crm.historyEmpty')}</p>}
      {calls && calls.length > 0 && (
        <ul class="crm__calls">
          {calls.map((c) => (
            <li key={c.id} data-testid={`client-call-${c.id}`}>
              <span>{fmtTime(c.started_at)}</span> · <span>{t(`calls.dir.${c.direction}` as MessageKey)}</span> ·{' '}
              <span>{c.user_name ?? '—'}</span> · <span>{c.result ? t(`calls.res.${c.result}` as MessageKey) : t('calls.inProgress')}</span>
              {c.duration_secs !== null && c.duration_secs !== undefined && <> · <span>{fmtSecs(c.duration_secs)}</span></>}
              {c.note && <p class="crm__call-note">{c.note}</p>}
              {c.recording?.state === 'stored' && <audio controls preload="none" src={`/api/calls/${c.id}/recording`} />}
            </li>
          ))}
        </ul>
      )}
      {calls && total > calls.length && <p class="muted">{t('crm.historyMore', { n: total - calls.length })}</p>}
    </section>
  );
}
