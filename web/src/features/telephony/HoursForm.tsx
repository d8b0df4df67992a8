/**
 * Business hours (issue #19): the tenant's time zone, opening ranges per weekday, holidays, and
 * what callers get while closed (a greeting, a number). The server checks everything and names the
 * entry it refuses; nothing is saved then.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { components } from '../../shared/api/schema';
import { describeError } from '../../shared/api/errors';
import { Alert } from '../../shared/ui/Alert';
import { t, type MessageKey } from '../../shared/i18n';
import { setTimeZone } from '../../shared/i18n/format';

type Hours = components['schemas']['Hours'];
type OpenNow = components['schemas']['OpenNow'];
type Range = components['schemas']['OpeningRange'];

const DAYS: MessageKey[] = ['hours.mon', 'hours.tue', 'hours.wed', 'hours.thu', 'hours.fri', 'hours.sat', 'hours.sun'];

/** The IANA zones the browser knows (the server checks the name against PostgreSQL's list). */
function zones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  return intl.supportedValuesOf?.('timeZone') ?? ['UTC', 'Europe/Moscow', 'Europe/London', 'Asia/Kolkata'];
}

export function HoursForm() {
  const [h, setH] = useState<Hours | null>(null);
  const [now, setNow] = useState<OpenNow | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);

  async function refreshNow() {
    try {
      setNow(await api.hoursNow());
    } catch {
      setNow(null);
    }
  }
  useEffect(() => {
    api.hours().then(setH, (e) => setError(describeError(e)));
    void refreshNow();
  }, []);
  if (!h) return error ? <Alert kind="error">{error}</Alert> : null;

  const setRange = (i: number, patch: Partial<Range>) =>
    setH({ ...h, weekly: h.weekly.map((r, j) => (j === i ? { ...r, ...patch } : r)) });
  const setHoliday = (i: number, patch: Partial<Hours['holidays'][number]>) =>
    setH({ ...h, holidays: h.holidays.map((d, j) => (j === i ? { ...d, ...patch } : d)) });

  async function save(e: Event) {
    e.preventDefault();
    if (!h) return;
    setError(null);
    setNote(null);
    try {
      const saved = await api.setHours({ ...h, closed_forward: h.closed_forward?.trim() || null });
      setH(saved);
      setTimeZone(saved.time_zone);
      setNote(t('tel.saved'));
      await refreshNow();
    } catch (err) {
      setError(describeError(err));
    }
  }

  return (
    <form class="card" data-testid="hours" onSubmit={save}>
      <h2>{t('hours.title')}</h2>
      <p class="muted">{t('hours.intro')}</p>
      {now && (
        <p role="status" data-testid="hours-now">
          <strong>{now.open ? t('hours.openNow') : now.holiday != null ? t('hours.holidayNow', { name: now.holiday }) : t('hours.closedNow')}</strong>
          <span class="muted"> · {now.local_now}</span>
        </p>
      )}
      {error && <Alert kind="error">{error}</Alert>}
      <label class="check">
        <input type="checkbox" checked={h.enabled} data-testid="hours-enabled"
          onChange={(e) => setH({ ...h, enabled: (e.target as HTMLInputElement).checked })} />
        {t('hours.enabled')}
      </label>
      <label class="field">
        <span>{t('hours.timeZone')}</span>
        <input class="input" list="hours-zones" value={h.time_zone} data-testid="hours-zone"
          onInput={(e) => setH({ ...h, time_zone: (e.target as HTMLInputElement).value })} />
        <datalist id="hours-zones">{zones().map((z) => <option key={z} value={z} />)}</datalist>
      </label>

      <fieldset class="checkboxes">
        <legend>{t('hours.weekly')}</legend>
        {DAYS.map((label, d) => (
          <div class="hours-day" key={label} data-testid={`hours-day-${d + 1}`}>
            <span class="hours-day__name">{t(label)}</span>
            {h.weekly.map((r, i) => r.day !== d + 1 ? null : (
              <span class="hours-range" key={i}>
                <input class="input input--time" value={r.from} aria-label={t('hours.from')} placeholder="09:00"
                  onInput={(e) => setRange(i, { from: (e.target as HTMLInputElement).value })} />
                –
                <input class="input input--time" value={r.to} aria-label={t('hours.to')} placeholder="18:00"
                  onInput={(e) => setRange(i, { to: (e.target as HTMLInputElement).value })} />
                <button type="button" class="btn btn--quiet" aria-label={t('hours.removeRange')}
                  onClick={() => setH({ ...h, weekly: h.weekly.filter((_, j) => j !== i) })}>×</button>
              </span>
            ))}
            {!h.weekly.some((r) => r.day === d + 1) && <span class="muted">{t('hours.closedDay')}</span>}
            <button type="button" class="btn btn--quiet" data-testid={`hours-add-${d + 1}`}
              onClick={() => setH({ ...h, weekly: [...h.weekly, { day: d + 1, from: '09:00', to: '18:00' }] })}>
              {t('hours.addRange')}
            </button>
          </div>
        ))}
      </fieldset>

      <fieldset class="checkboxes">
        <legend>{t('hours.holidays')}</legend>
        {h.holidays.map((d, i) => (
          <div class="hours-day" key={i}>
            <input class="input" type="date" value={d.date} aria-label={t('hours.date')}
              onInput={(e) => setHoliday(i, { date: (e.target as HTMLInputElement).value })} />
            <input class="input" value={d.name} aria-label={t('hours.holidayName')} placeholder={t('hours.holidayName')}
              onInput={(e) => setHoliday(i, { name: (e.target as HTMLInputElement).value })} />
            <button type="button" class="btn btn--quiet" aria-label={t('hours.removeHoliday')}
              onClick={() => setH({ ...h, holidays: h.holidays.filter((_, j) => j !== i) })}>×</button>
          </div>
        ))}
        <button type="button" class="btn btn--quiet" data-testid="hours-add-holiday"
          onClick={() => setH({ ...h, holidays: [...h.holidays, { date: '', name: '' }] })}>
          {t('hours.addHoliday')}
        </button>
      </fieldset>

      <label class="field">
        <span>{h.closed_greeting ? t('hours.greetingSet') : t('hours.greeting')}</span>
        <input type="file" accept="audio/mpeg,audio/wav,.mp3,.wav" data-testid="hours-greeting"
          onChange={async (e) => {
            const f = (e.target as HTMLInputElement).files?.[0];
            if (!f) return;
            setError(null);
            setNote(t('tel.greetingUploading'));
            try {
              const r = await api.uploadClosedGreeting(f);
              setH({ ...h, closed_greeting: true });
              setNote(t('hours.greetingSaved', { seconds: Math.round(r.duration_ms / 100) / 10 }));
            } catch (err) {
              setNote(null);
              setError(describeError(err));
            }
          }} />
      </label>
      {h.closed_greeting && (
        <button type="button" class="btn btn--quiet" onClick={async () => {
          try {
            await api.deleteClosedGreeting();
            setH({ ...h, closed_greeting: false });
            setNote(t('hours.greetingRemoved'));
          } catch (err) {
            setError(describeError(err));
          }
        }}>{t('hours.greetingRemove')}</button>
      )}
      <label class="field">
        <span>{t('hours.closedForward')}</span>
        <input class="input" value={h.closed_forward ?? ''} placeholder={t('hours.closedForwardNone')}
          onInput={(e) => setH({ ...h, closed_forward: (e.target as HTMLInputElement).value })} />
      </label>
      <button type="submit" class="btn btn--primary" data-testid="hours-save">{t('common.save')}</button>
      {note && <p role="status">{note}</p>}
    </form>
  );
}
