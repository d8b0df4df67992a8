/** Add or edit a webhook endpoint: URL, the events it gets, masked numbers; a new one's secret is shown once. */
import { useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import { explain, msg, say, type Msg } from '../../shared/api/errors';
import { EVENT_TYPES, type CreatedWebhook, type Webhook } from '../../shared/api/types';
import { t, type MessageKey } from '../../shared/i18n';
import { Alert } from '../../shared/ui/Alert';
import { Dialog } from '../../shared/ui/Dialog';
import { focusFirstInvalid } from '../../shared/ui/forms';
import { FieldBox, FieldError, refusedField, SecretOnce } from './parts';

type F = 'url' | 'events';
/** The field each refusal is about (the server's error names no field: its code says which). */
const BY_CODE: Partial<Record<string, F>> = {
  invalid_url: 'url',
  insecure_url: 'url',
  private_address: 'url',
  unknown_event: 'events',
};

interface Props {
  /** The endpoint to edit; none: a new one. */
  webhook?: Webhook;
  onSaved: () => void;
  onClose: () => void;
}

export function WebhookDialog({ webhook, onSaved, onClose }: Props) {
  const [url, setUrl] = useState(webhook?.url ?? '');
  const [events, setEvents] = useState<string[]>(webhook?.events ?? []);
  const [mask, setMask] = useState(webhook?.mask_numbers ?? false);
  const [errors, setErrors] = useState<Partial<Record<F, Msg>>>({});
  const [error, setError] = useState<Msg | null>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<CreatedWebhook | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    const form = e.currentTarget;
    const found: Partial<Record<F, Msg>> = {};
    if (!url.trim()) found.url = msg('integ.hooks.urlRule');
    if (events.length === 0) found.events = msg('integ.hooks.eventsRule');
    setErrors(found);
    setError(null);
    if (Object.keys(found).length) return focusFirstInvalid(form);
    const body = { url: url.trim(), events, mask_numbers: mask };
    setBusy(true);
    try {
      if (webhook) {
        await api.updateWebhook(webhook.id, body);
        onSaved();
        onClose();
        return;
      }
      setCreated(await api.createWebhook(body));
      onSaved();
    } catch (err) {
      const f = refusedField(err, BY_CODE);
      if (f) {
        setErrors({ [f]: explain(err) });
        focusFirstInvalid(form);
      } else setError(explain(err));
    } finally {
      setBusy(false);
    }
  }

  if (created) {
    return (
      <Dialog title={t('integ.hooks.createdTitle')} onClose={onClose}>
        <p><code>{created.webhook.url}</code></p>
        <SecretOnce secret={created.secret} note={t('integ.hooks.secretUse')} />
        <div class="dialog__actions">
          <button type="button" class="btn btn--primary" onClick={onClose} autoFocus>{t('integ.secret.done')}</button>
        </div>
      </Dialog>
    );
  }

  const toggle = (ev: string, on: boolean) => setEvents((list) => (on ? [...list, ev] : list.filter((x) => x !== ev)));
  return (
    <Dialog title={webhook ? t('integ.hooks.editTitle') : t('integ.hooks.newTitle')} onClose={onClose} busy={busy}>
      <form onSubmit={submit} noValidate>
        <fieldset disabled={busy}>
          <FieldBox id="hook-url" label={t('integ.hooks.url')} error={errors.url} hint={t('integ.hooks.urlHint')}>
            {(a) => (
              <input {...a} type="url" value={url} autoComplete="off" aria-required="true" placeholder="https://crm.example.com/callbase"
                onInput={(e) => setUrl((e.currentTarget as HTMLInputElement).value)} />
            )}
          </FieldBox>
          <fieldset class="checkboxes" aria-describedby={errors.events ? 'hook-events-error' : undefined}>
            <legend>{t('integ.hooks.events')}</legend>
            {EVENT_TYPES.map((ev) => (
              <label key={ev} class="checkbox">
                <input type="checkbox" data-testid={`event-${ev}`} checked={events.includes(ev)} aria-invalid={errors.events ? 'true' : undefined}
                  onChange={(e) => toggle(ev, (e.currentTarget as HTMLInputElement).checked)} />
                <code>{ev}</code>
                <span class="muted"> — {t(`integ.event.${ev}` as MessageKey)}</span>
              </label>
            ))}
            {errors.events && <FieldError id="hook-events-error" error={errors.events} />}
          </fieldset>
          <label class="checkbox">
            <input type="checkbox" data-testid="hook-mask" checked={mask} onChange={(e) => setMask((e.currentTarget as HTMLInputElement).checked)} />
            <span>{t('integ.hooks.mask')}</span>
          </label>
          <p class="field__hint">{t('integ.hooks.maskHint')}</p>
          {error && <Alert kind="error">{say(error)}</Alert>}
          <div class="dialog__actions">
            <button type="button" class="btn" onClick={onClose}>{t('common.cancel')}</button>
            <button type="submit" class="btn btn--primary" data-testid="hook-save">
              {busy ? t('common.saving') : webhook ? t('common.save') : t('integ.hooks.add')}
            </button>
          </div>
        </fieldset>
      </form>
    </Dialog>
  );
}
