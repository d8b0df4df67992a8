import type { Role } from '../api/types';
import { t } from '../i18n';
import { Icon } from './Icon';

/** Active / disabled, with an icon so colour is not the only signal. */
export function StatusBadge({ disabled }: { disabled: boolean }) {
  return disabled ? (
    <span class="badge badge--off">
      <Icon name="ban" size={13} />{' '}
      {t('status.disabled')}
    </span>
  ) : (
    <span class="badge badge--on">
      <Icon name="dot" size={13} />{' '}
      {t('status.active')}
    </span>
  );
}

export function roleLabel(role: Role): string {
  return t(`role.${role}`);
}

export function RoleBadge({ role }: { role: Role }) {
  return <span class={`badge badge--role badge--${role}`}>{roleLabel(role)}</span>;
}
