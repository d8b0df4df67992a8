/**
 * Speed dial in the phone (issue #18): the entries of the user's access groups, numbers as the user
 * may see them; a click dials the entry by reference (the server knows its number), through the
 * browser phone or, for desk-phone users, by ringing their phone first.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { SpeedDialEntry } from '../../shared/api/types';
import { t } from '../../shared/i18n';
import { dial } from '../crm/dial';

export function SpeedDials({ disabled = false }: { disabled?: boolean }) {
  const [list, setList] = useState<SpeedDialEntry[]>([]);
  const load = () => api.mySpeedDials().then(setList, () => setList([]));
  useEffect(() => void load(), []);
  if (list.length === 0) return null;
  return (
    // Read again on opening: entries and masking may have changed since the page loaded.
    <details class="phone__recent" data-testid="phone-speed-dials" onToggle={(e) => (e.currentTarget as HTMLDetailsElement).open && void load()}>
      <summary>{t('phone.speedDial')}</summary>
      <ul>
        {list.map((e) => (
          <li key={e.id}>
            <button type="button" class="btn btn--quiet" disabled={disabled} data-testid="phone-speed-dial"
              onClick={() => dial({ speedDial: e.id, label: e.name })}>
              {e.name} <span class="muted">{e.number}</span>
            </button>
          </li>
        ))}
      </ul>
    </details>
  );
}
