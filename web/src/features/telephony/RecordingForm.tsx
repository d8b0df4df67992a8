/** Call recording, retention, visibility of calls and the call card dictionaries. */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { Group, RecordingSettings } from '../../shared/api/types';
import { describeError } from '../../shared/api/errors';
import { t } from '../../shared/i18n';

/** Recording, retention, who sees which call records, and the call card's dictionaries. */
export function RecordingForm() {
  const [s, setS] = useState<RecordingSettings | null>(null);
  const [groups, setGroups] = useState<Group[]>([]);
  const [note, setNote] = useState<string | null>(null);
  // The dictionaries are edited as text (one value a line) and split on save.
  const [types, setTypes] = useState('');
  const [results, setResults] = useState('');
  useEffect(() => {
    Promise.all([api.recordingSettings(), api.listGroups()]).then(
      ([r, g]) => {
        setS(r);
        setTypes(r.call_types.join('\n'));
        setResults(r.call_results.join('\n'));
        setGroups(g);
      },
      (e) => setNote(describeError(e)),
    );
  }, []);
  if (!s) return note ? <p role="status">{note}</p> : null;
  const lines = (v: string) => v.split('\n').map((x) => x.trim()).filter(Boolean);
  const check = (key: 'record_calls' | 'retention_delete_calls' | 'calls_visible_to_all' | 'recording_pause_allowed', label: Parameters<typeof t>[0]) => (
    <label class="check">
      <input type="checkbox" checked={s[key]} data-testid={`rec-${key}`} onChange={(e) => setS({ ...s, [key]: (e.target as HTMLInputElement).checked })} />
      {t(label)}
    </label>
  );
  return (
    <form
      class="card"
      data-testid="rec-form"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          const saved = await api.setRecordingSettings({ ...s, call_types: lines(types), call_results: lines(results) });
          setS(saved);
          setTypes(saved.call_types.join('\n'));
          setResults(saved.call_results.join('\n'));
          setNote(t('tel.saved'));
        } catch (err) {
          setNote(describeError(err));
        }
      }}
    >
      <h2>{t('rec.title')}</h2>
      {check('record_calls', 'rec.recordAll')}
      <fieldset class="checkboxes">
        <legend>{t('rec.groups')}</legend>
        {groups.map((g) => (
          <label class="check" key={g.id}>
            <input type="checkbox" checked={s.record_group_ids.includes(g.id)}
              onChange={(e) => setS({ ...s, record_group_ids: (e.target as HTMLInputElement).checked ? [...s.record_group_ids, g.id] : s.record_group_ids.filter((x) => x !== g.id) })} />
            {g.name}
          </label>
        ))}
      </fieldset>
      <label class="field">
        <span>{t('rec.retention')}</span>
        <input class="input" type="number" min={1} max={3650} value={s.retention_days} data-testid="rec-retention"
          onInput={(e) => setS({ ...s, retention_days: Number((e.target as HTMLInputElement).value) })} />
      </label>
      {check('retention_delete_calls', 'rec.deleteCalls')}
      {check('calls_visible_to_all', 'rec.visibleToAll')}
      {check('recording_pause_allowed', 'rec.pauseAllowed')}
      <label class="field">
        <span>{t('rec.types')}</span>
        <textarea class="input" rows={3} value={types} onInput={(e) => setTypes((e.target as HTMLTextAreaElement).value)} />
      </label>
      <label class="field">
        <span>{t('rec.results')}</span>
        <textarea class="input" rows={3} value={results} onInput={(e) => setResults((e.target as HTMLTextAreaElement).value)} />
      </label>
      <button type="submit" class="btn btn--primary">{t('common.save')}</button>
      {note && <p role="status">{note}</p>}
    </form>
  );
}
