import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { Group, Role } from '../../shared/api/types';
import { Alert } from '../../shared/ui/Alert';
import { RoleBadge } from '../../shared/ui/Badges';
import { Icon } from '../../shared/ui/Icon';
import { ConfirmDialog } from '../../shared/ui/ConfirmDialog';
import { explain, msg, say, type Msg } from '../../shared/api/errors';
import { t } from '../../shared/i18n';
import { GroupDialog } from './GroupDialog';

type Open = { kind: 'none' } | { kind: 'create' } | { kind: 'edit'; group: Group } | { kind: 'delete'; group: Group };

/** Access groups (admins and sub-admins): list with role and members; create, edit, delete. */
export function GroupsPage({ myRole }: { myRole: Role }) {
  const [groups, setGroups] = useState<Group[] | null>(null);
  const [loadError, setLoadError] = useState<Msg | null>(null);
  const [notice, setNotice] = useState<Msg | null>(null);
  const [open, setOpen] = useState<Open>({ kind: 'none' });

  async function load() {
    setLoadError(null);
    try {
      setGroups(await api.listGroups());
    } catch (e) {
      setLoadError(explain(e));
    }
  }
  useEffect(() => {
    void load();
  }, []);

  const close = () => setOpen({ kind: 'none' });
  const openDialog = (o: Open) => {
    setNotice(null);
    setOpen(o);
  };

  return (
    <section class="page">
      <div class="page__head">
        <h1>{t('groups.title')}</h1>
        {groups && <span class="muted">{t('groups.count', { count: groups.length })}</span>}
        <div class="page__spacer" />
        <button type="button" class="btn btn--primary" onClick={() => openDialog({ kind: 'create' })} disabled={!groups}>
          + {t('groups.create')}
        </button>
      </div>
      <p class="muted">{t('groups.intro')}</p>
      {notice && <Alert kind="success">{say(notice)}</Alert>}
      {loadError && (
        <Alert kind="error">
          {say(loadError)}{' '}
          <button type="button" class="btn btn--small" onClick={load}>{t('common.retry')}</button>
        </Alert>
      )}
      {!groups && !loadError && <p aria-busy="true">{t('app.loading')}</p>}
      {groups && groups.length === 0 && <p>{t('groups.empty')}</p>}
      {groups && groups.length > 0 && (
        <>
        <div class="table-wrap">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">{t('groups.col.name')}</th>
                <th scope="col">{t('groups.col.role')}</th>
                <th scope="col">{t('groups.col.members')}</th>
                <th scope="col">{t('groups.col.kind')}</th>
                <th scope="col"><span class="sr-only">{t('common.actions')}</span></th>
              </tr>
            </thead>
            <tbody>
              {groups.map((g) => (
                <tr key={g.id}>
                  <td>{g.name}</td>
                  <td>
                    <RoleBadge role={g.role} />
                    {g.supervisor && <span class="badge" data-testid="group-supervisor"> {t('groups.supervisor')}</span>}
                  </td>
                  <td>{t('groups.members', { count: g.member_count })}</td>
                  <td>
                    {g.builtin ? (
                      <span class="badge">
                        <Icon name="lock" size={13} /> {t('groups.builtin')}
                      </span>
                    ) : (
                      t('groups.custom')
                    )}
                  </td>
                  <td class="table__actions">
                    {g.builtin ? (
                      <span class="muted small">{t('groups.locked')}</span>
                    ) : g.role === 'administrator' && myRole !== 'administrator' ? (
                      <span class="muted small">{t('groups.adminLocked')}</span>
                    ) : (
                      <>
                        <button type="button" class="btn btn--small" onClick={() => openDialog({ kind: 'edit', group: g })}
                          aria-label={`${t('common.edit')}: ${g.name}`}>
                          {t('common.edit')}
                        </button>{' '}
                        <button type="button" class="btn btn--small btn--danger-outline"
                          onClick={() => openDialog({ kind: 'delete', group: g })}
                          aria-label={`${t('common.delete')}: ${g.name}`}>
                          {t('common.delete')}
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {groups.some((g) => g.builtin) && (
          <p class="muted small">
            <Icon name="lock" size={13} /> {t('groups.builtinLocked')}
          </p>
        )}
        </>
      )}

      {(open.kind === 'create' || open.kind === 'edit') && (
        <GroupDialog group={open.kind === 'edit' ? open.group : undefined} myRole={myRole} onClose={close}
          onSaved={(group, created) => {
            setGroups((list) => (created ? [...(list ?? []), group] : (list ?? []).map((g) => (g.id === group.id ? group : g))));
            setNotice(msg(created ? 'groups.created' : 'groups.saved', { name: group.name }));
            close();
          }} />
      )}
      {open.kind === 'delete' && (
        <ConfirmDialog
          title={t('groups.confirmDeleteTitle', { name: open.group.name })}
          message={open.group.member_count > 0
            ? t('groups.confirmDelete', { count: open.group.member_count })
            : t('groups.confirmDeleteEmpty')}
          confirmLabel={t('common.delete')}
          busyLabel={t('common.deleting')}
          danger
          onClose={close}
          onConfirm={async () => {
            await api.deleteGroup(open.group.id);
            setGroups((list) => (list ?? []).filter((g) => g.id !== open.group.id));
            setNotice(msg('groups.deleted', { name: open.group.name }));
            close();
          }} />
      )}
    </section>
  );
}
