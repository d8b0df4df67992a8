import { focusFirstInvalid } from '../../shared/ui/forms';
import { useEffect, useState } from 'preact/hooks';
import { api, isApiError } from '../../shared/api/client';
import type { Me } from '../../shared/api/types';
import { Alert } from '../../shared/ui/Alert';
import { Field } from '../../shared/ui/Field';
import { explain, msg, say, type Msg } from '../../shared/api/errors';
import { t, type MessageKey } from '../../shared/i18n';
import { href } from '../../app/router';
import { checkAccount, checkLogin, hasErrors, validate } from '../../shared/ui/validation';
import { AuthLayout } from './AuthLayout';
import { armSound, askNotifications } from '../phone/unlock';

/** The last account signed in to from this browser, so people type only login and password. */
export const ACCOUNT_KEY = 'callbase.account';

function rememberedAccount(): string {
  try {
    return localStorage.getItem(ACCOUNT_KEY) ?? '';
  } catch {
    return '';
  }
}

export function LoginPage({ onLoggedIn, notice }: { onLoggedIn: (me: Me) => void; notice?: Msg }) {
  const [account, setAccount] = useState(rememberedAccount);
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  /** Asked for after a right password when two-factor sign-in is on. */
  const [askCode, setAskCode] = useState(false);
  const [code, setCode] = useState('');
  const [errors, setErrors] = useState<Partial<Record<'account' | 'login' | 'password', MessageKey>>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Msg | null>(null);
  /** Seconds left before the server accepts another attempt (after 429). */
  const [wait, setWait] = useState(0);

  useEffect(() => {
    if (wait <= 0) return;
    const id = setTimeout(() => setWait((w) => w - 1), 1000);
    return () => clearTimeout(id);
  }, [wait]);

  async function submit(e: Event) {
    e.preventDefault();
    const found = validate({
      account: checkAccount(account),
      login: checkLogin(login),
      password: password ? null : 'valid.required',
    });
    setErrors(found);
    if (hasErrors(found)) return focusFirstInvalid(e.currentTarget);
    // This click is the user gesture that lets the phone ring later: unlock sound now, before the
    // first await (the app opens without reloading the page, so the unlock lasts).
    armSound();
    askNotifications();
    setBusy(true);
    setError(null);
    try {
      const me = await api.login({ account: account.trim().toLowerCase(), login: login.trim(), password, ...(askCode ? { code: code.trim() } : {}) });
      onLoggedIn(me);
    } catch (err) {
      if (isApiError(err) && err.code === 'two_factor_required') {
        setAskCode(true);
        setError(null);
      } else if (isApiError(err) && err.code === 'two_factor_invalid') {
        setCode('');
        setError(msg('login.codeInvalid'));
      } else if (isApiError(err) && err.code === 'throttled' && err.retryAfter !== undefined) {
        setWait(err.retryAfter);
        setError(null);
      } else {
        setError(explain(err));
      }
      setBusy(false);
    }
  }

  return (
    <AuthLayout title={t('login.title')}>
      {notice && !error && wait <= 0 && <Alert kind="info">{say(notice)}</Alert>}
      <form onSubmit={submit} noValidate>
        <fieldset disabled={busy}>
          <Field id="login-account" label={t('login.account')} value={account} onInput={setAccount}
            autoComplete="organization" error={errors.account} autoFocus={!account} />
          <Field id="login-login" label={t('login.login')} value={login} onInput={setLogin}
            autoComplete="username" error={errors.login} autoFocus={!!account} />
          <Field id="login-password" label={t('login.password')} type="password" value={password}
            onInput={setPassword} autoComplete="current-password" error={errors.password} />
          {askCode && (
            <Field id="login-code" label={t('login.code')} value={code} onInput={setCode}
              autoComplete="one-time-code" autoFocus hint={t('login.codeHint')} />
          )}
          {wait > 0 && <Alert kind="error">{t('login.retryIn', { count: wait })}</Alert>}
          {error && <Alert kind="error">{say(error)}</Alert>}
          <button type="submit" class="btn btn--primary btn--wide" disabled={busy || wait > 0}>
            {busy ? t('login.submitting') : t('login.submit')}
          </button>
        </fieldset>
      </form>
      <p class="auth__switch">
        {t('login.noAccount')} <a href={href('/signup')}>{t('login.toSignup')}</a>
      </p>
    </AuthLayout>
  );
}
