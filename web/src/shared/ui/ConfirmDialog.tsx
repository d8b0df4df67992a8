import { useState } from 'preact/hooks';
import { t } from '../i18n';
import { explain, say, type Msg } from '../api/errors';
import { Alert } from './Alert';
import { Dialog } from './Dialog';

interface ConfirmDialogProps {
  title: string;
  /** Says exactly what will happen. */
  message: string;
  confirmLabel: string;
  busyLabel: string;
  danger?: boolean;
  /** Runs the action; a rejection is shown inside the dialog. */
  onConfirm: () => Promise<void>;
  onClose: () => void;
}

/** Asks before a consequential action, runs it, and keeps the dialog open with the reason if it fails. */
export function ConfirmDialog(p: ConfirmDialogProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Msg | null>(null);

  async function confirm() {
    setBusy(true);
    setError(null);
    try {
      await p.onConfirm();
    } catch (e) {
      setError(explain(e));
      setBusy(false);
    }
  }

  return (
    <Dialog title={p.title} onClose={p.onClose} busy={busy}>
      <p>{p.message}</p>
      {error && <Alert kind="error">{say(error)}</Alert>}
      <div class="dialog__actions">
        <button type="button" class="btn" onClick={p.onClose} disabled={busy} autoFocus>
          {t('common.cancel')}
        </button>
        <button type="button" class={'btn ' + (p.danger ? 'btn--danger' : 'btn--primary')} onClick={confirm} disabled={busy}>
          {busy ? p.busyLabel : p.confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}
