import { useEffect, useState } from 'preact/hooks';
import { api } from '../../../shared/api/client';
import { subscribe } from '../../../shared/events';
import { CardBody } from './CardBody';
import { nextLiveCall, type LiveCall } from './live';

/**
 * The call card: on every call of this user (ringing, dialling, answered) a card slides in
 * bottom-right with the matched client, the live state and timer, and actions: open the record,
 * create a client from the number, add the number to an existing client, a note on the call.
 * It follows `call` events of the tab's `/events` socket.
 */
export function CallCard({ userId }: { userId: number }) {
  const [call, setCall] = useState<LiveCall | null>(null);
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    const close = subscribe('call', (m) => setCall((c) => nextLiveCall(c, m, userId, Date.now())));
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      close();
      clearInterval(tick);
    };
  }, [userId]);

  if (!call) return null;
  const close = () => {
    // Closing the card of an ended call ends the after-call work (wrap-up time).
    if (call.endedAt) api.patchCall(call.id, { wrapup_done: true }).catch(() => undefined);
    setCall(null);
  };
  return <CardBody key={call.id} call={call} now={now} onClose={close} />;
}
