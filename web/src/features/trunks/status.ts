import type { TrunkMode, TrunkState, TrunkStatus } from '../../shared/api/types';
import type { MessageKey } from '../../shared/i18n';
import type { IconName } from '../../shared/ui/Icon';

/** What a trunk's state looks like: colour class, icon, label and what to check (never colour alone). */
export interface StatusView {
  tone: 'ok' | 'bad' | 'idle';
  icon: IconName;
  label: MessageKey;
  advice?: MessageKey;
}

export function statusView(s: TrunkStatus): StatusView {
  const byState: Record<TrunkState, StatusView> = {
    registered: { tone: 'ok', icon: 'check', label: 'trunks.state.registered' },
    waiting: { tone: 'idle', icon: 'dot', label: 'trunks.state.waiting' },
    rejected: { tone: 'bad', icon: 'ban', label: 'trunks.state.rejected', advice: 'trunks.advice.rejected' },
    unregistered: { tone: 'bad', icon: 'alert', label: 'trunks.state.unregistered', advice: 'trunks.advice.unregistered' },
    refused: { tone: 'bad', icon: 'ban', label: 'trunks.state.refused', advice: 'trunks.advice.refused' },
  };
  return byState[s.state as TrunkState] ?? byState.waiting;
}

/** A trunk's mode as the dialog knows it (anything else is shown as simple). */
export function trunkMode(mode: string | undefined): TrunkMode {
  return mode === 'extended' ? 'extended' : 'simple';
}

/** Host and domain default to each other (extended mode); simple mode has only the domain. */
export function hostAndDomain(mode: 'simple' | 'extended', domain: string, host: string): { domain: string; host: string } {
  const d = domain.trim();
  const h = mode === 'extended' ? host.trim() : '';
  return { domain: d || h, host: h || d };
}
