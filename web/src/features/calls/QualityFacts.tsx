/**
 * A call's media quality as its agent's phone measured it (issue #22: the phone's summary kept
 * with the call record, `GET /api/calls/{id}/quality`): estimated MOS, loss, jitter, round trip,
 * and the problems the phone named during the call. Nothing when the phone sent no summary (desk
 * phones, calls nobody answered in a browser).
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import { isApiError } from '../../shared/api/client';
import { t, type MessageKey } from '../../shared/i18n';
import { formatNumber } from '../../shared/i18n/format';
import type { components } from '../../shared/api/schema';

type Quality = components['schemas']['Quality'];

const num = (x: number | null | undefined, digits = 1) => (x === null || x === undefined ? '—' : formatNumber(x, { maximumFractionDigits: digits }));

export function QualityFacts({ callId }: { callId: string }) {
  const [q, setQ] = useState<Quality | null>(null);
  useEffect(() => {
    let stale = false;
    api.callQuality(callId).then(
      (r) => !stale && setQ(r),
      (e) => {
        if (!(isApiError(e) && e.status === 404)) console.warn('call quality', e);
      },
    );
    return () => {
      stale = true;
    };
  }, [callId]);
  if (!q) return null;
  const problems = q.problems ?? [];
  return (
    <div class="call-quality" data-testid="call-quality">
      <strong>{t('calls.quality')}</strong>{' '}
      <span>
        {t('calls.qualityFigures', {
          avg: num(q.mos_avg),
          min: num(q.mos_min),
          loss: num(q.loss_pct),
          jitter: num(q.jitter_ms, 0),
          rtt: num(q.rtt_ms, 0),
        })}
        {q.browser ? ` · ${q.browser}` : ''}
      </span>
      {problems.length > 0 && (
        <ul class="call-quality__problems">
          {problems.map((p) => (
            <li key={p} data-problem={p}>{t(`phone.problem.${p}` as MessageKey)}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
