import type { Group, Role } from '../api/types';
import { t } from '../i18n';
import { roleLabel } from './Badges';

interface Props {
  groups: Group[];
  selected: number[];
  onChange: (ids: number[]) => void;
  /** The role of the person editing: only administrators may grant administrator groups. */
  myRole: Role;
}

/** The access groups as checkboxes, each with the role it gives. */
export function GroupCheckboxes({ groups, selected, onChange, myRole }: Props) {
  const locked = (g: Group) => g.role === 'administrator' && myRole !== 'administrator';
  function toggle(id: number, on: boolean) {
    onChange(on ? [...selected, id] : selected.filter((g) => g !== id));
  }
  return (
    <fieldset class="checkboxes">
      <legend>{t('users.groups')}</legend>
      {groups.length === 0 && <p class="muted">{t('users.noGroupsDefined')}</p>}
      {groups.map((g) => (
        <label key={g.id} class="checkbox">
          <input type="checkbox" checked={selected.includes(g.id)} disabled={locked(g)}
            onChange={(e) => toggle(g.id, (e.currentTarget as HTMLInputElement).checked)} />
          <span>{g.name}</span>
          <span class="muted"> — {roleLabel(g.role)}</span>
        </label>
      ))}
      <p class="field__hint">{t('users.groupsHint')}</p>
      {groups.some(locked) && <p class="field__hint">{t('users.adminOnly')}</p>}
    </fieldset>
  );
}
