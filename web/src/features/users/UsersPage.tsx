import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { Group, Me, User } from '../../shared/api/types';
import { Alert } from '../../shared/ui/Alert';
import { ConfirmDialog } from '../../shared/ui/ConfirmDialog';
import { explain, msg, say, type Msg } from '../../shared/api/errors';
import { t } from '../../shared/i18n';
import { CreateUserDialog } from './CreateUserDialog';
import { EditUserDialog } from './EditUserDialog';
import { UserTable } from './UserTable';

type Open = { kind: 'none' } | { kind: 'create' } | { kind: 'edit'; user: User } | { kind: 'toggle'; user: User };

/** Users of the tenant (admins and sub-admins): list, create, edit, disable/enable. */
interface Props {
  me: Me;
  /** Called after the signed-in user changed their own record (name, groups → maybe role). */
  onSelfChanged?: () => void;
}

export function UsersPage({ me, onSelfChanged }: Props) {
  const [users, setUsers] = useState<User[] | null>(null);
  const [groups, setGroups] = useState<Group[]>([]);
  const [loadError, setLoadError] = useState<Msg | null>(null);
  const [notice, setNotice] = useState<Msg | null>(null);
  const [open, setOpen] = useState<Open>({ kind: 'none' });

  async function load() {
    setLoadError(null);
    try {
      const [u, g] = await Promise.all([api.listUsers(), api.listGroups()]);
      setUsers(u);
      setGroups(g);
    } catch (e) {
      setLoadError(explain(e));
    }
  }
  useEffect(() => {
    void load();
  }, []);

  function replace(user: User) {
    setUsers((list) => (list ?? []).map((u) => (u.id === user.id ? user : u)));
    if (user.id === me.user.id) onSelfChanged?.();
  }

  const close = () => setOpen({ kind: 'none' });

  return (
    <section class="page">
      <div class="page__head">
        <h1>{t('users.title')}</h1>
        {users && <span class="muted">{t('users.count', { count: users.length })}</span>}
        <div class="page__spacer" />
        <button type="button" class="btn btn--primary" onClick={() => setOpen({ kind: 'create' })} disabled={!users}>
          + {t('users.create')}
        </button>
      </div>
      {notice && <Alert kind="success">{say(notice)}</Alert>}
      {loadError && (
        <Alert kind="error">
          {say(loadError)}{' '}
          <button type="button" class="btn btn--small" onClick={load}>{t('common.retry')}</button>
        </Alert>
      )}
      {!users && !loadError && <p aria-busy="true">{t('app.loading')}</p>}
      {users && <UserTable users={users} meId={me.user.id} myRole={me.role} onEdit={(user) => { setNotice(null); setOpen({ kind: 'edit', user }); }} />}

      {open.kind === 'create' && (
        <CreateUserDialog groups={groups} account={me.tenant.account} myRole={me.role} onClose={close}
          onCreated={(user) => {
            setUsers((list) => [...(list ?? []), user]);
            setNotice(msg('users.created', { login: user.login }));
            close();
            void api.listGroups().then(setGroups, () => undefined);
          }} />
      )}
      {open.kind === 'edit' && (
        <EditUserDialog user={open.user} groups={groups} account={me.tenant.account} myRole={me.role} onClose={close}
          onToggleDisabled={(user) => setOpen({ kind: 'toggle', user })}
          onSaved={(user) => {
            replace(user);
            setNotice(msg('users.saved', { login: user.login }));
            close();
            void api.listGroups().then(setGroups, () => undefined);
          }} />
      )}
      {open.kind === 'toggle' && (
        <ConfirmDialog
          title={t(open.user.disabled ? 'users.confirmEnableTitle' : 'users.confirmDisableTitle', { name: open.user.name })}
          message={t(open.user.disabled ? 'users.confirmEnable' : 'users.confirmDisable', { name: open.user.name })}
          confirmLabel={open.user.disabled ? t('users.enable') : t('users.disable')}
          busyLabel={open.user.disabled ? t('users.enabling') : t('users.disabling')}
          danger={!open.user.disabled}
          onClose={() => setOpen({ kind: 'edit', user: open.user })}
          onConfirm={async () => {
            const user = await api.updateUser(open.user.id, { disabled: !open.user.disabled });
            replace(user);
            setNotice(msg(user.disabled ? 'users.disabledDone' : 'users.enabledDone', { login: user.login }));
            close();
          }} />
      )}
    </section>
  );
}
