import { useEffect, useState } from 'preact/hooks';
import { api, isApiError } from '../../shared/api/client';
import type { Trunk, TrunkMode, TrunkPreset, TrunkRequest } from '../../shared/api/types';
import { Alert } from '../../shared/ui/Alert';
import { Dialog } from '../../shared/ui/Dialog';
import { Field } from '../../shared/ui/Field';
import { explain, say, type Msg } from '../../shared/api/errors';
import { t } from '../../shared/i18n';
import { hostAndDomain, trunkMode } from './status';

const SAMPLE = '7 495 123-45-67';

/** Add or edit a trunk: simple (user, password, domain) or extended (+ number, host), preset, rewrite preview. */
export function TrunkDialog({ trunk, onClose, onSaved }: { trunk?: Trunk; onClose: () => void; onSaved: (t: Trunk) => void }) {
  const [mode, setMode] = useState<TrunkMode>(trunkMode(trunk?.mode));
  const [label, setLabel] = useState(trunk?.label ?? '');
  const [number, setNumber] = useState(trunk?.number ?? '');
  const [username, setUsername] = useState(trunk?.username ?? '');
  const [password, setPassword] = useState('');
  const [domain, setDomain] = useState(trunk?.domain ?? '');
  const [host, setHost] = useState(trunk && trunk.host !== trunk.domain ? trunk.host : '');
  const [rewrite, setRewrite] = useState(trunk?.rewrite ?? '');
  const [preset, setPreset] = useState(trunk?.preset ?? '');
  const [presets, setPresets] = useState<TrunkPreset[]>([]);
  const [preview, setPreview] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Msg | null>(null);

  useEffect(() => {
    api.trunkPresets().then(setPresets, () => setPresets([]));
  }, []);

  // Live preview of the rewrite rule with the server's engine (the one calls use), debounced.
  useEffect(() => {
    if (!rewrite.trim()) {
      setPreview(null);
      return;
    }
    const timer = setTimeout(() => {
      api.rewritePreview(rewrite, SAMPLE).then(
        (r) => setPreview(t('trunks.rewritePreview', { sample: SAMPLE, result: r.result })),
        (e) => setPreview(isApiError(e) ? e.message : say(explain(e))),
      );
    }, 300);
    return () => clearTimeout(timer);
  }, [rewrite]);

  function pickPreset(id: string) {
    setPreset(id);
    const p = presets.find((x) => x.id === id);
    if (!p) return;
    setMode(trunkMode(p.mode));
    setDomain(p.domain);
    setHost(p.host === p.domain ? '' : p.host);
    setRewrite(p.rewrite ?? '');
  }

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const hd = hostAndDomain(mode, domain, host);
    const req: TrunkRequest = {
      mode,
      label,
      username,
      domain: hd.domain,
      host: mode === 'extended' ? hd.host : undefined,
      number: mode === 'extended' ? number : undefined,
      rewrite: rewrite.trim() || undefined,
      preset: preset || undefined,
      password: password || undefined,
    };
    try {
      onSaved(trunk ? await api.updateTrunk(trunk.id, req) : await api.createTrunk(req));
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title={trunk ? t('trunks.editTitle') : t('trunks.addTitle')} onClose={onClose} busy={busy}>
      <form onSubmit={submit} class="form">
        {error && <Alert kind="error">{say(error)}</Alert>}
        <fieldset class="field">
          <legend>{t('trunks.mode')}</legend>
          {(['simple', 'extended'] as const).map((m) => (
            <label key={m} class="radio">
              <input type="radio" name="mode" value={m} checked={mode === m} onChange={() => setMode(m)} /> {t(`trunks.mode.${m}`)}
            </label>
          ))}
        </fieldset>
        {presets.length > 0 && (
          <div class="field">
            <label for="trunk-preset">{t('trunks.preset')}</label>
            <select id="trunk-preset" value={preset} onChange={(e) => pickPreset((e.currentTarget as HTMLSelectElement).value)}>
              <option value="">{t('trunks.presetNone')}</option>
              {presets.map((p) => (
                <option key={p.id} value={p.id}>{p.name}</option>
              ))}
            </select>
          </div>
        )}
        <Field id="trunk-label" label={t('trunks.label')} value={label} onInput={setLabel} optional />
        {mode === 'extended' && <Field id="trunk-number" label={t('trunks.number')} value={number} onInput={setNumber} optional />}
        <Field id="trunk-user" label={t('trunks.user')} value={username} onInput={setUsername} required autoComplete="off" />
        <Field
          id="trunk-password"
          label={t('trunks.password')}
          type="password"
          value={password}
          onInput={setPassword}
          autoComplete="new-password"
          required={!trunk}
          hint={trunk ? t('trunks.passwordStored') : undefined}
        />
        <Field id="trunk-domain" label={t('trunks.domain')} value={domain} onInput={setDomain} hint={t('trunks.domainHint')} />
        {mode === 'extended' && <Field id="trunk-host" label={t('trunks.host')} value={host} onInput={setHost} hint={t('trunks.hostHint')} optional />}
        <Field id="trunk-rewrite" label={t('trunks.rewrite')} value={rewrite} onInput={setRewrite} hint={preview ?? t('trunks.rewriteHint')} optional />
        <div class="form__actions">
          <button type="button" class="btn" onClick={onClose} disabled={busy}>{t('common.cancel')}</button>
          <button type="submit" class="btn btn--primary" disabled={busy}>{busy ? t('common.saving') : t('common.save')}</button>
        </div>
      </form>
    </Dialog>
  );
}
