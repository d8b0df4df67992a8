import { focusFirstInvalid } from '../../shared/ui/forms';
import { useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { Group, Role, UpdateGroupRequest } from '../../shared/api/types';
import { ROLES } from '../../shared/api/types';
import { Alert } from '../../shared/ui/Alert';
import { roleLabel } from '../../shared/ui/Badges';
import { Dialog } from '../../shared/ui/Dialog';
import { Field } from '../../shared/ui/Field';
import { explain, say, type Msg } from '../../shared/api/errors';
import { t, type MessageKey } from '../../shared/i18n';
import { checkGroupName } from '../../shared/ui/validation';

interface Props {
  /** The group to edit; absent to create one. */
  group?: Group;
  /** Only administrators may create or change groups with the administrator role. */
  myRole: Role;
  onSaved: (group: Group, created: boolean) => void;
  onClose: () => void;
}

/** Create a group, or rename it / change its role. */
export function GroupDialog({ group, myRole, onSaved, onClose }: Props) {
  const [name, setName] = useState(group?.name ?? '');
  const [role, setRole] = useState<Role>(group?.role ?? 'user');
  const [supervisor, setSupervisor] = useState(group?.supervisor ?? false);
  const [isPrivate, setPrivate] = useState(group?.private ?? false);
  const [nameError, setNameError] = useState<MessageKey | undefined>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Msg | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    const check = checkGroupName(name) ?? undefined;
    setNameError(check);
    if (check) return focusFirstInvalid(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      if (group) {
        const changes: UpdateGroupRequest = {};
        if (name.trim() !== group.name) changes.name = name.trim();
        if (role !== group.role) changes.role = role;
        if (supervisor !== group.supervisor) changes.supervisor = supervisor;
        if (isPrivate !== group.private) changes.private = isPrivate;
        onSaved(Object.keys(changes).length ? await api.updateGroup(group.id, changes) : group, false);
      } else {
        onSaved(await api.createGroup({ name: name.trim(), role, supervisor, private: isPrivate }), true);
      }
    } catch (err) {
      setError(explain(err));
      setBusy(false);
    }
  }

  return (
    <Dialog title={group ? t('groups.editTitle', { name: group.name }) : t('groups.createTitle')} onClose={onClose} busy={busy}>
      <form onSubmit={submit} noValidate>
        <fieldset disabled={busy}>
          <Field id="grp-name" label={t('groups.name')} value={name} onInput={setName} error={nameError} required autoComplete="off" />
          <div class="field">
            <label for="grp-role">{t('groups.role')}</label>
            <select id="grp-role" value={role} aria-describedby="grp-role-hint"
              onChange={(e) => setRole((e.currentTarget as HTMLSelectElement).value as Role)}>
              {ROLES.map((r) => (
                <option key={r} value={r} disabled={r === 'administrator' && myRole !== 'administrator'}>
                  {roleLabel(r)}
                </option>
              ))}
            </select>
            <p class="field__hint" id="grp-role-hint">
              {t('users.groupsHint')}
              {myRole !== 'administrator' && ` ${t('users.adminOnly')}`}
            </p>
          </div>
          <div class="field">
            <label class="check">
              <input type="checkbox" data-testid="grp-supervisor" checked={supervisor}
                onChange={(e) => setSupervisor((e.currentTarget as HTMLInputElement).checked)} aria-describedby="grp-supervisor-hint" />
              {' '}{t('groups.supervisor')}
            </label>
            <p class="field__hint" id="grp-supervisor-hint">{t('groups.supervisorHint')}</p>
          </div>
          <div class="field">
            <label class="check">
              <input type="checkbox" data-testid="grp-private" checked={isPrivate}
                onChange={(e) => setPrivate((e.currentTarget as HTMLInputElement).checked)} aria-describedby="grp-private-hint" />
              {' '}{t('groups.private')}
            </label>
            <p class="field__hint" id="grp-private-hint">{t('groups.privateHint')}</p>
          </div>
          {error && <Alert kind="error">{say(error)}</Alert>}
          <div class="dialog__actions">
            <button type="button" class="btn" onClick={onClose}>{t('common.cancel')}</button>
            <button type="submit" class="btn btn--primary">
              {busy ? (group ? t('common.saving') : t('common.creating')) : group ? t('common.save') : t('groups.create')}
            </button>
          </div>
        </fieldset>
      </form>
    </Dialog>
  );
}
