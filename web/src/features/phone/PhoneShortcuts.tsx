/** The phone's keyboard shortcuts in the page: the listener, and the help overlay listing them. */
import { useEffect, useRef } from 'preact/hooks';
import { t } from '../../shared/i18n';
import { Dialog } from '../../shared/ui/Dialog';
import { FIELD_MODIFIER, SHORTCUTS, shortcutFor, type ShortcutAction } from './shortcuts';

/**
 * Runs `run(action)` for each shortcut pressed anywhere in the page (shortcuts.ts decides what is
 * one). `run` answers whether it did something: only then is the key kept from the page.
 */
export function usePhoneShortcuts(run: (action: ShortcutAction) => boolean): void {
  const latest = useRef(run);
  latest.current = run;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented) return;
      const action = shortcutFor(e);
      if (action && latest.current(action)) e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}

/** The list of shortcuts (opened with `?` or the phone's button). */
export function ShortcutsHelp({ onClose }: { onClose: () => void }) {
  return (
    <Dialog title={t('keys.title')} onClose={onClose}>
      <p>{t('keys.intro')}</p>
      <table class="table keys-table" data-testid="shortcuts">
        <thead>
          <tr>
            <th scope="col">{t('keys.key')}</th>
            <th scope="col">{t('keys.action')}</th>
          </tr>
        </thead>
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.action} data-action={s.action}>
              <td>
                <kbd>{s.label}</kbd> <span class="muted">{t('keys.or')}</span>{' '}
                <kbd>{`${FIELD_MODIFIER}+${s.label === '?' ? '/' : s.label}`}</kbd>
              </td>
              <td>{t(s.text)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="dialog__actions">
        <button type="button" class="btn btn--primary" autofocus onClick={onClose}>
          {t('common.close')}
        </button>
      </div>
    </Dialog>
  );
}
