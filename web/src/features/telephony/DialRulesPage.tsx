import { useEffect, useState } from 'preact/hooks';
import { api, isApiError } from '../../shared/api/client';
import type { DialDirection, DialRules, NumberPreview } from '../../shared/api/types';
import { Alert } from '../../shared/ui/Alert';
import { describeError } from '../../shared/api/errors';
import { t, type MessageKey } from '../../shared/i18n';

const DIRECTIONS: DialDirection[] = ['internal', 'local', 'national', 'mobile', 'international'];

/** Examples shown under the form: what each typed number becomes with the rules being edited. */
function examples(r: DialRules): string[] {
  const local = '1234567'.padEnd(r.local_length, '0').slice(0, r.local_length);
  return [
    local,
    `${r.national_prefix}${r.city_prefix}${local}`,
    `+${r.country_code}${r.mobile_prefixes[0] ?? '9'}161234567`,
    `${r.international_prefix}4420794600000`,
    ...r.short_rules.map((s) => s.replace(/^_/, '').replace(/X/g, '1').replace(/[ZN]/g, '2')),
  ];
}

/** Settings → Telephony → Dial rules, with a live example per rule. */
export function DialRulesPage() {
  const [rules, setRules] = useState<DialRules | null>(null);
  const [previews, setPreviews] = useState<[string, NumberPreview][]>([]);
  const [tryNumber, setTryNumber] = useState('');
  const [tried, setTried] = useState<NumberPreview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    api.dialRules().then(setRules, (e) => setError(describeError(e)));
  }, []);
  useEffect(() => {
    if (!rules) return;
    const timer = setTimeout(async () => {
      try {
        const out: [string, NumberPreview][] = [];
        for (const n of examples(rules)) out.push([n, await api.previewWithRules(n, rules)]);
        setPreviews(out);
        setError(null);
      } catch (e) {
        setError(isApiError(e) ? e.message : describeError(e));
      }
    }, 250);
    return () => clearTimeout(timer);
  }, [rules]);

  if (!rules) return <p class="loading">{error ?? t('app.loading')}</p>;
  const set = (patch: Partial<DialRules>) => {
    setSaved(false);
    setRules({ ...rules, ...patch });
  };
  const list = (v: string) => v.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
  const text = (key: keyof DialRules, label: MessageKey) => (
    <label class="field">
      <span>{t(label)}</span>
      <input class="input" value={String(rules[key])} data-testid={`rule-${key}`}
        onInput={(e) => set({ [key]: (e.target as HTMLInputElement).value } as Partial<DialRules>)} />
    </label>
  );
  const show = (p: NumberPreview) => (p.refused ? `✕ ${p.refused}` : `→ ${p.e164 ?? p.dial} (${p.direction})`);
  return (
    <section class="page">
      <h1>{t('tel.dialRules')}</h1>
      {error && <Alert kind="error">{error}</Alert>}
      <form
        class="card"
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            setRules(await api.setDialRules(rules));
            setSaved(true);
          } catch (err) {
            setError(isApiError(err) ? err.message : describeError(err));
          }
        }}
      >
        {text('country_code', 'dial.countryCode')}
        {text('city_prefix', 'dial.cityPrefix')}
        {text('national_prefix', 'dial.nationalPrefix')}
        {text('international_prefix', 'dial.internationalPrefix')}
        <label class="field">
          <span>{t('dial.localLength')}</span>
          <input class="input" type="number" min={3} max={10} value={rules.local_length}
            onInput={(e) => set({ local_length: Number((e.target as HTMLInputElement).value) })} />
        </label>
        <label class="field">
          <span>{t('dial.shortRules')}</span>
          <input class="input" value={rules.short_rules.join(', ')} placeholder="_1XX, 112"
            onChange={(e) => set({ short_rules: list((e.target as HTMLInputElement).value) })} />
        </label>
        <label class="field">
          <span>{t('dial.blocked')}</span>
          <input class="input" value={rules.blocked_country_codes.join(', ')} placeholder="7, 380"
            onChange={(e) => set({ blocked_country_codes: list((e.target as HTMLInputElement).value).map((c) => c.replace(/^\+/, '')) })} />
        </label>
        <label class="field">
          <span>{t('dial.allowedPremium')}</span>
          <input class="input" value={(rules.allowed_premium ?? []).join(', ')} placeholder="7809" data-testid="allowed-premium"
            onChange={(e) => set({ allowed_premium: list((e.target as HTMLInputElement).value).map((c) => c.replace(/^\+/, '')) })} />
        </label>
        <fieldset>
          <legend>{t('dial.allowed')}</legend>
          {DIRECTIONS.map((d) => (
            <label class="check">
              <input type="checkbox" checked={rules.allowed[d]} data-testid={`allow-${d}`}
                onChange={() => set({ allowed: { ...rules.allowed, [d]: !rules.allowed[d] } })} />{' '}
              {t(`dial.dir.${d}` as MessageKey)}
            </label>
          ))}
        </fieldset>
        <button type="submit" class="btn btn--primary">{t('common.save')}</button>
        {saved && <p role="status">{t('tel.saved')}</p>}
      </form>
      <div class="card">
        <h2>{t('dial.examples')}</h2>
        <ul data-testid="dial-examples">
          {previews.map(([n, p]) => (
            <li><code>{n}</code> {show(p)}</li>
          ))}
        </ul>
        <form
          class="row"
          onSubmit={async (e) => {
            e.preventDefault();
            try {
              setTried(await api.previewWithRules(tryNumber, rules));
            } catch (err) {
              setError(isApiError(err) ? err.message : describeError(err));
            }
          }}
        >
          <input class="input" value={tryNumber} placeholder={t('dial.tryNumber')} aria-label={t('dial.tryNumber')}
            onInput={(e) => setTryNumber((e.target as HTMLInputElement).value)} />
          <button type="submit" class="btn">{t('dial.try')}</button>
        </form>
        {tried && <p role="status">{show(tried)}</p>}
      </div>
    </section>
  );
}
