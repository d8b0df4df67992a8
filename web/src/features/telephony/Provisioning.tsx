/** Groups whose members become telephony users automatically. */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { Group } from '../../shared/api/types';
import { describeError } from '../../shared/api/errors';
import { t } from '../../shared/i18n';

export function Provisioning() {
  const [groups, setGroups] = useState<Group[]>([]);
  const [checked, setChecked] = useState<number[]>([]);
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    Promise.all([api.listGroups(), api.provisioning()]).then(
      ([g, p]) => {
        setGroups(g);
        setChecked(p.group_ids);
      },
      (e) => setNote(describeError(e)),
    );
  }, []);
  async function toggle(id: number) {
    const next = checked.includes(id) ? checked.filter((x) => x !== id) : [...checked, id];
    try {
      setChecked((await api.setProvisioning(next)).group_ids);
      setNote(t('tel.saved'));
    } catch (e) {
      setNote(describeError(e));
    }
  }
  return (
    <div class="card">
      <h2>{t('tel.autoTitle')}</h2>
      <p>{t('tel.autoIntro')}</p>
      {groups.map((g) => (
        <label class="check">
          <input type="checkbox" checked={checked.includes(g.id)} onChange={() => toggle(g.id)} /> {g.name}
        </label>
      ))}
      {note && <p role="status">{note}</p>}
    </div>
  );
}
