import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { SecurityAuditEntry } from '../../shared/api/types';
import { Alert } from '../../shared/ui/Alert';
import { explain, say, type Msg } from '../../shared/api/errors';
import { t } from '../../shared/i18n';
import { formatDateTime } from '../../shared/i18n/format';
import { TwoFactorCard } from './TwoFactorCard';

const PAGE = 50;

/** A compact, readable form of a before/after value: `key: value` pairs, arrays joined. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return v.map(describe).join(', ');
  return Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== null && x !== undefined && x !== '')
    .map(([k, x]) => `${k}: ${Array.isArray(x) ? `[${x.map(describe).join(', ')}]` : describe(x)}`)
    .join('; ');
}

/** Security: the admin's two-factor sign-in and, for administrators, the tenant's requirement and
 * the audit log (who changed what, when, from where, before → after). */
export function AuditPage({ isAdministrator = true }: { isAdministrator?: boolean }) {
  const [entries, setEntries] = useState<SecurityAuditEntry[] | null>(null);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<Msg | null>(null);

  async function load(beforeId?: number) {
    setError(null);
    try {
      const page = await api.securityAudit(beforeId, PAGE);
      setEntries((old) => (beforeId && old ? [...old, ...page] : page));
      setMore(page.length === PAGE);
    } catch (e) {
      setError(explain(e));
    }
  }
  useEffect(() => {
    if (isAdministrator) void load();
  }, [isAdministrator]);

  return (
    <section class="page">
      <div class="page__head">
        <h1>{t('nav.audit')}</h1>
      </div>
      <TwoFactorCard isAdministrator={isAdministrator} />
      {!isAdministrator ? null : (<>
      <h2>{t('audit.title')}</h2>
      <p class="muted">{t('audit.intro')}</p>
      {error && <Alert kind="error">{say(error)}</Alert>}
      {!entries && !error && <p aria-busy="true">{t('app.loading')}</p>}
      {entries && entries.length === 0 && <p>{t('audit.empty')}</p>}
      {entries && entries.length > 0 && (
        <table class="table">
          <thead>
            <tr>
              <th>{t('audit.when')}</th>
              <th>{t('audit.who')}</th>
              <th>{t('audit.from')}</th>
              <th>{t('audit.action')}</th>
              <th>{t('audit.before')}</th>
              <th>{t('audit.after')}</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id}>
                <td>{formatDateTime(e.at, { seconds: true })}</td>
                <td>{e.actor_login ?? '—'}</td>
                <td>{e.ip ?? '—'}</td>
                <td>
                  <code>{e.action}</code> {e.target}
                </td>
                <td>{describe(e.before)}</td>
                <td>{describe(e.after)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {more && entries && (
        <button type="button" class="btn" onClick={() => load(entries[entries.length - 1]?.id)}>
          {t('audit.more')}
        </button>
      )}
      </>)}
    </section>
  );
}
