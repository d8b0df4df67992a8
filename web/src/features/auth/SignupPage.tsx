import { focusFirstInvalid } from '../../shared/ui/forms';
import { useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { Me } from '../../shared/api/types';
import { Alert } from '../../shared/ui/Alert';
import { Field } from '../../shared/ui/Field';
import { explain, msg, say, type Msg } from '../../shared/api/errors';
import { t, type MessageKey } from '../../shared/i18n';
import { href } from '../../app/router';
import {
  checkAccount,
  checkEmail,
  checkLogin,
  checkName,
  checkPassword,
  hasErrors,
  validate,
} from '../../shared/ui/validation';
import { AuthLayout } from './AuthLayout';
import { armSound, askNotifications } from '../phone/unlock';

type SignupField = 'account' | 'tenant_name' | 'login' | 'name' | 'email' | 'password';

/** Creating a tenant: the person signing up becomes its administrator and is signed in. */
export function SignupPage({ onSignedUp }: { onSignedUp: (me: Me) => void }) {
  const [form, setForm] = useState<Record<SignupField, string>>({
    account: '', tenant_name: '', login: '', name: '', email: '', password: '',
  });
  const [errors, setErrors] = useState<Partial<Record<SignupField, MessageKey>>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Msg | null>(null);

  const set = (field: SignupField) => (value: string) => setForm((f) => ({ ...f, [field]: value }));

  async function submit(e: Event) {
    e.preventDefault();
    const found = validate<SignupField>({
      account: checkAccount(form.account),
      tenant_name: checkName(form.tenant_name),
      login: checkLogin(form.login),
      name: checkName(form.name),
      email: checkEmail(form.email),
      password: checkPassword(form.password, [form.login, form.account]),
    });
    setErrors(found);
    if (hasErrors(found)) {
      focusFirstInvalid(e.currentTarget);
      setError(msg('valid.fixFields'));
      return;
    }
    // This click is the user gesture that lets the phone ring later: unlock sound now, before the
    // first await (the app opens without reloading the page, so the unlock lasts).
    armSound();
    askNotifications();
    setBusy(true);
    setError(null);
    try {
      const me = await api.signup({
        account: form.account.trim().toLowerCase(),
        tenant_name: form.tenant_name.trim(),
        login: form.login.trim(),
        name: form.name.trim(),
        email: form.email.trim(),
        password: form.password,
      });
      onSignedUp(me);
    } catch (err) {
      setError(explain(err));
      setBusy(false);
    }
  }

  return (
    <AuthLayout title={t('signup.title')}>
      <p class="muted">{t('signup.intro')}</p>
      <form onSubmit={submit} noValidate>
        <fieldset disabled={busy}>
          <Field id="signup-account" label={t('signup.account')} value={form.account} onInput={set('account')}
            hint={t('signup.accountHint')} error={errors.account} required autoFocus autoComplete="off" />
          <Field id="signup-tenant" label={t('signup.tenantName')} value={form.tenant_name}
            onInput={set('tenant_name')} error={errors.tenant_name} required autoComplete="organization" />
          <div class="field-row">
            <Field id="signup-login" label={t('signup.login')} value={form.login} onInput={set('login')}
              hint={t('signup.loginHint')} error={errors.login} required autoComplete="username" />
            <Field id="signup-name" label={t('signup.name')} value={form.name} onInput={set('name')}
              error={errors.name} required autoComplete="name" />
          </div>
          <Field id="signup-email" label={t('signup.email')} type="email" value={form.email}
            onInput={set('email')} error={errors.email} required autoComplete="email" />
          <Field id="signup-password" label={t('signup.password')} type="password" value={form.password}
            onInput={set('password')} hint={t('password.rule')} error={errors.password} required
            autoComplete="new-password" />
          {error && <Alert kind="error">{say(error)}</Alert>}
          <button type="submit" class="btn btn--primary btn--wide">
            {busy ? t('signup.submitting') : t('signup.submit')}
          </button>
        </fieldset>
      </form>
      <p class="auth__switch">
        {t('signup.haveAccount')} <a href={href('/login')}>{t('signup.toLogin')}</a>
      </p>
    </AuthLayout>
  );
}
