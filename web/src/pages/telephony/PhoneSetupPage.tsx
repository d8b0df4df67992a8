import { useEffect, useState } from 'preact/hooks';
import { api, isApiError } from '../../api/client';
import type { PhoneSetup } from '../../api/types';
import { Alert } from '../../components/Alert';
import { describeError } from '../../errors';
import { t } from '../../i18n';

/** "Set up your phone": the values a desk phone or softphone (Zoiper, Linphone) needs. */
export function PhoneSetupPage() {
  const [setup, setSetup] = useState<PhoneSetup | null>(null);
  const [password, setPassword] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.phoneSetup().then(setSetup, (e) => setError(isApiError(e) ? e.message : describeError(e)));
  }, []);
  if (!setup) return <section class="page">{error ? <Alert kind="error">{error}</Alert> : <p class="loading">{t('app.loading')}</p>}</section>;
  const row = (label: string, value: string, testid?: string) => (
    <>
      <dt>{label}</dt>
      <dd><code data-testid={testid}>{value}</code></dd>
    </>
  );
  return (
    <section class="page">
      <h1>{t('phone.desk.setup')}</h1>
      {setup.browser_calls && <Alert kind="info">{t('setup.browserNote')}</Alert>}
      <div class="card">
        <p>{t('setup.intro')}</p>
        <dl class="kv">
          {row(t('setup.username'), setup.sip_login, 'setup-login')}
          {row(t('setup.domain'), setup.domain)}
          {row(t('setup.server'), `${setup.server}:${setup.port}`)}
          {row(t('setup.transport'), setup.transports.join(' / ').toUpperCase())}
          {row(t('tel.extension'), setup.extension)}
          {password && row(t('tel.password'), password, 'setup-password')}
        </dl>
        <p>{t('setup.apps')}</p>
        {error && <Alert kind="error">{error}</Alert>}
        <button
          type="button"
          class="btn btn--primary"
          data-testid="setup-new-password"
          onClick={async () => {
            try {
              setPassword((await api.newPhoneSetupPassword()).sip_password);
            } catch (e) {
              setError(describeError(e));
            }
          }}
        >
          {t('setup.newPassword')}
        </button>
        {password && <p role="status">{t('setup.passwordOnce')}</p>}
      </div>
    </section>
  );
}
