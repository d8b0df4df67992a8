/** Integrations → API keys: who made each key, what it may do, where and when it was last used; new key, revoke. */
import { useState } from 'preact/hooks';
import type { ApiKey } from '../../shared/api/types';
import { t } from '../../shared/i18n';
import { Alert } from '../../shared/ui/Alert';
import { ConfirmDialog } from '../../shared/ui/ConfirmDialog';
import { Icon } from '../../shared/ui/Icon';
import { useLoaded } from '../../shared/ui/useLoaded';
import { api } from '../../shared/api/client';
import { NewKeyDialog } from './NewKeyDialog';
import { when } from './parts';

export type KeyStatus = 'active' | 'expired' | 'revoked';

export function keyStatus(k: ApiKey, now = Date.now()): KeyStatus {
  if (k.revoked_at) return 'revoked';
  if (k.expires_at && Date.parse(k.expires_at) <= now) return 'expired';
  return 'active';
}

function KeyStatusBadge({ status }: { status: KeyStatus }) {
  return (
    <span class={'badge ' + (status === 'active' ? 'badge--on' : 'badge--off')} data-testid="key-status">
      <Icon name={status === 'active' ? 'dot' : 'ban'} size={13} /> {t(`integ.keys.status.${status}`)}
    </span>
  );
}

export function ApiKeys({ isAdministrator }: { isAdministrator: boolean }) {
  const { data: keys, error, load } = useLoaded<ApiKey[] | null>(() => api.apiKeys(), null);
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);

  return (
    <section class="card integ-section" aria-labelledby="integ-keys-title" data-testid="api-keys">
      <div class="page__head">
        <h2 id="integ-keys-title">{t('integ.keys.title')}</h2>
        <button type="button" class="btn btn--primary" data-testid="key-new" onClick={() => setCreating(true)}>
          + {t('integ.keys.new')}
        </button>
      </div>
      <p class="muted">{t('integ.keys.intro')}</p>
      {error && <Alert kind="error">{error}</Alert>}
      {!keys && !error && <p aria-busy="true">{t('app.loading')}</p>}
      {keys && keys.length === 0 && <p>{t('integ.keys.empty')}</p>}
      {keys && keys.length > 0 && (
        <div class="table-wrap">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">{t('integ.keys.name')}</th>
                <th scope="col">{t('integ.keys.prefix')}</th>
                <th scope="col">{t('integ.keys.scopes')}</th>
                <th scope="col">{t('integ.keys.createdBy')}</th>
                <th scope="col">{t('integ.keys.created')}</th>
                <th scope="col">{t('integ.keys.expires')}</th>
                <th scope="col">{t('integ.keys.lastUsed')}</th>
                <th scope="col">{t('integ.keys.status')}</th>
                <th scope="col"><span class="sr-only">{t('common.actions')}</span></th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => {
                const status = keyStatus(k);
                return (
                  <tr key={k.id} data-testid="key-row" class={status === 'active' ? undefined : 'row--disabled'}>
                    <td>{k.name}</td>
                    <td><code>{k.prefix}</code></td>
                    <td>{k.scopes.map((s) => <code key={s} class="integ-tag">{s}</code>)}</td>
                    <td>{k.created_by ?? '—'}</td>
                    <td>{when(k.created_at)}</td>
                    <td>{k.expires_at ? when(k.expires_at) : t('integ.keys.never')}</td>
                    <td>
                      {k.last_used_at ? when(k.last_used_at) : t('integ.keys.notUsed')}
                      {k.last_used_ip && <div class="muted small">{k.last_used_ip}</div>}
                    </td>
                    <td><KeyStatusBadge status={status} /></td>
                    <td class="table__actions">
                      {status !== 'revoked' && (
                        <button type="button" class="btn btn--small btn--danger-outline" aria-label={`${t('integ.keys.revoke')}: ${k.name}`}
                          onClick={() => setRevoking(k)}>
                          {t('integ.keys.revoke')}
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {creating && <NewKeyDialog isAdministrator={isAdministrator} onCreated={() => void load()} onClose={() => setCreating(false)} />}
      {revoking && (
        <ConfirmDialog
          title={t('integ.keys.revokeTitle', { name: revoking.name })}
          message={t('integ.keys.revokeConfirm', { name: revoking.name, prefix: revoking.prefix })}
          confirmLabel={t('integ.keys.revoke')}
          busyLabel={t('integ.keys.revoking')}
          danger
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            await api.revokeApiKey(revoking.id);
            setRevoking(null);
            await load();
          }}
        />
      )}
    </section>
  );
}
