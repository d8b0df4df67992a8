/** Caller matching, number masking and manager-first ringing. */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { CrmSettings, Group } from '../../shared/api/types';
import { describeError } from '../../shared/api/errors';
import { t } from '../../shared/i18n';

/** Caller matching, number masking for groups and the responsible manager (docs/crm.md). */
export function CrmSettingsForm() {
  const [s, setS] = useState<CrmSettings | null>(null);
  const [groups, setGroups] = useState<Group[]>([]);
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    Promise.all([api.crmSettings(), api.listGroups()]).then(
      ([c, g]) => {
        setS(c);
        setGroups(g);
      },
      (e) => setNote(describeError(e)),
    );
  }, []);
  if (!s) return note ? <p role="status">{note}</p> : null;
  return (
    <form class="card" data-testid="crm-settings" onSubmit={async (e) => {
      e.preventDefault();
      try {
        setS(await api.setCrmSettings(s));
        setNote(t('tel.saved'));
      } catch (err) {
        setNote(describeError(err));
      }
    }}>
      <h2>{t('crmset.title')}</h2>
      <label class="field">
        <span>{t('crmset.similar')}</span>
        <select class="input" value={s.similar_match_digits} onChange={(e) => setS({ ...s, similar_match_digits: Number((e.target as HTMLSelectElement).value) })}>
          {[0, 1, 2, 3, 4].map((n) => <option key={n} value={n}>{n === 0 ? t('crmset.exactOnly') : t('crmset.lastDigits', { count: n })}</option>)}
        </select>
      </label>
      <fieldset class="checkboxes">
        <legend>{t('crmset.maskGroups')}</legend>
        {groups.map((g) => (
          <label class="check" key={g.id}>
            <input type="checkbox" checked={s.mask_group_ids.includes(g.id)}
              onChange={(e) => setS({ ...s, mask_group_ids: (e.target as HTMLInputElement).checked ? [...s.mask_group_ids, g.id] : s.mask_group_ids.filter((x) => x !== g.id) })} />
            {g.name}
          </label>
        ))}
      </fieldset>
      <label class="field">
        <span>{t('crmset.maskMode')}</span>
        <select class="input" value={s.mask_mode} onChange={(e) => setS({ ...s, mask_mode: (e.target as HTMLSelectElement).value as CrmSettings['mask_mode'] })}>
          <option value="prefix">{t('crmset.prefix')}</option>
          <option value="hidden">{t('crmset.hidden')}</option>
        </select>
      </label>
      {s.mask_mode === 'prefix' && (
        <label class="field">
          <span>{t('crmset.maskChars')}</span>
          <input class="input" type="number" min={1} max={15} value={s.mask_chars} onInput={(e) => setS({ ...s, mask_chars: Number((e.target as HTMLInputElement).value) })} />
        </label>
      )}
      <label class="check">
        <input type="checkbox" checked={s.manager_first} onChange={(e) => setS({ ...s, manager_first: (e.target as HTMLInputElement).checked })} />
        {t('crmset.managerFirst')}
      </label>
      {s.manager_first && (
        <label class="field">
          <span>{t('crmset.managerSecs')}</span>
          <input class="input" type="number" min={5} max={120} value={s.manager_first_secs} onInput={(e) => setS({ ...s, manager_first_secs: Number((e.target as HTMLInputElement).value) })} />
        </label>
      )}
      <button type="submit" class="btn btn--primary">{t('common.save')}</button>
      {note && <p role="status">{note}</p>}
    </form>
  );
}
