/** Ring timeout, forward number, voicemail, the prompts' language and the greeting of inbound calls. */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { Routing } from '../../shared/api/types';
import { describeError } from '../../shared/api/errors';
import { t } from '../../shared/i18n';

export function RoutingForm() {
  const [r, setR] = useState<Routing | null>(null);
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    api.routing().then(setR, (e) => setNote(describeError(e)));
  }, []);
  if (!r) return null;
  return (
    <form
      class="card"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          setR(await api.setRouting({ ...r, forward_number: r.forward_number?.trim() || null }));
          setNote(t('tel.saved'));
        } catch (err) {
          setNote(describeError(err));
        }
      }}
    >
      <h2>{t('tel.routingTitle')}</h2>
      <label class="field">
        <span>{t('tel.ringTimeout')}</span>
        <input class="input" type="number" min={5} max={300} value={r.ring_timeout_secs}
          onInput={(e) => setR({ ...r, ring_timeout_secs: Number((e.target as HTMLInputElement).value) })} />
      </label>
      <label class="field">
        <span>{t('tel.parkTimeout')}</span>
        <input class="input" type="number" min={5} max={600} value={r.park_timeout_secs ?? 60} data-testid="tel-park-timeout"
          onInput={(e) => setR({ ...r, park_timeout_secs: Number((e.target as HTMLInputElement).value) })} />
      </label>
      <label class="field">
        <span>{t('tel.forwardNumber')}</span>
        <input class="input" value={r.forward_number ?? ''} placeholder={t('tel.forwardNone')}
          onInput={(e) => setR({ ...r, forward_number: (e.target as HTMLInputElement).value })} />
      </label>
      <label class="check">
        <input type="checkbox" checked={!!r.voicemail} data-testid="tel-voicemail"
          onChange={(e) => setR({ ...r, voicemail: (e.target as HTMLInputElement).checked })} />
        {t('tel.voicemail')}
      </label>
      <label class="field">
        <span>{t('tel.promptLanguage')}</span>
        <select class="input" value={r.prompt_language ?? 'en'} data-testid="tel-prompt-language"
          onChange={(e) => setR({ ...r, prompt_language: (e.target as HTMLSelectElement).value })}>
          <option value="en">English</option>
          <option value="ru">Русский</option>
        </select>
      </label>
      <button type="submit" class="btn btn--primary">{t('common.save')}</button>
      {note && <p role="status">{note}</p>}
      <label class="field">
        <span>{t('tel.greeting')}</span>
        <input
          type="file"
          accept="audio/mpeg,audio/wav,.mp3,.wav"
          data-testid="tel-greeting"
          onChange={async (e) => {
            const f = (e.target as HTMLInputElement).files?.[0];
            if (!f) return;
            setNote(t('tel.greetingUploading'));
            try {
              const r = await api.uploadGreeting(f);
              setNote(t('tel.greetingSaved', { seconds: Math.round(r.duration_ms / 100) / 10 }));
            } catch (err) {
              setNote(describeError(err));
            }
          }}
        />
      </label>
      <button type="button" class="btn btn--quiet" onClick={async () => {
        try {
          await api.deleteGreeting();
          setNote(t('tel.greetingRemoved'));
        } catch (err) {
          setNote(describeError(err));
        }
      }}>{t('tel.greetingRemove')}</button>
    </form>
  );
}
