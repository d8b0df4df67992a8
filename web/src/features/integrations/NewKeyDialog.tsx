/** "New key": name, scopes, optional expiry, allowed networks, rate; then the token, shown once. */
import { useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import { explain, msg, say, type Msg } from '../../shared/api/errors';
import { SCOPES, type CreatedApiKey, type NewApiKey, type Scope } from '../../shared/api/types';
import { t, type MessageKey } from '../../shared/i18n';
import { Alert } from '../../shared/ui/Alert';
import { Dialog } from '../../shared/ui/Dialog';
import { focusFirstInvalid } from '../../shared/ui/forms';
import { FieldBox, FieldError, refusedField, SecretOnce } from './parts';

type F = 'name' | 'scopes' | 'expires_at' | 'allowed_networks' | 'rate_per_minute';
/** The field each refusal is about (the server's error names no field: its code says which). */
const BY_CODE: Partial<Record<string, F>> = {
  invalid_name: 'name',
  unknown_scope: 'scopes',
  admins_only: 'scopes',
  invalid_expiry: 'expires_at',
  invalid_network: 'allowed_networks',
  invalid_rate: 'rate_per_minute',
};
const DEFAULT_RATE = 600;

/** The end of day `date` (`YYYY-MM-DD`) in the user's time zone, as RFC 3339. */
export function endOfDay(date: string): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(y!, m! - 1, d!, 23, 59, 59).toISOString();
}

/** Today as `YYYY-MM-DD` in the user's time zone (the date input's minimum). */
function today(): string {
  const n = new Date();
  return `${n.getFullYear()}-${String(n.getMonth() + 1).padStart(2, '0')}-${String(n.getDate()).padStart(2, '0')}`;
}

interface Props {
  /** Only an Administrator may grant `admin`. */
  isAdministrator: boolean;
  onCreated: () => void;
  onClose: () => void;
}

export function NewKeyDialog({ isAdministrator, onCreated, onClose }: Props) {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<Scope[]>([]);
  const [expiry, setExpiry] = useState('');
  const [networks, setNetworks] = useState('');
  const [rate, setRate] = useState(String(DEFAULT_RATE));
  const [errors, setErrors] = useState<Partial<Record<F, Msg>>>({});
  const [error, setError] = useState<Msg | null>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);

  function check(): Partial<Record<F, Msg>> {
    const found: Partial<Record<F, Msg>> = {};
    const n = name.trim();
    if (n.length < 1 || n.length > 80) found.name = msg('integ.keys.nameRule');
    if (scopes.length === 0) found.scopes = msg('integ.keys.scopesRule');
    if (expiry && Date.parse(endOfDay(expiry)) <= Date.now()) found.expires_at = msg('error.invalid_expiry');
    const r = Number(rate);
    if (!/^\d+$/.test(rate.trim()) || r < 1 || r > 100000) found.rate_per_minute = msg('integ.keys.rateRule');
    return found;
  }

  async function submit(e: Event) {
    e.preventDefault();
    const form = e.currentTarget;
    const found = check();
    setErrors(found);
    setError(null);
    if (Object.keys(found).length) return focusFirstInvalid(form);
    const body: NewApiKey = {
      name: name.trim(),
      scopes,
      expires_at: expiry ? endOfDay(expiry) : null,
      allowed_networks: networks.split('\n').map((l) => l.trim()).filter(Boolean),
      rate_per_minute: Number(rate),
    };
    setBusy(true);
    try {
      setCreated(await api.createApiKey(body));
      onCreated();
    } catch (err) {
      const f = refusedField(err, BY_CODE);
      const why = f === 'name' ? msg('integ.keys.nameRule') : explain(err);
      if (f) {
        setErrors({ [f]: why });
        focusFirstInvalid(form);
      } else setError(why);
    } finally {
      setBusy(false);
    }
  }

  if (created) {
    return (
      <Dialog title={t('integ.keys.createdTitle', { name: created.key.name })} onClose={onClose}>
        <SecretOnce secret={created.secret} note={t('integ.keys.secretUse')} />
        <div class="dialog__actions">
          <button type="button" class="btn btn--primary" onClick={onClose} autoFocus>{t('integ.secret.done')}</button>
        </div>
      </Dialog>
    );
  }

  const toggle = (s: Scope, on: boolean) => setScopes((list) => (on ? [...list, s] : list.filter((x) => x !== s)));
  const input = (set: (v: string) => void) => (e: Event) => set((e.currentTarget as HTMLInputElement).value);
  return (
    <Dialog title={t('integ.keys.newTitle')} onClose={onClose} busy={busy}>
      <form onSubmit={submit} noValidate>
        <fieldset disabled={busy}>
          <FieldBox id="key-name" label={t('integ.keys.name')} error={errors.name} hint={t('integ.keys.nameHint')}>
            {(a) => <input {...a} type="text" value={name} maxLength={80} autoComplete="off" aria-required="true" onInput={input(setName)} />}
          </FieldBox>
          <fieldset class="checkboxes" aria-describedby={errors.scopes ? 'key-scopes-error' : undefined}>
            <legend>{t('integ.keys.scopes')}</legend>
            {SCOPES.map((s) => {
              const locked = s === 'admin' && !isAdministrator;
              return (
                <label key={s} class="checkbox">
                  <input type="checkbox" data-testid={`scope-${s}`} checked={scopes.includes(s)} disabled={locked}
                    aria-invalid={errors.scopes ? 'true' : undefined}
                    onChange={(e) => toggle(s, (e.currentTarget as HTMLInputElement).checked)} />
                  <code>{s}</code>
                  <span class="muted"> — {t(`integ.scope.${s}` as MessageKey)}</span>
                </label>
              );
            })}
            {!isAdministrator && <p class="field__hint" data-testid="scope-admin-hint">{t('integ.keys.adminOnly')}</p>}
            {errors.scopes && <FieldError id="key-scopes-error" error={errors.scopes} />}
          </fieldset>
          <div class="field-row">
            <FieldBox id="key-expires" label={t('integ.keys.expires')} optional error={errors.expires_at} hint={t('integ.keys.expiresHint')}>
              {(a) => <input {...a} type="date" min={today()} value={expiry} onInput={input(setExpiry)} />}
            </FieldBox>
            <FieldBox id="key-rate" label={t('integ.keys.rate')} error={errors.rate_per_minute} hint={t('integ.keys.rateHint')}>
              {(a) => <input {...a} type="number" min={1} max={100000} step={1} value={rate} onInput={input(setRate)} />}
            </FieldBox>
          </div>
          <FieldBox id="key-networks" label={t('integ.keys.networks')} optional error={errors.allowed_networks} hint={t('integ.keys.networksHint')}>
            {(a) => (
              <textarea {...a} rows={3} class="mono" spellcheck={false} placeholder="203.0.113.0/24" value={networks}
                onInput={(e) => setNetworks((e.currentTarget as HTMLTextAreaElement).value)} />
            )}
          </FieldBox>
          {error && <Alert kind="error">{say(error)}</Alert>}
          <div class="dialog__actions">
            <button type="button" class="btn" onClick={onClose}>{t('common.cancel')}</button>
            <button type="submit" class="btn btn--primary" data-testid="key-create">{busy ? t('common.creating') : t('integ.keys.create')}</button>
          </div>
        </fieldset>
      </form>
    </Dialog>
  );
}
