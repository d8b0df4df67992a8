import { focusFirstInvalid } from '../../shared/ui/forms';
import { useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { Group, Role, UpdateUserRequest, User } from '../../shared/api/types';
import { Alert } from '../../shared/ui/Alert';
import { StatusBadge } from '../../shared/ui/Badges';
import { Dialog } from '../../shared/ui/Dialog';
import { Field } from '../../shared/ui/Field';
import { GroupCheckboxes } from '../../shared/ui/GroupCheckboxes';
import { explain, msg, say, type Msg } from '../../shared/api/errors';
import { t, type MessageKey } from '../../shared/i18n';
import { checkEmail, checkName, checkPassword, hasErrors, validate } from '../../shared/ui/validation';

type F = 'name' | 'email' | 'password';

interface Props {
  user: User;
  groups: Group[];
  account: string;
  myRole: Role;
  onSaved: (user: User) => void;
  /** Asks to disable or enable the user (the page shows the confirmation). */
  onToggleDisabled: (user: User) => void;
  onClose: () => void;
}

function sameIds(a: number[], b: number[]): boolean {
  return a.length === b.length && [...a].sort().join() === [...b].sort().join();
}

/** The fields that differ from `user`; an empty password means "keep the current one". */
export function userChanges(
  user: User,
  form: { name: string; email: string; password: string },
  groupIds: number[],
): UpdateUserRequest {
  const out: UpdateUserRequest = {};
  if (form.name.trim() !== user.name) out.name = form.name.trim();
  if (form.email.trim() !== user.email) out.email = form.email.trim();
  if (form.password) out.password = form.password;
  if (!sameIds(groupIds, user.groups.map((g) => g.id))) out.group_ids = groupIds;
  return out;
}

export function EditUserDialog({ user, groups, account, myRole, onSaved, onToggleDisabled, onClose }: Props) {
  const [form, setForm] = useState<Record<F, string>>({ name: user.name, email: user.email, password: '' });
  const [groupIds, setGroupIds] = useState<number[]>(user.groups.map((g) => g.id));
  const [errors, setErrors] = useState<Partial<Record<F, MessageKey>>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Msg | null>(null);
  const set = (f: F) => (v: string) => setForm((s) => ({ ...s, [f]: v }));

  async function submit(e: Event) {
    e.preventDefault();
    const found = validate<F>({
      name: checkName(form.name),
      email: checkEmail(form.email),
      password: form.password ? checkPassword(form.password, [user.login, account]) : null,
    });
    setErrors(found);
    if (hasErrors(found)) return focusFirstInvalid(e.currentTarget);
    const changes = userChanges(user, form, groupIds);
    if (Object.keys(changes).length === 0) {
      setError(msg('users.nothingChanged'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onSaved(await api.updateUser(user.id, changes));
    } catch (err) {
      setError(explain(err));
      setBusy(false);
    }
  }

  return (
    <Dialog title={t('users.editTitle', { login: user.login })} onClose={onClose} busy={busy}>
      <form onSubmit={submit} noValidate>
        <fieldset disabled={busy}>
          <div class="field-row">
            <Field id="eu-name" label={t('users.name')} value={form.name} onInput={set('name')}
              error={errors.name} required autoComplete="off" />
            <Field id="eu-email" label={t('users.email')} type="email" value={form.email} onInput={set('email')}
              error={errors.email} required autoComplete="off" />
          </div>
          <Field id="eu-password" label={t('users.newPassword')} type="password" value={form.password}
            onInput={set('password')} hint={`${t('users.newPasswordHint')} ${t('password.ruleOther')}`}
            error={errors.password} autoComplete="new-password" optional />
          <GroupCheckboxes groups={groups} selected={groupIds} onChange={setGroupIds} myRole={myRole} />
          <fieldset class="access">
            <legend>{t('users.access')}</legend>
            <p>
              <StatusBadge disabled={user.disabled} />{' '}
              {user.disabled ? t('users.disabledNote') : t('users.activeNote')}
            </p>
            <button type="button" class={'btn ' + (user.disabled ? '' : 'btn--danger-outline')}
              onClick={() => onToggleDisabled(user)}>
              {user.disabled ? t('users.enable') : t('users.disable')}
            </button>
          </fieldset>
          {error && <Alert kind="error">{say(error)}</Alert>}
          <div class="dialog__actions">
            <button type="button" class="btn" onClick={onClose}>{t('common.cancel')}</button>
            <button type="submit" class="btn btn--primary">{busy ? t('common.saving') : t('common.save')}</button>
          </div>
        </fieldset>
      </form>
    </Dialog>
  );
}
