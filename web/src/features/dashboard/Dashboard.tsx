/**
 * Home's dashboard (issue #20): today for the signed-in user (calls, answered, missed, talk time,
 * and the missed calls nobody has called back yet) and, for administrators and supervisors, the
 * account now and today (callers waiting, the longest wait, service level, agents by state, calls).
 *
 * Live: read again when `/events` brings news of a call or an agent's state (at most once per 2 s)
 * and every 30 s. A failed read keeps the last figures and says they are not up to date.
 * Users without telephony get zeros from the server: the same page, quiet.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { Dashboard as DashboardData } from '../../shared/api/types';
import { describeError } from '../../shared/api/errors';
import { subscribe } from '../../shared/events';
import { Alert } from '../../shared/ui/Alert';
import { t, type MessageKey } from '../../shared/i18n';
import { formatTime, setTimeZone } from '../../shared/i18n/format';
import { mmss } from '../../shared/ui/time';
import { href } from '../../app/router';
import { POLL_MS, READ_EVERY_MS, hms, isDashboard, myToday, percent, throttle } from './dashboard';

interface FigureProps {
  id: string;
  label: MessageKey;
  value: ComponentChildren;
  link?: string;
  tone?: 'warn' | 'alert';
}

/** One figure: a big value over its label; a link when it leads to the calls behind it. */
function Figure({ id, label, value, link, tone }: FigureProps) {
  const body = (
    <>
      <span class="dash-figure__value" data-testid={`dash-${id}`}>{value}</span>
      <span class="dash-figure__label">{t(label)}</span>
    </>
  );
  const cls = 'dash-figure' + (tone ? ` dash-figure--${tone}` : '');
  return link ? <a class={cls + ' dash-figure--link'} href={link}>{body}</a> : <div class={cls}>{body}</div>;
}

const AGENT_STATES: { key: 'on_call' | 'available' | 'wrapup' | 'break' | 'dnd'; label: MessageKey }[] = [
  { key: 'on_call', label: 'dashboard.agentsOnCall' },
  { key: 'available', label: 'dashboard.agentsAvailable' },
  { key: 'wrapup', label: 'dashboard.agentsWrapup' },
  { key: 'break', label: 'dashboard.agentsBreak' },
  { key: 'dnd', label: 'dashboard.agentsDnd' },
];

function TeamBlock({ team, age }: { team: NonNullable<DashboardData['team']>; age: number }) {
  const sl = percent(team.service_level);
  const f = team.figures;
  return (
    <div class="dash-card" data-testid="dash-team">
      <div class="dash-card__head">
        <h2>{t('dashboard.teamTitle')}</h2>
        <nav class="dash-links" aria-label={t('dashboard.teamTitle')}>
          <a href={href('/board')} data-testid="dash-link-board">{t('dashboard.openBoard')}</a>
          <a href={href('/reports')} data-testid="dash-link-reports">{t('dashboard.openReports')}</a>
          {/* A new tab: the wallboard has no phone, and this tab's phone may be in a call. */}
          <a href={href('/wallboard')} target="_blank" rel="noopener" data-testid="dash-link-wallboard">{t('dashboard.openWallboard')}</a>
        </nav>
      </div>
      <div class="dash-figures">
        <Figure id="team-waiting" label="dashboard.waiting" value={team.waiting} tone={team.waiting > 0 ? 'warn' : undefined} />
        <Figure id="team-longest" label="dashboard.longestWait" value={team.waiting > 0 ? mmss(team.longest_wait_secs * 1000 + age) : '—'} />
        <Figure id="team-sl" label="dashboard.serviceLevel" value={sl === null ? '—' : `${sl}%`} />
        <Figure id="team-calls" label="dashboard.teamCalls" value={f.calls} />
        <Figure id="team-answered" label="dashboard.answered" value={f.inbound_answered + f.outbound_answered} />
        <Figure id="team-missed" label="dashboard.teamMissed" value={f.missed} tone={f.missed > 0 ? 'warn' : undefined} />
      </div>
      <h3 class="dash-subhead">{t('dashboard.agentsTitle')}</h3>
      <ul class="dash-agents" data-testid="dash-agents">
        {AGENT_STATES.map((s) => (
          <li key={s.key} class={`dash-agents__item dash-agents__item--${s.key}`}>
            <span class={`dash-dot dash-dot--${s.key}`} aria-hidden="true" />
            <strong data-testid={`dash-agents-${s.key}`}>{team.agents[s.key]}</strong> {t(s.label)}
          </li>
        ))}
        <li class="dash-agents__item muted">
          {t('dashboard.agentsOf')} <strong data-testid="dash-agents-total">{team.agents.total}</strong>
        </li>
      </ul>
    </div>
  );
}

export function Dashboard() {
  const [data, setData] = useState<DashboardData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const [now, setNow] = useState(Date.now());
  // Answers may cross: only the last read's answer counts.
  const seq = useRef(0);

  async function load() {
    const mine = ++seq.current;
    try {
      const d: unknown = await api.dashboard();
      if (!isDashboard(d)) throw new Error(t('dashboard.badAnswer'));
      if (mine !== seq.current) return;
      setData(d);
      setTimeZone(d.period?.time_zone);
      setUpdatedAt(Date.now());
      setNow(Date.now());
      setError(null);
    } catch (e) {
      if (mine === seq.current) setError(describeError(e));
    }
  }

  useEffect(() => {
    const read = throttle(() => void load(), READ_EVERY_MS);
    read.poke();
    const again = { onReconnect: () => read.poke() };
    const offs = [
      subscribe('board_call', () => read.poke(), again),
      subscribe('agent_state', () => read.poke(), again),
      subscribe('call', () => read.poke(), again),
    ];
    const poll = setInterval(() => read.poke(), POLL_MS);
    return () => {
      read.cancel();
      clearInterval(poll);
      for (const off of offs) off();
      seq.current += 1;
    };
  }, []);

  // The longest wait counts on between reads while someone waits.
  const ticking = (data?.team?.waiting ?? 0) > 0;
  useEffect(() => {
    if (!ticking) return;
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(tick);
  }, [ticking]);

  if (!data) {
    return error ? <Alert kind="error">{t('dashboard.failed', { reason: error })}</Alert> : <p aria-busy="true">{t('app.loading')}</p>;
  }
  const mine = myToday(data);
  return (
    <div class="dash" data-testid="dash" data-team={data.team ? 'yes' : 'no'}>
      {error && updatedAt !== null && (
        <p class="dash-stale small" role="status" data-testid="dash-stale" title={error}>
          {t('dashboard.stale', { time: formatTime(updatedAt) })}
        </p>
      )}
      <div class="dash-card" data-testid="dash-mine">
        <h2>{t('dashboard.todayTitle')}</h2>
        <div class="dash-figures">
          <Figure id="calls" label="dashboard.calls" value={mine.calls} />
          <Figure id="answered" label="dashboard.answered" value={mine.answered} />
          <Figure id="missed" label="dashboard.missed" value={mine.missed} />
          <Figure id="talk" label="dashboard.talkTime" value={hms(mine.talkMs)} />
          <Figure id="callback" label="dashboard.toCallBack" value={mine.toCallBack} link={href('/calls?called_back=false')}
            tone={mine.toCallBack > 0 ? 'alert' : undefined} />
        </div>
      </div>
      {data.team && <TeamBlock team={data.team} age={Math.max(0, now - (updatedAt ?? now))} />}
    </div>
  );
}
