import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { t } from '../i18n';

interface DialogProps {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  /** While true, Esc and the close button do nothing (a request is in flight). */
  busy?: boolean;
}

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * A modal dialog: focus moves into it on open, Tab stays inside, Esc closes, and focus returns to
 * whatever opened it.
 */
export function Dialog({ title, onClose, children, busy }: DialogProps) {
  const box = useRef<HTMLDivElement>(null);
  const titleId = useRef(`dlg-${Math.random().toString(36).slice(2)}`).current;

  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    // The element marked autofocus, else the first field or button of the body (not the ✕).
    const root = box.current;
    const first =
      root?.querySelector<HTMLElement>('[autofocus]') ??
      root?.querySelector<HTMLElement>('.dialog__body input, .dialog__body select, .dialog__body textarea, .dialog__body button');
    first?.focus();
    return () => opener?.focus?.();
  }, []);

  function onKeyDown(e: KeyboardEvent) {
    if (e.key === 'Escape') {
      e.stopPropagation();
      if (!busy) onClose();
      return;
    }
    if (e.key !== 'Tab' || !box.current) return;
    const items = [...box.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
    if (items.length === 0) return;
    const firstEl = items[0]!;
    const lastEl = items[items.length - 1]!;
    if (e.shiftKey && document.activeElement === firstEl) {
      e.preventDefault();
      lastEl.focus();
    } else if (!e.shiftKey && document.activeElement === lastEl) {
      e.preventDefault();
      firstEl.focus();
    }
  }

  return (
    <div class="dialog-backdrop">
      <div class="dialog" role="dialog" aria-modal="true" aria-labelledby={titleId} ref={box} onKeyDown={onKeyDown}>
        <header class="dialog__header">
          <h2 id={titleId}>{title}</h2>
          <button type="button" class="btn btn--icon" onClick={onClose} disabled={busy} aria-label={t('common.close')}>
            <span aria-hidden="true">✕</span>
          </button>
        </header>
        <div class="dialog__body">{children}</div>
      </div>
    </div>
  );
}
