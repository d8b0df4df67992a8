import { focusFirstInvalid } from '../../shared/ui/forms';
import { useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { Group, Role, User } from '../../shared/api/types';
import { Alert } from '../../shared/ui/Alert';
import { Dialog } from '../../shared/ui/Dialog';
import { Field } from '../../shared/ui/Field';
import { GroupCheckboxes } from '../../shared/ui/GroupCheckboxes';
import { explain, say, type Msg } from '../../shared/api/errors';
import { t, type MessageKey } from '../../shared/i18n';
import { checkEmail, checkLogin, checkName, checkPassword, hasErrors, validate } from '../../shared/ui/validation';

type F = 'login' | 'name' | 'email' | 'password';

interface Props {
  groups: Group[];
  /** The tenant's account name: a password must not contain it. */
  account: string;
  myRole: Role;
  onCreated: (user: User) => void;
  onClose: () => void;
}

export function CreateUserDialog({ groups, account, myRole, onCreated, onClose }: Props) {
  const [form, setForm] = useState<Record<F, string>>({ login: '', name: '', email: '', password: '' });
  const [groupIds, setGroupIds] = useState<number[]>([]);
  const [errors, setErrors] = useState<Partial<Record<F, MessageKey>>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Msg | null>(null);
  const set = (f: F) => (v: string) => setForm((s) => ({ ...s, [f]: v }));

  async function submit(e: Event) {
    e.preventDefault();
    const found = validate<F>({
      login: checkLogin(form.login),
      name: checkName(form.name),
      email: checkEmail(form.email),
      password: checkPassword(form.password, [form.login, account]),
    });
    setErrors(found);
    if (hasErrors(found)) return focusFirstInvalid(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const user = await api.createUser({
        login: form.login.trim(),
        name: form.name.trim(),
        email: form.email.trim(),
        password: form.password,
        group_ids: groupIds,
      });
      onCreated(user);
    } catch (err) {
      setError(explain(err));
      setBusy(false);
    }
  }

  return (
    <Dialog title={t('users.createTitle')} onClose={onClose} busy={busy}>
      <form onSubmit={submit} noValidate>
        <fieldset disabled={busy}>
          <div class="field-row">
            <Field id="cu-login" label={t('users.login')} value={form.login} onInput={set('login')}
              hint={t('users.loginHint')} error={errors.login} required autoComplete="off" />
            <Field id="cu-name" label={t('users.name')} value={form.name} onInput={set('name')}
              error={errors.name} required autoComplete="off" />
          </div>
          <Field id="cu-email" label={t('users.email')} type="email" value={form.email} onInput={set('email')}
            error={errors.email} required autoComplete="off" />
          <Field id="cu-password" label={t('users.password')} type="password" value={form.password}
            onInput={set('password')} hint={t('password.ruleOther')} error={errors.password} required
            autoComplete="new-password" />
          <GroupCheckboxes groups={groups} selected={groupIds} onChange={setGroupIds} myRole={myRole} />
          {error && <Alert kind="error">{say(error)}</Alert>}
          <div class="dialog__actions">
            <button type="button" class="btn" onClick={onClose}>{t('common.cancel')}</button>
            <button type="submit" class="btn btn--primary">{busy ? t('common.creating') : t('users.create')}</button>
          </div>
        </fieldset>
      </form>
    </Dialog>
  );
}
