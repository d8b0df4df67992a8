/** Speed dial entries per access group (issue #18): add and delete; members see them in the phone. */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { Group, SpeedDialEntry } from '../../shared/api/types';
import { Alert } from '../../shared/ui/Alert';
import { useLoaded } from '../../shared/ui/useLoaded';
import { t } from '../../shared/i18n';

export function SpeedDialsForm() {
  const { data: [list, groups], error, act } = useLoaded<[SpeedDialEntry[], Group[]]>(
    () => Promise.all([api.speedDials(), api.listGroups()]),
    [[], []],
  );
  const [group, setGroup] = useState('');
  const [name, setName] = useState('');
  const [number, setNumber] = useState('');
  // The first group that is not built in, once the groups are known.
  useEffect(() => {
    setGroup((cur) => cur || String(groups.find((x) => !x.builtin)?.id ?? groups[0]?.id ?? ''));
  }, [groups]);

  const groupName = (id: number) => groups.find((g) => g.id === id)?.name ?? '';
  return (
    <div class="card" data-testid="speed-dials">
      <h2>{t('sd.title')}</h2>
      <p class="muted">{t('sd.intro')}</p>
      {error && <Alert kind="error">{error}</Alert>}
      {list.length === 0 ? (
        <p>{t('sd.empty')}</p>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th>{t('sd.group')}</th>
              <th>{t('sd.name')}</th>
              <th>{t('sd.number')}</th>
              <th><span class="sr-only">{t('common.actions')}</span></th>
            </tr>
          </thead>
          <tbody>
            {list.map((e) => (
              <tr key={e.id}>
                <td>{groupName(e.group_id)}</td>
                <td>{e.name}</td>
                <td>{e.number}</td>
                <td class="table__actions">
                  <button type="button" class="btn btn--small btn--danger-outline" aria-label={`${t('common.delete')}: ${e.name}`}
                    onClick={() => void act(() => api.deleteSpeedDial(e.id))}>
                    {t('common.delete')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        class="phone__row"
        onSubmit={async (e) => {
          e.preventDefault();
          const ok = await act(() => api.createSpeedDial({ group_id: Number(group), name, number }));
          if (ok) {
            setName('');
            setNumber('');
          }
        }}
      >
        <select class="input" aria-label={t('sd.group')} data-testid="sd-group" value={group} onChange={(e) => setGroup((e.target as HTMLSelectElement).value)}>
          {groups.map((g) => (
            <option value={g.id}>{g.name}</option>
          ))}
        </select>
        <input class="input" aria-label={t('sd.name')} placeholder={t('sd.name')} data-testid="sd-name" value={name}
          onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        <input class="input" aria-label={t('sd.number')} placeholder={t('sd.number')} data-testid="sd-number" inputMode="tel" value={number}
          onInput={(e) => setNumber((e.target as HTMLInputElement).value)} />
        <button type="submit" class="btn" disabled={!group || !name.trim() || !number.trim()}>{t('sd.add')}</button>
      </form>
    </div>
  );
}
