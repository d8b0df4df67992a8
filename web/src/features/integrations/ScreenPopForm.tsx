/**
 * Integrations → Screen-pop URL: the external CRM page to open for a call, as a template with
 * placeholders (chips insert them at the cursor), and whether it opens by itself.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import { explain, say, type Msg } from '../../shared/api/errors';
import { OPEN_ON, PLACEHOLDERS, type ScreenPop } from '../../shared/api/types';
import { t } from '../../shared/i18n';
import { Alert } from '../../shared/ui/Alert';
import { FieldBox, refusedField } from './parts';

type PlaceholderName = 'caller' | 'callee' | 'direction' | 'call_id' | 'client_id';

const BY_CODE: Partial<Record<string, 'url_template'>> = { unknown_placeholder: 'url_template', invalid_url: 'url_template' };

/** `text` with `insert` put over the selection `[start, end)`; the caret's place after it. */
export function insertAt(text: string, insert: string, start: number, end: number): [string, number] {
  return [text.slice(0, start) + insert + text.slice(end), start + insert.length];
}

export function ScreenPopForm() {
  const [form, setForm] = useState<ScreenPop | null>(null);
  const [loadError, setLoadError] = useState<Msg | null>(null);
  const [fieldError, setFieldError] = useState<Msg | null>(null);
  const [error, setError] = useState<Msg | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    api.screenPop().then(setForm, (e) => setLoadError(explain(e)));
  }, []);

  const edit = (patch: Partial<ScreenPop>) => {
    setForm((f) => (f ? { ...f, ...patch } : f));
    setSaved(false);
  };

  function insert(placeholder: string) {
    if (!form) return;
    const el = input.current;
    const start = el?.selectionStart ?? form.url_template.length;
    const end = el?.selectionEnd ?? start;
    const [text, caret] = insertAt(form.url_template, placeholder, start, end);
    edit({ url_template: text });
    setTimeout(() => {
      el?.focus();
      el?.setSelectionRange(caret, caret);
    }, 0);
  }

  async function save(e: Event) {
    e.preventDefault();
    if (!form) return;
    setBusy(true);
    setError(null);
    setFieldError(null);
    try {
      setForm(await api.setScreenPop({ url_template: form.url_template.trim(), open_on: form.open_on }));
      setSaved(true);
    } catch (err) {
      if (refusedField(err, BY_CODE)) {
        setFieldError(explain(err));
        input.current?.focus();
      } else setError(explain(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card integ-section" aria-labelledby="integ-pop-title" data-testid="screen-pop-settings">
      <h2 id="integ-pop-title">{t('integ.pop.title')}</h2>
      <p class="muted">{t('integ.pop.intro')}</p>
      {loadError && <Alert kind="error">{say(loadError)}</Alert>}
      {!form && !loadError && <p aria-busy="true">{t('app.loading')}</p>}
      {form && (
        <form onSubmit={save} noValidate>
          <fieldset disabled={busy}>
            <FieldBox id="pop-template" label={t('integ.pop.template')} optional error={fieldError}
              hint={t('integ.pop.templateHint', { list: PLACEHOLDERS.join(' ') })}>
              {(a) => (
                <input {...a} ref={input} type="text" class="mono" value={form.url_template} autoComplete="off" spellcheck={false}
                  placeholder="https://crm.example.com/call?phone={caller}&id={call_id}"
                  onInput={(e) => {
                    edit({ url_template: (e.currentTarget as HTMLInputElement).value });
                    setFieldError(null);
                  }} />
              )}
            </FieldBox>
            <div class="integ-placeholders">
              <span class="muted">{t('integ.pop.insert')}</span>
              <ul class="chips" aria-label={t('integ.pop.placeholders')}>
                {PLACEHOLDERS.map((p) => (
                  <li key={p}>
                    <button type="button" class="chip integ-chip" data-testid={`chip-${p.slice(1, -1)}`}
                      aria-label={t('integ.pop.insertOne', { placeholder: p })} onClick={() => insert(p)}>
                      <code>{p}</code>
                    </button>
                    <span class="muted small"> {t(`integ.pop.ph.${p.slice(1, -1) as PlaceholderName}`)}</span>
                  </li>
                ))}
              </ul>
            </div>
            <FieldBox id="pop-open" label={t('integ.pop.openOn')}>
              {(a) => (
                <select {...a} value={form.open_on} onChange={(e) => edit({ open_on: (e.currentTarget as HTMLSelectElement).value })}>
                  {OPEN_ON.map((o) => <option key={o} value={o}>{t(`integ.pop.open.${o}`)}</option>)}
                </select>
              )}
            </FieldBox>
            {error && <Alert kind="error">{say(error)}</Alert>}
            {saved && <Alert kind="success">{t('integ.pop.saved')}</Alert>}
            <button type="submit" class="btn btn--primary" data-testid="pop-save">{busy ? t('common.saving') : t('common.save')}</button>
          </fieldset>
        </form>
      )}
    </section>
  );
}
