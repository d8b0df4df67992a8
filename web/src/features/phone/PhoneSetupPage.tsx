import QRCode from 'qrcode';
import { useEffect, useState } from 'preact/hooks';
import { api, isApiError } from '../../shared/api/client';
import type { PhoneSetup } from '../../shared/api/types';
import { Alert } from '../../shared/ui/Alert';
import { describeError } from '../../shared/api/errors';
import { t } from '../../shared/i18n';

/** "Set up your phone": the values a desk phone or softphone (Zoiper, Linphone) needs. */
export function PhoneSetupPage() {
  const [setup, setSetup] = useState<PhoneSetup | null>(null);
  const [password, setPassword] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [qr, setQr] = useState<string | null>(null);
  useEffect(() => {
    if (!setup || !password) return setQr(null);
    // The account as a SIP URI with its password, for softphones that scan one.
    const uri = `sip:${setup.sip_login}:${password}@${setup.server}:${setup.port};transport=udp`;
    QRCode.toDataURL(uri, { margin: 1, width: 220 }).then(setQr, () => setQr(null));
  }, [setup, password]);
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
        {qr && <img src={qr} alt={t('setup.qr')} data-testid="setup-qr" width={220} height={220} />}
      </div>
    </section>
  );
}
