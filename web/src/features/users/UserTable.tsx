import type { Role, User } from '../../shared/api/types';
import { RoleBadge, StatusBadge } from '../../shared/ui/Badges';
import { t } from '../../shared/i18n';

interface Props {
  users: User[];
  meId: number;
  /** Sub-administrators cannot change administrators (the server answers 403). */
  myRole: Role;
  onEdit: (user: User) => void;
}

/** Login, name, e-mail, groups, role, status; one "Edit" button per row. */
export function UserTable({ users, meId, myRole, onEdit }: Props) {
  if (users.length === 0) return <p>{t('users.empty')}</p>;
  return (
    <div class="table-wrap">
      <table class="table">
        <thead>
          <tr>
            <th scope="col">{t('users.col.login')}</th>
            <th scope="col">{t('users.col.name')}</th>
            <th scope="col">{t('users.col.email')}</th>
            <th scope="col">{t('users.col.groups')}</th>
            <th scope="col">{t('users.col.role')}</th>
            <th scope="col">{t('users.col.status')}</th>
            <th scope="col"><span class="sr-only">{t('common.actions')}</span></th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id} class={u.disabled ? 'row--disabled' : undefined}>
              <td>
                <code>{u.login}</code>
                {u.id === meId && <span class="muted"> ({t('users.you')})</span>}
              </td>
              <td>{u.name}</td>
              <td>{u.email}</td>
              <td>
                {u.groups.length ? u.groups.map((g) => g.name).join(', ') : <span class="muted">{t('users.noGroup')}</span>}
              </td>
              <td><RoleBadge role={u.role} /></td>
              <td><StatusBadge disabled={u.disabled} /></td>
              <td class="table__actions">
                {u.role === 'administrator' && myRole !== 'administrator' ? (
                  <span class="muted small">{t('users.adminLocked')}</span>
                ) : (
                  <button type="button" class="btn btn--small" onClick={() => onEdit(u)}
                    aria-label={`${t('common.edit')}: ${u.login}`}>
                    {t('common.edit')}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
