/** "Pair headset" in Sound devices: the paired headset's name and Unpair, or why it is missing. */
import { useEffect, useState } from 'preact/hooks';
import { t } from '../../../shared/i18n';
import type { HeadsetLink, HeadsetStatus } from './link';

export function HeadsetPairing({ link }: { link: HeadsetLink }) {
  const [s, setS] = useState<HeadsetStatus>(link.status);
  const [busy, setBusy] = useState(false);
  useEffect(() => link.onStatus(setS), [link]);
  const act = async (f: () => Promise<void>) => {
    setBusy(true);
    try {
      await f();
    } finally {
      setBusy(false);
    }
  };
  if (s.kind === 'unsupported') {
    return (
      <p class="phone__note" data-testid="headset-unsupported">
        {t('phone.headset.unsupported')}
      </p>
    );
  }
  return (
    <div class="phone__headset" data-testid="headset" data-state={s.kind}>
      <strong>{t('phone.headset.title')}</strong>
      {s.kind === 'paired' ? (
        <p class="phone__row">
          <span data-testid="headset-name">
            {s.connected ? t('phone.headset.paired', { name: s.name }) : t('phone.headset.unplugged', { name: s.name })}
          </span>
          <button type="button" class="btn btn--quiet" disabled={busy} onClick={() => act(() => link.unpair())}>
            {t('phone.headset.unpair')}
          </button>
        </p>
      ) : (
        <>
          <p class="phone__note">{t('phone.headset.hint')}</p>
          <button type="button" class="btn" data-testid="headset-pair" disabled={busy} onClick={() => act(() => link.pair())}>
            {t('phone.headset.pair')}
          </button>
          {s.error && (
            <p class="phone__error" role="alert">
              {s.error === 'notHeadset' ? t('phone.headset.notHeadset', { name: s.detail ?? '' }) : t('phone.headset.failed', { error: s.detail ?? '' })}
            </p>
          )}
        </>
      )}
    </div>
  );
}
