/** Turning telephony off (the account name typed to confirm). */
import { useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import { Alert } from '../../shared/ui/Alert';
import { describeError } from '../../shared/api/errors';
import { t } from '../../shared/i18n';

export function DangerZone({ account, onOff }: { account: string; onOff: () => Promise<void> }) {
  const [typed, setTyped] = useState('');
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <div class="card card--danger">
      <h2>{t('tel.offTitle')}</h2>
      {!open ? (
        <button type="button" class="btn btn--danger-outline" data-testid="tel-disable" onClick={() => setOpen(true)}>{t('tel.disable')}</button>
      ) : (
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            try {
              await api.disableTelephony(typed);
              await onOff();
            } catch (err) {
              setError(describeError(err));
            }
          }}
        >
          <p>{t('tel.offLoses')}</p>
          <ul>
            <li>{t('tel.loseTrunks')}</li>
            <li>{t('tel.loseUsers')}</li>
            <li>{t('tel.loseRules')}</li>
            <li>{t('tel.loseRecords')}</li>
          </ul>
          <label class="field">
            <span>{t('tel.typeAccount', { account })}</span>
            <input class="input" value={typed} data-testid="tel-confirm-account" onInput={(e) => setTyped((e.target as HTMLInputElement).value)} />
          </label>
          {error && <Alert kind="error">{error}</Alert>}
          <button type="submit" class="btn btn--danger" disabled={typed.trim() !== account}>{t('tel.disableConfirm')}</button>{' '}
          <button type="button" class="btn" onClick={() => setOpen(false)}>{t('common.cancel')}</button>
        </form>
      )}
    </div>
  );
}
