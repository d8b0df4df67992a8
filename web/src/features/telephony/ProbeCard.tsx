import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { ProbeHistory, ProbePoint } from '../../shared/api/types';
import { Alert } from '../../shared/ui/Alert';
import { describeError } from '../../shared/api/errors';
import { t } from '../../shared/i18n';
import { formatTime } from '../../shared/i18n/format';

const W = 560;
const H = 120;
const PAD = 24;

const fmt = (v: number | null | undefined, digits = 0) => (v == null ? '–' : v.toFixed(digits));
const time = (iso: string, seconds = false) => formatTime(iso, { seconds });

/** Call setup (INVITE → answer) of each probe call over time: dots for passes, crosses for failures. */
export function ProbeChart({ points }: { points: ProbePoint[] }) {
  if (points.length === 0) return <p class="muted" data-testid="probe-empty">{t('probe.noData')}</p>;
  const t0 = Date.parse(points[0]!.at);
  // Up to now: a probe that stopped reporting shows as a gap at the right.
  const t1 = Math.max(Date.parse(points[points.length - 1]!.at), Date.now(), t0 + 60_000);
  const max = Math.max(100, ...points.map((p) => p.setup_ms ?? 0)) * 1.15;
  // A short history (a new probe number) shows seconds on the axis.
  const short = t1 - t0 < 10 * 60_000;
  const x = (p: ProbePoint) => PAD + ((Date.parse(p.at) - t0) / (t1 - t0)) * (W - 2 * PAD);
  const y = (v: number) => H - PAD - (v / max) * (H - 2 * PAD);
  const ok = points.filter((p) => p.ok && p.setup_ms != null);
  const failed = points.filter((p) => !p.ok);
  const line = ok.map((p, i) => `${i ? 'L' : 'M'}${x(p).toFixed(1)},${y(p.setup_ms!).toFixed(1)}`).join(' ');
  const label = t('probe.chartLabel', { count: points.length, failed: failed.length });
  return (
    <svg class="probe-chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label} data-testid="probe-chart">
      <line x1={PAD} y1={H - PAD} x2={W - PAD} y2={H - PAD} class="probe-chart__axis" />
      <text x={PAD} y={H - 6} class="probe-chart__tick">{time(points[0]!.at, short)}</text>
      <text x={W - PAD} y={H - 6} class="probe-chart__tick" text-anchor="end">{time(new Date(t1).toISOString(), short)}</text>
      <text x={PAD} y={12} class="probe-chart__tick">{t('probe.axis', { ms: Math.round(max) })}</text>
      <path d={line} class="probe-chart__line" />
      {ok.map((p) => (
        <circle cx={x(p)} cy={y(p.setup_ms!)} r={3} class="probe-chart__ok" data-testid="probe-ok">
          <title>{`${time(p.at)} · ${fmt(p.setup_ms)} ms · RTT ${fmt(p.rtt_ms, 1)} ms · ${fmt(p.loss_pct, 1)} %`}</title>
        </circle>
      ))}
      {failed.map((p) => (
        <g class="probe-chart__fail" data-testid="probe-fail" transform={`translate(${x(p)},${PAD})`}>
          <path d="M-4,-4L4,4M-4,4L4,-4" />
          <title>{`${time(p.at)} · ${p.error ?? ''}`}</title>
        </g>
      ))}
    </svg>
  );
}

/** The trunk path's health probe: alert while failing, the chart of the last 24 h, the probe number. */
export function ProbeCard() {
  const [h, setH] = useState<ProbeHistory | null>(null);
  const [num, setNum] = useState('');
  const [note, setNote] = useState<string | null>(null);
  async function load() {
    try {
      const r = await api.probeHistory();
      setH(r);
      return r;
    } catch (e) {
      setNote(describeError(e));
      return null;
    }
  }
  useEffect(() => {
    load().then((r) => r && setNum(r.probe_number ?? ''));
    const timer = setInterval(load, 30_000);
    return () => clearInterval(timer);
  }, []);
  if (!h) return note ? <Alert kind="error">{note}</Alert> : null;
  const last = h.points[h.points.length - 1];
  return (
    <form
      class="card"
      data-testid="probe-card"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          const r = await api.setProbeNumber(num.trim() || null);
          setNum(r.probe_number ?? '');
          setNote(t('tel.saved'));
          await load();
        } catch (err) {
          setNote(describeError(err));
        }
      }}
    >
      <h2>{t('probe.title')}</h2>
      {h.alert && (
        <div data-testid="probe-alert">
          <Alert kind="error">
            {t('probe.alert', { since: time(h.alert.since), count: h.alert.failures, error: h.alert.error })}
          </Alert>
        </div>
      )}
      <p class="muted">{t('probe.intro')}</p>
      {h.probe_number ? <ProbeChart points={h.points} /> : <p class="muted">{t('probe.off')}</p>}
      {last && (
        <p data-testid="probe-last">
          {t('probe.last', {
            at: time(last.at),
            setup: fmt(last.setup_ms),
            dtls: fmt(last.dtls_ms),
            rtt: fmt(last.rtt_ms, 1),
            loss: fmt(last.loss_pct, 1),
            jitter: fmt(last.jitter_ms, 1),
          })}
        </p>
      )}
      <label class="field">
        <span>{t('probe.number')}</span>
        <input class="input" value={num} placeholder={t('probe.numberNone')} data-testid="probe-number"
          onInput={(e) => setNum((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit" class="btn btn--primary">{t('common.save')}</button>
      {note && <p role="status">{note}</p>}
    </form>
  );
}
