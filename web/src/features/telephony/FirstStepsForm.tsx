/**
 * Each trunk's first step (issue #19): where its inbound calls go first — ring everyone (inbound
 * routing as before), a queue, a voice menu, or one telephony user. A line whose queue, menu or
 * user was deleted is `gone`: its calls ring everyone until an administrator chooses again, and
 * the row says so.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { FirstStep, FirstStepBody, Menu, Queue, TelUser } from '../../shared/api/types';
import { describeError } from '../../shared/api/errors';
import { Alert } from '../../shared/ui/Alert';
import { Icon } from '../../shared/ui/Icon';
import { useLoaded } from '../../shared/ui/useLoaded';
import { t } from '../../shared/i18n';

/** The select's value of a saved step: `ring_all`, `queue:<id>`, `user:<id>`, `menu:<id>`; '' when gone. */
function valueOf(s: FirstStep): string {
  if (s.gone) return '';
  if (s.step === 'queue') return `queue:${s.queue_id}`;
  if (s.step === 'user') return `user:${s.user_id}`;
  if (s.step === 'menu') return `menu:${s.menu_id}`;
  return 'ring_all';
}

function bodyOf(value: string): FirstStepBody {
  const [step, id] = value.split(':');
  if (step === 'queue') return { step, queue_id: Number(id) };
  if (step === 'user') return { step, user_id: Number(id) };
  if (step === 'menu') return { step, menu_id: Number(id) };
  return { step: 'ring_all' };
}

interface Props {
  /** Changes after a queue or a menu was saved or deleted: the steps and the choices are read again. */
  version: number;
}

export function FirstStepsForm({ version }: Props) {
  const { data: [steps, queues, users, menus], error, setError, load } = useLoaded<[FirstStep[], Queue[], TelUser[], Menu[]]>(
    () => Promise.all([api.firstSteps(), api.queues(), api.listTelUsers(), api.menus()]),
    [[], [], [], []],
  );
  // The choice not saved yet, per trunk id (kept when the server refuses it).
  const [choice, setChoice] = useState<Record<number, string>>({});
  const [busy, setBusy] = useState<number | null>(null);
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    if (version > 0) void load();
  }, [version]);

  async function save(s: FirstStep, value: string) {
    setError(null);
    setNote(null);
    setBusy(s.id);
    try {
      await api.setFirstStep(s.id, bodyOf(value));
      await load();
      setChoice((c) => {
        const rest = { ...c };
        delete rest[s.id];
        return rest;
      });
      setNote(t('fs.saved', { line: s.label }));
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(null);
    }
  }

  return (
    <div class="card" data-testid="first-steps">
      <h2>{t('fs.title')}</h2>
      <p class="muted">{t('fs.intro')}</p>
      {error && <Alert kind="error">{error}</Alert>}
      {steps.length === 0 ? (
        <p>{t('fs.empty')}</p>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th>{t('fs.line')}</th>
              <th>{t('fs.step')}</th>
              <th><span class="sr-only">{t('common.actions')}</span></th>
            </tr>
          </thead>
          <tbody>
            {steps.map((s) => {
              const value = choice[s.id] ?? valueOf(s);
              return (
                <tr key={s.id} data-testid="first-step" data-trunk={s.id} data-gone={s.gone ? 'true' : undefined}>
                  <td>
                    <strong>{s.label}</strong>
                    {s.number && <span class="muted mono"> {s.number}</span>}
                  </td>
                  <td>
                    <select class="input" data-testid="first-step-select" aria-label={`${t('fs.step')}: ${s.label}`} value={value}
                      onChange={(e) => {
                        const v = (e.target as HTMLSelectElement).value;
                        setChoice((c) => ({ ...c, [s.id]: v }));
                      }}>
                      {value === '' && <option value="" disabled>{t('fs.chooseAgain')}</option>}
                      <option value="ring_all">{t('fs.ringAll')}</option>
                      {queues.length > 0 && (
                        <optgroup label={t('fs.queues')}>
                          {queues.map((q) => <option key={q.id} value={`queue:${q.id}`}>{q.name}</option>)}
                        </optgroup>
                      )}
                      {menus.length > 0 && (
                        <optgroup label={t('fs.menus')}>
                          {menus.map((m) => <option key={m.id} value={`menu:${m.id}`}>{m.name}</option>)}
                        </optgroup>
                      )}
                      {users.length > 0 && (
                        <optgroup label={t('fs.users')}>
                          {users.map((u) => <option key={u.user_id} value={`user:${u.user_id}`}>{u.name} ({u.extension})</option>)}
                        </optgroup>
                      )}
                    </select>
                    {s.gone && (
                      <p class="warn" role="status" data-testid="first-step-gone">
                        <Icon name="alert" size={14} /> {t('fs.gone')}
                      </p>
                    )}
                  </td>
                  <td class="table__actions">
                    <button type="button" class="btn btn--small" data-testid="first-step-save"
                      aria-label={`${t('common.save')}: ${s.label}`}
                      disabled={busy !== null || value === '' || value === valueOf(s)}
                      onClick={() => void save(s, value)}>
                      {busy === s.id ? t('common.saving') : t('common.save')}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {note && <p role="status">{note}</p>}
    </div>
  );
}
