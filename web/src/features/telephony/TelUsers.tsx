/** The telephony users table: add, edit, new SIP password (shown once in the secret box). */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { TelUser, User } from '../../shared/api/types';
import type { components } from '../../shared/api/schema';
import { formatDateTime } from '../../shared/i18n/format';
import { VERDICT_KEY, ms, pct } from '../phone/preflight/Preflight';

type PreflightRow = components['schemas']['PreflightRow'];

/** An agent's last preflight: the verdict, the figures and when (issue #22, item 5). */
function PreflightCell({ p }: { p: PreflightRow | undefined }) {
  if (!p) return <span class="muted">{t('tel.preflightNone')}</span>;
  const verdict = p.verdict as keyof typeof VERDICT_KEY;
  return (
    <span data-verdict={p.verdict}>
      <strong>{VERDICT_KEY[verdict] ? t(VERDICT_KEY[verdict]) : p.verdict}</strong>
      {' · '}{ms(p.rtt_ms)} · {pct(p.loss_pct)} · {ms(p.jitter_ms)}
      <span class="muted"> · {formatDateTime(p.tested_at)}</span>
    </span>
  );
}
import { Alert } from '../../shared/ui/Alert';
import { useLoaded } from '../../shared/ui/useLoaded';
import { t, type MessageKey } from '../../shared/i18n';

export function SecretBox({ user, onClose }: { user: TelUser; onClose: () => void }) {
  return (
    <div class="card card--highlight" role="status" data-testid="tel-secret">
      <p>{t('tel.secretOnce', { name: user.name })}</p>
      <dl class="kv">
        <dt>{t('tel.sipLogin')}</dt>
        <dd><code>{user.sip_login}</code></dd>
        <dt>{t('tel.password')}</dt>
        <dd><code data-testid="tel-secret-password">{user.sip_password}</code></dd>
      </dl>
      <button type="button" class="btn" onClick={onClose}>{t('common.close')}</button>
    </div>
  );
}

export function TelUsers({ onSecret }: { onSecret: (u: TelUser) => void }) {
  const { data: [list, users, preflights], error, load, act } = useLoaded<[TelUser[], User[], PreflightRow[]]>(
    // The preflight column is a bonus: the table shows without it.
    () => Promise.all([api.listTelUsers(), api.listUsers(), api.preflightResults().catch(() => [])]),
    [[], [], []],
  );
  const [pick, setPick] = useState('');
  const [ext, setExt] = useState('');
  useEffect(() => {
    // The "Phone" column follows registrations without a reload.
    const timer = setInterval(() => void load(), 15000);
    return () => clearInterval(timer);
  }, []);

  const free = users.filter((u) => !list.some((x) => x.user_id === u.id));
  return (
    <div class="card">
      <h2>{t('tel.users')}</h2>
      {error && <Alert kind="error">{error}</Alert>}
      <table class="table" data-testid="tel-users">
        <thead>
          <tr>
            <th>{t('tel.extension')}</th>
            <th>{t('tel.user')}</th>
            <th>{t('tel.sipLogin')}</th>
            <th>{t('tel.acceptIncoming')}</th>
            <th>{t('tel.browserCalls')}</th>
            <th>{t('tel.international')}</th>
            <th>{t('tel.mobile')}</th>
            <th>{t('tel.source')}</th>
            <th>{t('tel.online')}</th>
            <th>{t('tel.agentState')}</th>
            <th title={t('tel.preflightHint')}>{t('tel.preflight')}</th>
            <th>{t('common.actions')}</th>
          </tr>
        </thead>
        <tbody>
          {list.map((u) => (
            <tr key={u.user_id}>
              <td>
                <button type="button" class="btn btn--quiet" title={t('tel.changeExtension')} onClick={() => {
                  const next = prompt(t('tel.changeExtensionPrompt', { name: u.name }), u.extension);
                  if (next && next.trim() !== u.extension) {
                    void act(async () => {
                      const r = await api.updateTelUser(u.user_id, { extension: next.trim() });
                      if (r.sip_password) onSecret(r);
                    });
                  }
                }}>{u.extension}</button>
              </td>
              <td>{u.name}</td>
              <td><code>{u.sip_login}</code></td>
              <td>
                <input type="checkbox" checked={u.accept_incoming} aria-label={t('tel.acceptIncoming')}
                  onChange={() => act(() => api.updateTelUser(u.user_id, { accept_incoming: !u.accept_incoming }))} />
              </td>
              <td>
                <input type="checkbox" checked={u.browser_calls} aria-label={t('tel.browserCalls')}
                  onChange={() => act(() => api.updateTelUser(u.user_id, { browser_calls: !u.browser_calls }))} />
              </td>
              <td>
                <input type="checkbox" checked={u.international} aria-label={t('tel.international')} data-testid={`tel-international-${u.user_id}`}
                  onChange={() => act(() => api.updateTelUser(u.user_id, { international: !u.international }))} />
              </td>
              <td>
                <button type="button" class="btn btn--quiet" title={t('tel.mobileHint')} data-testid={`tel-mobile-${u.user_id}`} onClick={() => {
                  const next = prompt(t('tel.mobilePrompt', { name: u.name }), u.mobile_number ?? '');
                  if (next !== null && next.trim() !== (u.mobile_number ?? '')) {
                    void act(() => api.updateTelUser(u.user_id, { mobile_number: next.trim() }));
                  }
                }}>{u.mobile_number ?? '—'}</button>
              </td>
              <td>{u.source === 'group' ? t('tel.viaGroup') : t('tel.byHand')}</td>
              <td>{u.online.browser ? `● ${t('tel.onlineBrowser')}` : u.online.desk ? `● ${t('tel.onlineDesk')}` : `○ ${t('tel.offline')}`}</td>
              <td data-testid={`tel-state-${u.user_id}`}>{t(`tel.state.${u.state}` as MessageKey)}</td>
              <td data-testid={`tel-preflight-${u.user_id}`}>
                <PreflightCell p={preflights.find((p) => p.user_id === u.user_id)} />
              </td>
              <td class="row-actions">
                <button type="button" class="btn btn--quiet" onClick={() => act(async () => onSecret(await api.newTelPassword(u.user_id)))}>
                  {t('tel.newPassword')}
                </button>
                <button type="button" class="btn btn--quiet" onClick={() => confirm(t('tel.removeConfirm', { name: u.name })) && act(() => api.deleteTelUser(u.user_id))}>
                  {t('common.delete')}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (!pick) return;
          void act(async () => {
            onSecret(await api.createTelUser({ user_id: Number(pick), extension: ext.trim() || undefined }));
            setPick('');
            setExt('');
          });
        }}
      >
        <select class="input" value={pick} aria-label={t('tel.user')} data-testid="tel-add-user" onChange={(e) => setPick((e.target as HTMLSelectElement).value)}>
          <option value="">{t('tel.pickUser')}</option>
          {free.map((u) => (
            <option value={String(u.id)}>{u.name} ({u.login})</option>
          ))}
        </select>
        <input class="input" value={ext} placeholder={t('tel.extensionAuto')} aria-label={t('tel.extension')} inputMode="numeric"
          onInput={(e) => setExt((e.target as HTMLInputElement).value)} />
        <button type="submit" class="btn btn--primary" disabled={!pick}>{t('tel.add')}</button>
      </form>
    </div>
  );
}
