/**
 * The agent's state in the phone (issue #18): Available, Break with a reason, Do not disturb, and
 * the server's Wrap-up after a call with its Ready button. Kept live by `agent_state` events, so a
 * state set in another tab, by the card's close or by the server (missed calls) shows at once.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { AgentStateOut } from '../../shared/api/types';
import { subscribe } from '../../shared/events';
import { t } from '../../shared/i18n';
import { mmss } from '../../shared/ui/time';

export function AgentStatePicker({ userId, onState }: { userId: number; onState?: (s: string) => void }) {
  const [state, setState] = useState<AgentStateOut | null>(null);
  const [reasons, setReasons] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    const load = () => {
      api.myAgentState().then(setState, () => setState(null));
      api.agentSettings().then((s) => setReasons(s.break_reasons), () => setReasons([]));
    };
    load();
    const unsub = subscribe(
      'agent_state',
      (e) => {
        if (e.user_id === userId) setState({ ...e, user_id: e.user_id });
      },
      { onReconnect: load },
    );
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      unsub();
      clearInterval(tick);
    };
  }, [userId]);

  const shown = state && state.state === 'wrapup' && state.wrapup_until && Date.parse(state.wrapup_until) <= now ? 'available' : state?.state;
  useEffect(() => {
    if (shown) onState?.(shown);
  }, [shown]);
  if (!state || !shown) return null;

  async function choose(value: string) {
    setError(null);
    const [s, reason] = value.startsWith('break:') ? ['break', value.slice(6)] : [value, undefined];
    try {
      setState(await api.setMyAgentState(s, reason));
    } catch (err) {
      setError((err as { message?: string }).message ?? String(err));
    }
  }

  const value = shown === 'break' ? `break:${state.reason ?? ''}` : shown;
  return (
    <div class="phone__state" data-testid="agent-state-box" data-state={shown}>
      {shown === 'wrapup' ? (
        <p class="phone__note" role="status">
          <span data-testid="agent-state-wrapup">
            {t('agent.wrapup')}
            {state.wrapup_until ? ` · ${mmss(Math.max(0, Date.parse(state.wrapup_until) - now))}` : ''}
          </span>{' '}
          <button type="button" class="btn btn--primary" data-testid="agent-ready" onClick={() => void choose('available')}>
            {t('agent.ready')}
          </button>
        </p>
      ) : (
        <label class="phone__row">
          <span class={`phone__dot phone__dot--agent-${shown}`} aria-hidden="true" />
          <select class="input" aria-label={t('agent.state')} data-testid="agent-state" value={value} onChange={(e) => void choose((e.target as HTMLSelectElement).value)}>
            <option value="available">{t('agent.available')}</option>
            {reasons.map((r) => (
              <option value={`break:${r}`}>{t('agent.breakWith', { reason: r })}</option>
            ))}
            {shown === 'break' && !reasons.includes(state.reason ?? '') && (
              <option value={value} disabled>
                {state.reason === 'missed calls' ? t('agent.breakMissed') : t('agent.breakWith', { reason: state.reason ?? '' })}
              </option>
            )}
            <option value="dnd">{t('agent.dnd')}</option>
          </select>
        </label>
      )}
      {error && <p class="phone__error" role="alert">{error}</p>}
    </div>
  );
}
