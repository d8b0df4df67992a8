import type { ComponentChildren } from 'preact';
import { Icon } from './Icon';

interface AlertProps {
  kind: 'error' | 'success' | 'info';
  children: ComponentChildren;
}

const ICON = { error: 'alert', success: 'check', info: 'info' } as const;

/** A message box: errors are announced at once (role=alert), others politely. Icon + text, never colour alone. */
export function Alert({ kind, children }: AlertProps) {
  return (
    <div class={`alert alert--${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      <span class="alert__icon">
        <Icon name={ICON[kind]} size={18} />
      </span>
      <div class="alert__text">{children}</div>
    </div>
  );
}
