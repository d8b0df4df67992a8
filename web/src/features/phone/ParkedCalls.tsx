/**
 * Parked calls in the phone (issue #18): every call of the tenant waiting in a parking slot, the
 * caller as this user may see them, who parked it and how long it waits. Pick up dials `*8<slot>`
 * (a desk phone does the same): the server hands the call to whoever dialled it. The list follows
 * `parking` events; it is read again at each one (the server masks the numbers).
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { ParkedCall } from '../../shared/api/types';
import { subscribe } from '../../shared/events';
import { t } from '../../shared/i18n';
import { mmss } from '../../shared/ui/time';

export function ParkedCalls({ now, disabled, onPickUp }: { now: number; disabled: boolean; onPickUp: (slot: number, label: string) => void }) {
  const [list, setList] = useState<ParkedCall[]>([]);
  useEffect(() => {
    const load = () => api.parkedCalls().then(setList, () => setList([]));
    void load();
    return subscribe((e) => {
      if (e.type === 'parking') void load();
    });
  }, []);
  if (list.length === 0) return null;
  return (
    <div class="phone__parked" data-testid="phone-parked">
      <strong>{t('phone.parked')}</strong>
      <ul>
        {list.map((p) => (
          <li key={p.call_id} data-testid="phone-parked-call" data-slot={p.slot}>
            <span>
              {t('phone.parkSlot', { slot: p.slot })} · {p.client?.title || p.number}
              <span class="muted">
                {' '}· {p.parked_by_name ?? '—'} · {mmss(Math.max(0, now - Date.parse(p.parked_at)))}
              </span>
            </span>
            <button type="button" class="btn btn--quiet" disabled={disabled} data-testid="phone-pickup"
              onClick={() => onPickUp(p.slot, p.client?.title || p.number)}>
              {t('phone.pickUp')}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
