import QRCode from 'qrcode';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { TwoFactorStatus } from '../../shared/api/types';
import { Alert } from '../../shared/ui/Alert';
import { Field } from '../../shared/ui/Field';
import { explain, say, type Msg } from '../../shared/api/errors';
import { t } from '../../shared/i18n';

type Step = { kind: 'idle' } | { kind: 'scan'; secret: string; qr: string | null } | { kind: 'codes'; codes: string[] };

/** The signed-in admin's two-factor sign-in (set up with an app, recovery codes once), and, for
 * administrators, the tenant's requirement of it. */
export function TwoFactorCard({ isAdministrator }: { isAdministrator: boolean }) {
  const [status, setStatus] = useState<TwoFactorStatus | null>(null);
  const [step, setStep] = useState<Step>({ kind: 'idle' });
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<Msg | null>(null);
  const [busy, setBusy] = useState(false);

  const load = () => api.twoFactorStatus().then(setStatus, (e) => setError(explain(e)));
  useEffect(() => {
    void load();
  }, []);

  async function run(f: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await f();
    } catch (e) {
      setError(explain(e));
    }
    setBusy(false);
  }

  const setup = () =>
    run(async () => {
      const s = await api.twoFactorSetup();
      const qr = await QRCode.toDataURL(s.otpauth_url, { margin: 1, width: 200 }).catch(() => null);
      setStep({ kind: 'scan', secret: s.secret, qr });
    });
  const confirm = (e: Event) => {
    e.preventDefault();
    return run(async () => {
      const r = await api.twoFactorEnable(code.trim());
      setCode('');
      setStep({ kind: 'codes', codes: r.recovery_codes });
      await load();
    });
  };
  const turnOff = (e: Event) => {
    e.preventDefault();
    return run(async () => {
      await api.twoFactorDisable(password);
      setPassword('');
      setStep({ kind: 'idle' });
      await load();
    });
  };
  const setPolicy = (on: boolean) =>
    run(async () => {
      await api.setTwoFactorPolicy(on);
      await load();
    });

  return (
    <section class="card" aria-labelledby="twofa-title">
      <h2 id="twofa-title">{t('twofa.title')}</h2>
      {error && <Alert kind="error">{say(error)}</Alert>}
      {!status && !error && <p aria-busy="true">{t('app.loading')}</p>}
      {status && (
        <>
          <p>{status.enabled ? t('twofa.on', { count: status.recovery_codes_left }) : t('twofa.off')}</p>
          {status.required && !status.enabled && <Alert kind="info">{t('twofa.required')}</Alert>}
          {!status.enabled && step.kind === 'idle' && (
            <button type="button" class="btn btn--primary" onClick={setup} disabled={busy}>{t('twofa.setup')}</button>
          )}
          {step.kind === 'scan' && (
            <form onSubmit={confirm}>
              <p>{t('twofa.scan')}</p>
              {step.qr && <img src={step.qr} alt="" width={200} height={200} />}
              <p>
                {t('twofa.key')}: <code>{step.secret}</code>
              </p>
              <Field id="twofa-code" label={t('login.code')} value={code} onInput={setCode} autoComplete="one-time-code" />
              <button type="submit" class="btn btn--primary" disabled={busy || code.trim().length < 6}>{t('twofa.confirm')}</button>
            </form>
          )}
          {step.kind === 'codes' && (
            <Alert kind="success">
              {t('twofa.codes')}
              <ul class="codes">
                {step.codes.map((c) => (
                  <li key={c}>
                    <code>{c}</code>
                  </li>
                ))}
              </ul>
            </Alert>
          )}
          {status.enabled && !(status.required && status.tenant_requires) && (
            <form onSubmit={turnOff}>
              <Field id="twofa-password" label={t('twofa.password')} type="password" value={password} onInput={setPassword} autoComplete="current-password" />
              <button type="submit" class="btn" disabled={busy || !password}>{t('twofa.turnOff')}</button>
            </form>
          )}
          {isAdministrator && (
            <label class="check">
              <input type="checkbox" checked={status.tenant_requires} disabled={busy || (!status.enabled && !status.tenant_requires)}
                onChange={(e) => setPolicy((e.currentTarget as HTMLInputElement).checked)} />
              {t('twofa.requireAdmins')}
            </label>
          )}
        </>
      )}
    </section>
  );
}
