/** The tenant's agent-state settings (issue #18): break reasons, wrap-up maximum, missed calls before a break. */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { AgentStateSettings } from '../../shared/api/types';
import { describeError } from '../../shared/api/errors';
import { t } from '../../shared/i18n';

export function AgentStatesForm() {
  const [s, setS] = useState<AgentStateSettings | null>(null);
  const [reasons, setReasons] = useState('');
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    api.agentSettings().then(
      (v) => {
        setS(v);
        setReasons(v.break_reasons.join('\n'));
      },
      (e) => setNote(describeError(e)),
    );
  }, []);
  if (!s) return null;
  return (
    <form
      class="card"
      data-testid="agent-settings"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          const break_reasons = reasons.split('\n').map((r) => r.trim()).filter(Boolean);
          const saved = await api.putAgentSettings({ ...s, break_reasons });
          setS(saved);
          setReasons(saved.break_reasons.join('\n'));
          setNote(t('tel.saved'));
        } catch (err) {
          setNote(describeError(err));
        }
      }}
    >
      <h2>{t('tel.agentStatesTitle')}</h2>
      <label class="field">
        <span>{t('tel.breakReasons')}</span>
        <textarea class="input" rows={4} value={reasons} data-testid="agent-break-reasons"
          onInput={(e) => setReasons((e.target as HTMLTextAreaElement).value)} />
      </label>
      <label class="field">
        <span>{t('tel.wrapupMax')}</span>
        <input class="input" type="number" min={0} max={3600} value={s.wrapup_max_secs}
          onInput={(e) => setS({ ...s, wrapup_max_secs: Number((e.target as HTMLInputElement).value) })} />
      </label>
      <label class="field">
        <span>{t('tel.missedToBreak')}</span>
        <input class="input" type="number" min={0} max={20} value={s.missed_to_break}
          onInput={(e) => setS({ ...s, missed_to_break: Number((e.target as HTMLInputElement).value) })} />
      </label>
      <button type="submit" class="btn btn--primary">{t('common.save')}</button>
      {note && <p role="status">{note}</p>}
    </form>
  );
}
