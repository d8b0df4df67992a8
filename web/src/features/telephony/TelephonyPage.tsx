import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { TelephonyState, TelUser } from '../../shared/api/types';
import { Alert } from '../../shared/ui/Alert';
import { describeError } from '../../shared/api/errors';
import { t } from '../../shared/i18n';
import { ProbeCard } from './ProbeCard';
import { SecurityCard } from '../security/SecurityCard';
import { CrmSettingsForm } from './CrmSettingsForm';
import { DangerZone } from './DangerZone';
import { Provisioning } from './Provisioning';
import { RecordingForm } from './RecordingForm';
import { RoutingForm } from './RoutingForm';
import { AgentStatesForm } from './AgentStatesForm';
import { SpeedDialsForm } from './SpeedDialsForm';
import { BlocklistForm } from './BlocklistForm';
import { HoursForm } from './HoursForm';
import { CallFlow } from './CallFlow';
import { SecretBox, TelUsers } from './TelUsers';

/**
 * Settings → Telephony: the module switch, telephony users, auto-provisioning groups, inbound
 * routing, business hours, queues, voice menus and each line's first step (administrators and
 * sub-administrators).
 */
export function TelephonyPage() {
  const [state, setState] = useState<TelephonyState | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [secret, setSecret] = useState<TelUser | null>(null);
  const [reenabled, setReenabled] = useState(false);

  async function load() {
    try {
      setState(await api.telephonyState());
    } catch (e) {
      setError(describeError(e));
    }
  }
  useEffect(() => {
    void load();
  }, []);

  if (!state) return <p class="loading">{error ?? t('app.loading')}</p>;
  return (
    <section class="page" aria-labelledby="tel-title">
      <h1 id="tel-title">{t('tel.title')}</h1>
      {error && <Alert kind="error">{error}</Alert>}
      {secret && <SecretBox user={secret} onClose={() => setSecret(null)} />}
      {!state.enabled ? (
        <div class="card" data-testid="tel-off">
          <p>{t('tel.offIntro')}</p>
          <button
            type="button"
            class="btn btn--primary"
            data-testid="tel-enable"
            onClick={async () => {
              setError(null);
              try {
                const r = await api.enableTelephony();
                if (r.created) setSecret(r.created);
                setReenabled(true);
                await load();
              } catch (e) {
                setError(describeError(e));
              }
            }}
          >
            {t('tel.enable')}
          </button>
        </div>
      ) : (
        <>
          {reenabled && <Alert kind="info">{t('tel.newPasswordsNotice')}</Alert>}
          <p>
            <a href="#/telephony/trunks">{t('nav.trunks')}</a> · <a href="#/telephony/dial-rules">{t('tel.dialRules')}</a> ·{' '}
            <a href="#/telephony/phone-setup">{t('phone.desk.setup')}</a>
          </p>
          <TelUsers onSecret={setSecret} />
          <Provisioning />
          <ProbeCard />
          <SecurityCard />
          <RoutingForm />
          <HoursForm />
          <CallFlow />
          <AgentStatesForm />
          <SpeedDialsForm />
          <BlocklistForm />
          <RecordingForm />
          <CrmSettingsForm />
          <DangerZone account={state.account} onOff={load} />
        </>
      )}
    </section>
  );
}
