import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import { subscribe } from '../../shared/events';
import type { FraudLimits, SecurityAlert } from '../../shared/api/types';
import { Alert } from '../../shared/ui/Alert';
import { describeError } from '../../shared/api/errors';
import { t } from '../../shared/i18n';
import { formatDateTime } from '../../shared/i18n/format';

/**
 * Toll-fraud alerts for administrators: the newest alerts (live through `security_alert` events)
 * and, for a call to a country not yet allowed, the one-click allow.
 */
export function SecurityCard() {
  const [alerts, setAlerts] = useState<SecurityAlert[] | null>(null);
  const [limits, setLimits] = useState<FraudLimits | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function load() {
    try {
      const [a, l] = await Promise.all([api.securityAlerts(), api.fraudLimits()]);
      setAlerts(a);
      setLimits(l);
      setError(null);
    } catch (e) {
      setError(describeError(e));
    }
  }
  useEffect(() => {
    void load();
    return subscribe(
      'security_alert',
      ({ alert: a }) => setAlerts((list) => [a, ...(list ?? []).filter((x) => x.id !== a.id)].slice(0, 20)),
      { onReconnect: () => void load() },
    );
  }, []);

  async function allow(code: string) {
    try {
      setLimits(await api.allowCountry(code));
    } catch (e) {
      setError(describeError(e));
    }
  }

  const countries = limits?.allowed_countries ?? [];
  const allowed = new Set(countries);
  return (
    <div class="card" data-testid="security-alerts">
      <h2>{t('sec.title')}</h2>
      {error && <Alert kind="error">{error}</Alert>}
      {limits && (
        <p class="muted">
          {t('sec.limits', { tenant: limits.max_calls_tenant, user: limits.max_calls_user, perMinute: limits.calls_per_minute_user, perDay: limits.minutes_per_day_tenant })}{' '}
          {t('sec.countries')}: {countries.length ? countries.map((c) => `+${c}`).join(', ') : t('sec.noCountries')}
        </p>
      )}
      {alerts && alerts.length === 0 && <p class="muted">{t('sec.none')}</p>}
      {alerts && alerts.length > 0 && (
        <ul class="list" data-testid="security-alert-list">
          {alerts.map((a) => (
            <li key={a.id} data-level={a.level}>
              <strong>{a.level === 'blocked' ? t('sec.blocked') : t('sec.warning')}</strong> {formatDateTime(a.at)} — {a.message}{' '}
              {a.kind === 'country_not_allowed' && a.country_code && !allowed.has(a.country_code) && (
                <button type="button" class="btn btn--quiet" data-testid={`allow-country-${a.country_code}`} onClick={() => void allow(a.country_code!)}>
                  {t('sec.allowCountry', { code: a.country_code })}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
