/**
 * "Test call" in Sound devices: a ten-second call to the platform echo with the chosen microphone,
 * then round trip, loss, jitter and a verdict with what to do (issue #22, item 5).
 */
import { useState } from 'preact/hooks';
import { t, type MessageKey } from '../../../shared/i18n';
import { errorText } from '../sip';
import type { PreflightRun } from './run';

export const VERDICT_KEY: Record<PreflightRun['verdict'], MessageKey> = {
  good: 'preflight.verdict.good',
  fair: 'preflight.verdict.fair',
  poor: 'preflight.verdict.poor',
  no_audio: 'preflight.verdict.no_audio',
};

const ADVICE_KEY: Record<PreflightRun['advice'], MessageKey> = {
  good: 'preflight.advice.good',
  fair: 'preflight.advice.fair',
  poor: 'preflight.advice.poor',
  mic_silent: 'preflight.advice.mic_silent',
  no_media: 'preflight.advice.no_media',
  no_echo: 'preflight.advice.no_echo',
};

/** "23 ms" / "0.5 %" / "—". */
export const ms = (v: number | null | undefined) => (v === null || v === undefined ? '—' : t('preflight.ms', { n: Math.round(v) }));
export const pct = (v: number | null | undefined) => (v === null || v === undefined ? '—' : t('preflight.pct', { n: v }));

/** `run` is absent when the test cannot run now; `why` says why (not registered, in a call, another tab). */
export function Preflight({ run, why }: { run?: () => Promise<PreflightRun>; why?: string }) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<PreflightRun | null>(null);
  const [error, setError] = useState<string | null>(null);
  return (
    <div class="phone__preflight" data-testid="preflight">
      <button
        type="button"
        class="btn"
        data-testid="preflight-start"
        disabled={busy || !run}
        title={t('preflight.hint')}
        onClick={async () => {
          if (!run) return;
          setBusy(true);
          setError(null);
          setResult(null);
          try {
            setResult(await run());
          } catch (e) {
            setError(errorText(e));
          } finally {
            setBusy(false);
          }
        }}
      >
        {busy ? t('preflight.running') : t('preflight.start')}
      </button>
      {!run && why && !busy && <p class="phone__note">{why}</p>}
      {busy && <p class="phone__note" role="status">{t('preflight.speak')}</p>}
      {error && <p class="phone__error" role="alert" data-testid="preflight-error">{t('preflight.failed', { why: error })}</p>}
      {result && (
        <div class={`phone__preflight-result phone__preflight-result--${result.verdict}`} role="status"
          data-testid="preflight-result" data-verdict={result.verdict} data-audio-back={String(result.audioBack)}>
          <strong data-testid="preflight-verdict">{t(VERDICT_KEY[result.verdict])}</strong>
          <dl class="kv">
            <dt>{t('preflight.rtt')}</dt>
            <dd data-testid="preflight-rtt">{ms(result.rttMs)}</dd>
            <dt>{t('preflight.loss')}</dt>
            <dd data-testid="preflight-loss">{pct(result.lossPct)}</dd>
            <dt>{t('preflight.jitter')}</dt>
            <dd data-testid="preflight-jitter">{ms(result.jitterMs)}</dd>
            <dt>{t('preflight.audioBack')}</dt>
            <dd data-testid="preflight-audio-back">{result.audioBack ? t('preflight.audioBackYes') : t('preflight.audioBackNo')}</dd>
          </dl>
          <p>{t(ADVICE_KEY[result.advice])}</p>
          {!result.saved && <p class="phone__note">{t('preflight.notSaved')}</p>}
        </div>
      )}
    </div>
  );
}
