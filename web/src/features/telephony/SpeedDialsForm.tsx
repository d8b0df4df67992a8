/** Speed dial entries per access group (issue #18): add and delete; members see them in the phone. */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { Group, SpeedDialEntry } from '../../shared/api/types';
import { describeError } from '../../shared/api/errors';
import { Alert } from '../../shared/ui/Alert';
import { t } from '../../shared/i18n';

export function SpeedDialsForm() {
  const [list, setList] = useState<SpeedDialEntry[]>([]);
  const [groups, setGroups] = useState<Group[]>([]);
  const [group, setGroup] = useState('');
  const [name, setName] = useState('');
  const [number, setNumber] = useState('');
  const [error, setError] = useState<string | null>(null);

  async function load() {
    try {
      const [l, g] = await Promise.all([api.speedDials(), api.listGroups()]);
      setList(l);
      setGroups(g);
      setGroup((cur) => cur || String(g.find((x) => !x.builtin)?.id ?? g[0]?.id ?? ''));
    } catch (e) {
      setError(describeError(e));
    }
  }
  useEffect(() => void load(), []);

  async function act(f: () => Promise<unknown>) {
    setError(null);
    try {
      await f();
      await load();
      return true;
    } catch (e) {
      setError(describeError(e));
      return false;
    }
  }
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
