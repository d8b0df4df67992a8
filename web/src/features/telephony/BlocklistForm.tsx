/** The blocklist (issue #19): caller numbers refused before they ring anyone, with their counts. */
import { useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { BlockedNumber } from '../../shared/api/types';
import { Alert } from '../../shared/ui/Alert';
import { useLoaded } from '../../shared/ui/useLoaded';
import { t } from '../../shared/i18n';
import { formatDateTime } from '../../shared/i18n/format';

export function BlocklistForm() {
  const { data: list, error, act } = useLoaded<BlockedNumber[]>(() => api.blocklist(), []);
  const [number, setNumber] = useState('');
  const [note, setNote] = useState('');
  const [action, setAction] = useState('reject');
  return (
    <div class="card" data-testid="blocklist">
      <h2>{t('bl.title')}</h2>
      <p class="muted">{t('bl.intro')}</p>
      {error && <Alert kind="error">{error}</Alert>}
      {list.length === 0 ? (
        <p>{t('bl.empty')}</p>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th>{t('bl.number')}</th>
              <th>{t('bl.note')}</th>
              <th>{t('bl.action')}</th>
              <th>{t('bl.calls')}</th>
              <th><span class="sr-only">{t('common.actions')}</span></th>
            </tr>
          </thead>
          <tbody>
            {list.map((b) => (
              <tr key={b.id} data-testid="bl-row">
                <td class="mono">{b.number}</td>
                <td>{b.note}</td>
                <td data-testid="bl-row-action">{b.action === 'message' ? t('bl.actionMessage') : t('bl.actionReject')}</td>
                <td>
                  {b.blocked_calls}
                  {b.last_blocked_at && <span class="muted"> · {formatDateTime(b.last_blocked_at)}</span>}
                </td>
                <td class="table__actions">
                  <button type="button" class="btn btn--small btn--danger-outline" aria-label={`${t('bl.unblock')}: ${b.number}`}
                    onClick={() => void act(() => api.unblockNumber(b.id))}>
                    {t('bl.unblock')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        class="phone__row"
        onSubmit={async (e) => {
          e.preventDefault();
          if (await act(() => api.blockNumber(number, note, action))) {
            setNumber('');
            setNote('');
          }
        }}
      >
        <input class="input" aria-label={t('bl.number')} placeholder={t('bl.number')} data-testid="bl-number" inputMode="tel" value={number}
          onInput={(e) => setNumber((e.target as HTMLInputElement).value)} />
        <input class="input" aria-label={t('bl.note')} placeholder={t('bl.note')} data-testid="bl-note" value={note}
          onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
        <select class="input" aria-label={t('bl.action')} data-testid="bl-action" value={action}
          onChange={(e) => setAction((e.target as HTMLSelectElement).value)}>
          <option value="reject">{t('bl.actionReject')}</option>
          <option value="message">{t('bl.actionMessage')}</option>
        </select>
        <button type="submit" class="btn" data-testid="bl-add" disabled={!number.trim()}>{t('bl.block')}</button>
      </form>
    </div>
  );
}
