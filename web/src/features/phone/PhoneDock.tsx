/** Where the phone sits in the app frame: the browser phone, or click-to-call through a desk phone. */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import { sipTarget, type DialRequest } from '../crm/dial';
import { SpeedDials } from './SpeedDials';
import type { TelUser } from '../../shared/api/types';
import { t } from '../../shared/i18n';
import { PhonePanel } from './PhonePanel';
import { AgentStatePicker } from './AgentState';

/**
 * The docked phone: present on every page for telephony users. Browser users get the JsSIP phone;
 * desk-phone users get click-to-call through their own phone (callback).
 */
export function PhoneDock({ tenantId, userId }: { tenantId: number | string; userId: number }) {
  const [me, setMe] = useState<TelUser | null | undefined>(undefined);
  useEffect(() => {
    api.telephonyState().then(
      (s) => setMe(s.enabled ? s.me : null),
      () => setMe(null),
    );
  }, [userId]);
  if (!me) return null;
  if (!me.browser_calls) return <DeskPhoneDock userId={userId} />;
  return <PhonePanel tenantId={tenantId} userId={userId} acceptIncoming={me.accept_incoming} />;
}

/** Desk-phone users: numbers clicked in the app ring their own phone first. */
function DeskPhoneDock({ userId }: { userId: number }) {
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    const onDial = (e: Event) => {
      const req = (e as CustomEvent<DialRequest>).detail;
      const target = req ? sipTarget(req) : null;
      if (!target) return;
      const started = req.speedDial
        ? api.callbackSpeedDial(req.speedDial)
        : target.startsWith('crm') && req.record && req.field
          ? api.callbackRecord(req.record, req.field)
          : api.callback(target);
      const shown = /^(crm|sd)\d/.test(target) ? req.label ?? '' : target;
      started.then(
        () => setNote(t('phone.desk.ringing', { number: shown })),
        (err: { message?: string }) => setNote(err.message ?? String(err)),
      );
    };
    window.addEventListener('callbase:dial', onDial);
    return () => window.removeEventListener('callbase:dial', onDial);
  }, []);
  return (
    <aside class="phone phone--desk" aria-label={t('phone.title')} data-testid="phone-desk">
      <AgentStatePicker userId={userId} />
      <p>{t('phone.desk.hint')}</p>
      <a href="#/telephony/phone-setup">{t('phone.desk.setup')}</a>
      <SpeedDials />
      {note && <p role="status">{note}</p>}
    </aside>
  );
}
