import { useEffect, useState } from 'preact/hooks';
import { onSocketNotice } from './notices';
import { t } from '../i18n';
import { Alert } from '../ui/Alert';

/**
 * Says so when the server refused a live-updates socket because too many are open (close code
 * 4429), until a socket works again.
 */
export function SocketNotice() {
  const [tooMany, setTooMany] = useState(false);
  useEffect(
    () =>
      onSocketNotice((n) => {
        if (n.kind === 'too_many') setTooMany(true);
        if (n.kind === 'ok') setTooMany(false);
      }),
    [],
  );
  if (!tooMany) return null;
  return (
    <div data-testid="socket-notice">
      <Alert kind="error">{t('sockets.tooMany')}</Alert>
    </div>
  );
}
