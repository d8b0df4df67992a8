/**
 * The call card's "Open in CRM" (issue #21): the tenant's screen-pop URL filled in for this call,
 * asked once per call. A button opens it; with "open automatically" it opens by itself when an
 * inbound call rings or when the call is answered. A blocked pop-up is said, and the button stays.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, isApiError } from '../../shared/api/client';
import type { CallScreenPop } from '../../shared/api/types';
import { t } from '../../shared/i18n';
import type { LiveCall } from '../calls/card/live';

/** The one window every screen-pop opens in, so calls reuse it instead of piling up tabs. */
export const CRM_WINDOW = 'callbase-crm';

/**
 * Opens `url` in the {@link CRM_WINDOW} and cuts its `window.opener`; false when the browser blocked
 * the pop-up. (Not the `noopener` feature string: with it `window.open` returns null even when the
 * window opened, so a blocked pop-up could not be told apart; and it always opens a new tab.)
 */
export function openCrm(url: string): boolean {
  const w = window.open(url, CRM_WINDOW);
  if (!w) return false;
  try {
    w.opener = null;
  } catch {
    // The window already shows the CRM (another origin): its opener was cut when it first opened.
  }
  return true;
}

/** The call record may not be written yet when the card asks: 404 is asked again this often. */
const TRIES = 5;
const RETRY_MS = 400;

export function ScreenPopButton({ call }: { call: LiveCall }) {
  const [pop, setPop] = useState<CallScreenPop | null>(null);
  const [blocked, setBlocked] = useState(false);
  /** The automatic opening happens at most once per call. */
  const autoDone = useRef(false);
  const rang = useRef(false);
  if (call.direction === 'inbound' && call.state === 'ringing') rang.current = true;

  useEffect(() => {
    let live = true;
    void (async () => {
      for (let i = 0; i < TRIES && live; i++) {
        try {
          const p = await api.callScreenPop(call.id);
          if (live) setPop(p);
          return;
        } catch (e) {
          // No screen-pop for this call (or none for this user): no button, nothing to say.
          if (!(isApiError(e) && e.status === 404)) return;
          await new Promise((r) => setTimeout(r, RETRY_MS));
        }
      }
    })();
    return () => {
      live = false;
    };
  }, [call.id]);

  useEffect(() => {
    if (!pop?.url || autoDone.current || call.endedAt) return;
    const due = pop.open_on === 'ringing' ? rang.current : pop.open_on === 'answer' ? !!call.answeredAt : false;
    if (!due) return;
    autoDone.current = true;
    setBlocked(!openCrm(pop.url));
  }, [pop, call.state, call.answeredAt, call.endedAt]);

  if (!pop?.url) return null;
  const url = pop.url;
  return (
    <div class="callcard__crm">
      <button type="button" class="btn" data-testid="screen-pop-open" onClick={() => setBlocked(!openCrm(url))}>
        {t('integ.pop.openInCrm')}
      </button>
      {blocked && (
        <p class="muted small" role="status" data-testid="screen-pop-blocked">
          {t('integ.pop.blocked')}
        </p>
      )}
    </div>
  );
}
