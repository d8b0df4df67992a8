/**
 * New voicemail messages in the phone (issue #19): how many messages of calls this user sees
 * nobody has listened to yet, linking to Calls filtered to them. Read again whenever a call ends
 * missed (a message is left on a missed call) and when the page comes back into view.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import { subscribe } from '../../shared/events';
import { t } from '../../shared/i18n';

export function VoicemailBadge() {
  const [count, setCount] = useState(0);
  useEffect(() => {
    const load = () => api.calls({ voicemail: 'new', per_page: 1 }).then((p) => setCount(p.total), () => undefined);
    void load();
    const onShow = () => { if (document.visibilityState === 'visible') void load(); };
    document.addEventListener('visibilitychange', onShow);
    const unsub = subscribe((e) => {
      if (e.type === 'call' && e.state === 'missed') void load();
    });
    return () => {
      unsub();
      document.removeEventListener('visibilitychange', onShow);
    };
  }, []);
  if (count === 0) return null;
  return (
    <a class="badge badge--new phone__voicemail" href="#/calls?voicemail=new" data-testid="phone-voicemail">
      {t('phone.voicemail', { count })}
    </a>
  );
}
