/**
 * The call's quality and, when a hop is silent, what is wrong in words — under the caller's name
 * during a call. The indicator shows the estimated MOS; a problem line names the hop.
 */
import { useEffect, useState } from 'preact/hooks';
import { t, type MessageKey } from '../../../shared/i18n';
import type { Verdict } from './diagnose';
import type { QualityWatch } from './watch';

export function CallQuality({ watch }: { watch: QualityWatch | null }) {
  const [v, setV] = useState<Verdict | null>(null);
  useEffect(() => (watch ? watch.subscribe(setV) : undefined), [watch]);
  if (!v) return null;
  // A silent hop says more than the network's figures (which may look fine: silence flows well).
  const hop = v.problems.some((p) => p !== 'poor_quality');
  return (
    <div class="phone__quality" data-testid="phone-quality" data-level={v.level ?? 'unknown'}>
      {!hop && v.level && v.mos !== null && (
        <span class={`phone__quality-level phone__quality-level--${v.level}`} title={t('phone.quality.mos', { mos: v.mos.toFixed(1) })}>
          {t(`phone.quality.${v.level}` as MessageKey)}
        </span>
      )}
      {v.problems.map((p) => (
        <p key={p} class="phone__problem" role="status" data-testid="phone-problem" data-problem={p}>
          {t(`phone.problem.${p}` as MessageKey)}
        </p>
      ))}
    </div>
  );
}
